"""The moto launcher: moto with Step Functions execution, the Terraform fixes, and Lambda
invocations run by the functions' real code.

Run: .venv/bin/python -m pytest -q local/tests/test_launcher.py
"""

from __future__ import annotations

import datetime
import io
import json
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote_plus

import boto3
import pytest
from botocore.config import Config

# `local` is the repository's package: importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from local.stack import ARTIFACTS, ROOT, Launcher, ensure_local_build  # noqa: E402

REGION = "us-east-1"

# A stand-in function for the behaviours a real Rust function cannot be asked for on demand
# (crash, overrun, report a chosen errorType, call back Step Functions). It speaks the same
# Lambda Runtime API as the Rust runtime does.
FAKE_BOOTSTRAP = r'''#!{python}
import json, os, sys, time, urllib.request
api = os.environ["AWS_LAMBDA_RUNTIME_API"]
base = api if api.startswith("http") else "http://" + api
VERSION = "{version}"

def post(path, body):
    req = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(req).read()

def aws(target, body):
    req = urllib.request.Request(os.environ["AWS_ENDPOINT_URL"] + "/", data=json.dumps(body).encode(), method="POST", headers={{
        "Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": target,
        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20240101/" + os.environ["AWS_REGION"] + "/states/aws4_request, SignedHeaders=host, Signature=0"}})
    urllib.request.urlopen(req).read()

while True:
    with urllib.request.urlopen(base + "/2018-06-01/runtime/invocation/next") as r:
        rid = r.headers["Lambda-Runtime-Aws-Request-Id"]
        deadline = int(r.headers["Lambda-Runtime-Deadline-Ms"])
        event = json.loads(r.read() or b"null")
    if os.environ.get("RECORD_FILE"):
        with open(os.environ["RECORD_FILE"], "a") as f:
            f.write(json.dumps(event) + "\n")
    action = event.get("action", "echo") if isinstance(event, dict) else "echo"
    print("event", action, flush=True)
    if action == "crash":
        sys.exit(3)
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "error":
        post(f"/2018-06-01/runtime/invocation/{{rid}}/error", {{"errorType": event["type"], "errorMessage": "as asked"}})
        continue
    if action == "callback":
        aws("AWSStepFunctions.SendTaskSuccess", {{"taskToken": event["token"], "output": json.dumps({{"calledBack": True}})}})
    post(f"/2018-06-01/runtime/invocation/{{rid}}/response", {{
        "pid": os.getpid(), "version": VERSION, "event": event, "deadlineMs": deadline,
        "env": {{k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CONNECT", "GREETING",
            "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            "AWS_LAMBDA_LOG_FORMAT", "AWS_LAMBDA_LOG_LEVEL")}}}})
'''


def fake_zip(version: str = "1") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        info = zipfile.ZipInfo("bootstrap")
        info.external_attr = 0o755 << 16
        z.writestr(info, FAKE_BOOTSTRAP.format(python=sys.executable, version=version))
    return buf.getvalue()


def caller_id_zip() -> bytes:
    """The real caller-id function, as the local stack packages it (built when missing or stale)."""
    ensure_local_build()
    return (ARTIFACTS / "caller-id" / "bootstrap.zip").read_bytes()


@pytest.fixture(scope="module")
def launcher():
    with Launcher(connect_endpoint="http://127.0.0.1:5299") as moto:
        yield moto


def client(launcher: Launcher, service: str):
    return boto3.client(
        service, endpoint_url=launcher.endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, read_timeout=60),
    )


@pytest.fixture(scope="module")
def role(launcher):
    iam = client(launcher, "iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    return iam.create_role(RoleName="local-test", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def create_fake(launcher, role, name, timeout=3, env=None, version="1", **extra):
    lam = client(launcher, "lambda")
    return lam.create_function(
        FunctionName=name, Runtime="provided.al2023", Role=role, Handler="bootstrap",
        Code={"ZipFile": fake_zip(version)}, Timeout=timeout, MemorySize=256,
        Environment={"Variables": env or {}}, **extra,
    )["FunctionArn"]


def invoke(launcher, name, payload):
    r = client(launcher, "lambda").invoke(FunctionName=name, Payload=json.dumps(payload).encode())
    return r.get("FunctionError"), json.loads(r["Payload"].read())


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_invoke_runs_the_real_rust_caller_id(launcher, role):
    s3 = client(launcher, "s3")
    s3.create_bucket(Bucket="routing-bucket")
    routing = {"GB": "+442071838750", "Default": "+14155552671"}
    s3.put_object(Bucket="routing-bucket", Key="routing.json", Body=json.dumps(routing).encode())
    lam = client(launcher, "lambda")
    lam.create_function(
        FunctionName="caller-id", Runtime="provided.al2023", Role=role, Handler="bootstrap",
        Code={"ZipFile": caller_id_zip()}, Timeout=5,
        Environment={"Variables": {"BUCKET_NAME": "routing-bucket", "COUNTRY_ROUTING_LIST_KEY": "routing.json"}},
    )

    def whisper(number):
        return {"Name": "ContactFlowEvent", "Details": {"ContactData": {
            "ContactId": "c-1", "Channel": "VOICE", "InitiationMethod": "OUTBOUND",
            "CustomerEndpoint": {"Address": number, "Type": "TELEPHONE_NUMBER"},
            "Queue": {"Name": "q", "OutboundCallerId": {"Address": "+15550000000", "Type": "TELEPHONE_NUMBER"}}},
            "Parameters": {}}}

    # The function read its routing file from moto's S3 (AWS_ENDPOINT_URL) and answered.
    error, uk = invoke(launcher, "caller-id", whisper("+447400123456"))
    assert error is None, uk
    assert (uk["outbound_number"], uk["customer_country"], uk["routing_status"]) == ("+442071838750", "GB", "country"), uk
    error, fr = invoke(launcher, "caller-id", whisper("+33612345678"))
    assert error is None and (fr["outbound_number"], fr["routing_status"]) == ("+14155552671", "default"), fr
    stats = launcher.stats()["functions"]["caller-id"]
    assert stats["invocations"] == 2 and stats["coldStarts"] == 1, stats
    # The process's peak resident set (Lambda's "Max Memory Used"): a Rust function, a few MiB.
    assert 1024 < stats["peakRssKiB"] < 128 * 1024, stats


def test_environment_is_the_functions_plus_the_local_endpoints(launcher, role):
    create_fake(launcher, role, "env-check", env={"GREETING": "hello", "AWS_ENDPOINT_URL_CONNECT": "http://from-terraform"})
    error, out = invoke(launcher, "env-check", {"x": 1})
    assert error is None
    assert out["event"] == {"x": 1}
    assert out["env"]["GREETING"] == "hello"
    assert out["env"]["AWS_ENDPOINT_URL"] == launcher.endpoint
    assert out["env"]["AWS_ENDPOINT_URL_CONNECT"] == "http://from-terraform", "the function's own variables win"
    assert out["env"]["AWS_LAMBDA_FUNCTION_NAME"] == "env-check"
    assert out["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert out["deadlineMs"] > time.time() * 1000
    assert out["env"]["AWS_LAMBDA_LOG_FORMAT"] is None, "text logs unless the function says JSON"


def test_json_logging_config_reaches_the_runtime(launcher, role):
    create_fake(launcher, role, "json-logs",
                LoggingConfig={"LogFormat": "JSON", "ApplicationLogLevel": "DEBUG", "SystemLogLevel": "WARN"})
    _, out = invoke(launcher, "json-logs", {})
    assert out["env"]["AWS_LAMBDA_LOG_FORMAT"] == "JSON" and out["env"]["AWS_LAMBDA_LOG_LEVEL"] == "DEBUG"
    conf = client(launcher, "lambda").get_function_configuration(FunctionName="json-logs")
    assert conf["LoggingConfig"]["LogFormat"] == "JSON"
    assert conf["LoggingConfig"]["LogGroup"] == "/aws/lambda/json-logs"
    client(launcher, "lambda").update_function_configuration(
        FunctionName="json-logs", LoggingConfig={"ApplicationLogLevel": "ERROR"})
    _, out = invoke(launcher, "json-logs", {})
    assert out["env"]["AWS_LAMBDA_LOG_LEVEL"] == "ERROR", "a configuration change restarts the processes"


def test_error_type_crash_and_timeout(launcher, role):
    create_fake(launcher, role, "failing", timeout=1)
    error, out = invoke(launcher, "failing", {"action": "error", "type": "Throttled"})
    assert error == "Unhandled" and out == {"errorType": "Throttled", "errorMessage": "as asked"}
    error, out = invoke(launcher, "failing", {"action": "crash"})
    assert error == "Unhandled" and out["errorType"] == "Runtime.ExitError", out
    error, out = invoke(launcher, "failing", {"action": "sleep", "seconds": 3})
    assert error == "Unhandled" and out["errorType"] == "Sandbox.Timedout", out
    # Each broken process was replaced: the function still answers.
    error, out = invoke(launcher, "failing", {"n": 1})
    assert error is None and out["event"] == {"n": 1}
    s = launcher.stats()["functions"]["failing"]
    assert s["errorTypes"] == {"Throttled": 1, "Runtime.ExitError": 1, "Sandbox.Timedout": 1}, s


def test_warm_processes_and_concurrency(launcher, role):
    create_fake(launcher, role, "lanes", timeout=10)
    _, first = invoke(launcher, "lanes", {})
    _, second = invoke(launcher, "lanes", {})
    assert first["pid"] == second["pid"], "a warm process serves the next invocation"
    started = time.monotonic()
    with ThreadPoolExecutor(6) as ex:
        results = list(ex.map(lambda _: invoke(launcher, "lanes", {"action": "sleep", "seconds": 1.5}), range(6)))
    elapsed = time.monotonic() - started
    assert all(e is None for e, _ in results)
    assert len({out["pid"] for _, out in results}) == 6, "one process per concurrent invocation"
    assert elapsed < 6.0, f"6 invocations of 1.5 s took {elapsed:.1f} s: not concurrent"
    assert launcher.stats()["functions"]["lanes"]["peakConcurrency"] == 6


def test_new_code_gets_new_processes(launcher, role):
    create_fake(launcher, role, "updated", version="1")
    _, before = invoke(launcher, "updated", {})
    assert before["version"] == "1"
    client(launcher, "lambda").update_function_code(FunctionName="updated", ZipFile=fake_zip("2"))
    _, after = invoke(launcher, "updated", {})
    assert after["version"] == "2" and after["pid"] != before["pid"]
    wait_for(lambda: subprocess.run(["kill", "-0", str(before["pid"])], capture_output=True).returncode != 0,
             what="the old process to stop")


def test_state_machine_created_after_start_executes(launcher, role):
    fn = create_fake(launcher, role, "sfn-task")
    definition = {
        "StartAt": "Echo",
        "States": {
            "Echo": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                     "Parameters": {"FunctionName": fn, "Payload.$": "$"},
                     "ResultSelector": {"echoed.$": "$.Payload.event"}, "ResultPath": "$.echo", "Next": "Empty"},
            "Empty": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                      "Parameters": {"FunctionName": fn, "Payload": {"action": "error", "type": "QueueEmpty"}},
                      "Catch": [{"ErrorEquals": ["QueueEmpty"], "ResultPath": "$.caught", "Next": "Callback"}],
                      "Next": "Callback"},
            "Callback": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                         "Parameters": {"FunctionName": fn, "Payload": {"action": "callback", "token.$": "$$.Task.Token"}},
                         "TimeoutSeconds": 20, "ResultPath": "$.callback", "End": True},
        },
    }
    sfn = client(launcher, "stepfunctions")
    arn = sfn.create_state_machine(name="launcher-test", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"lane": 3}))["executionArn"]
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
                    what="the execution to end")
    assert done["status"] == "SUCCEEDED", done
    output = json.loads(done["output"])
    assert output["echo"] == {"echoed": {"lane": 3}}, "the real process answered the Task"
    assert output["caught"]["Error"] == "QueueEmpty", "errorType is the name Catch matches"
    assert output["callback"] == {"calledBack": True}, "the function called SendTaskSuccess itself"


def test_sdk_integrations_take_pascal_case_parameters(launcher, role):
    """aws-sdk:sfn:startExecution as AWS takes it (continue-as-new), and DynamoDB's optimised
    integration with a condition, both as the dialer's state machine uses them."""
    sfn = client(launcher, "stepfunctions")
    ddb = client(launcher, "dynamodb")
    ddb.create_table(TableName="claims", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    ddb.put_item(TableName="claims", Item={"pk": {"S": "RUN"}, "runId": {"S": "r-1"}})
    child = sfn.create_state_machine(
        name="child", roleArn=role,
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    parent = {
        "StartAt": "Release",
        "States": {
            "Release": {"Type": "Task", "Resource": "arn:aws:states:::dynamodb:deleteItem",
                        "Parameters": {"TableName": "claims", "Key": {"pk": {"S": "RUN"}},
                                       "ConditionExpression": "runId = :r",
                                       "ExpressionAttributeValues": {":r": {"S.$": "$.runId"}}},
                        "ResultPath": None, "Next": "Continue"},
            "Continue": {"Type": "Task", "Resource": "arn:aws:states:::aws-sdk:sfn:startExecution",
                         "Parameters": {"StateMachineArn": child, "Name.$": "States.Format('{}-w2', $.runId)",
                                        "Input": {"runId.$": "$.runId", "wave": 2}},
                         "ResultSelector": {"arn.$": "$.ExecutionArn"}, "End": True},
        },
    }
    arn = sfn.create_state_machine(name="parent", definition=json.dumps(parent), roleArn=role)["stateMachineArn"]
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"runId": "r-1"}))["executionArn"]
    done = wait_for(lambda: (d := sfn.describe_execution(executionArn=execution))["status"] != "RUNNING" and d,
                    what="the parent execution")
    assert done["status"] == "SUCCEEDED", sfn.get_execution_history(executionArn=execution)["events"][-3:]
    child_arn = json.loads(done["output"])["arn"]
    assert child_arn.endswith(":r-1-w2")
    assert json.loads(sfn.describe_execution(executionArn=child_arn)["input"]) == {"runId": "r-1", "wave": 2}
    assert "Item" not in ddb.get_item(TableName="claims", Key={"pk": {"S": "RUN"}})


def test_the_stack_runs_in_utc():
    """moto's Wait compares timestamps with the local clock: whatever the machine's zone, the
    launcher runs in UTC (in New York a 'Z' time read as local would be hours away)."""
    with Launcher(env={"TZ": "America/New_York"}) as moto:
        role = client(moto, "iam").create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        wait_until_soon(moto, role)


def wait_until_soon(launcher, role):
    sfn = client(launcher, "stepfunctions")
    soon = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    definition = {"StartAt": "W", "States": {"W": {"Type": "Wait", "TimestampPath": "$.at", "End": True}}}
    arn = sfn.create_state_machine(name="wait-utc", definition=json.dumps(definition), roleArn=role)["stateMachineArn"]
    started = time.monotonic()
    execution = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"at": soon}))["executionArn"]
    wait_for(lambda: sfn.describe_execution(executionArn=execution)["status"] == "SUCCEEDED", what="the wait")
    assert time.monotonic() - started < 10


def test_async_paths_reach_the_function(launcher, role, tmp_path):
    record = tmp_path / "events.jsonl"
    fn = create_fake(launcher, role, "async-target", env={"RECORD_FILE": str(record)})
    events = client(launcher, "events")
    events.put_rule(Name="connect-disconnected", EventPattern=json.dumps({
        "source": ["aws.connect"], "detail-type": ["Amazon Connect Contact Event"],
        "detail": {"eventType": ["DISCONNECTED"]}}))
    events.put_targets(Rule="connect-disconnected", Targets=[{"Id": "fn", "Arn": fn}])
    sqs = client(launcher, "sqs")
    queue_url = sqs.create_queue(QueueName="also-sqs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_targets(Rule="connect-disconnected", Targets=[{"Id": "q", "Arn": queue_arn}])
    # A scheduled rule with a Step Functions target (the dialer's sweep) receives no events, and
    # must not fail the PutEvents of others (moto would take its missing pattern for match-all).
    events.put_rule(Name="sweep", ScheduleExpression="rate(10 minutes)")
    events.put_targets(Rule="sweep", Targets=[{
        "Id": "sm", "Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:sweep-target",
        "RoleArn": role}])
    detail = {"eventType": "DISCONNECTED", "contactId": "c-42"}
    put = events.put_events(Entries=[
        {"Source": "aws.connect", "DetailType": "Amazon Connect Contact Event", "Detail": json.dumps(detail)},
        {"Source": "aws.connect", "DetailType": "Amazon Connect Contact Event",
         "Detail": json.dumps({"eventType": "CONNECTED_TO_SYSTEM", "contactId": "c-42"})},
    ])
    assert put["FailedEntryCount"] == 0, put
    s3 = client(launcher, "s3")
    s3.create_bucket(Bucket="uploads-bucket")
    s3.put_bucket_notification_configuration(Bucket="uploads-bucket", NotificationConfiguration={
        "LambdaFunctionConfigurations": [{"LambdaFunctionArn": fn, "Events": ["s3:ObjectCreated:*"]}]})
    s3.put_object(Bucket="uploads-bucket", Key="uploads/list.csv", Body=b"custID,phone\n")
    r = client(launcher, "lambda").invoke(FunctionName="async-target", InvocationType="Event", Payload=b'{"async": true}')
    assert r["StatusCode"] == 202

    lines = wait_for(lambda: record.exists() and len(record.read_text().splitlines()) >= 3 and record.read_text().splitlines(),
                     what="three asynchronous deliveries")
    got = [json.loads(line) for line in lines]
    bridge = [e for e in got if isinstance(e, dict) and e.get("source") == "aws.connect"]
    assert len(bridge) == 1, "only the event the rule matches"
    assert bridge[0]["detail"] == detail and bridge[0]["detail-type"] == "Amazon Connect Contact Event"
    assert isinstance(bridge[0]["time"], str) and bridge[0]["time"].endswith("Z")
    s3_events = [e for e in got if isinstance(e, dict) and "Records" in e]
    assert s3_events, got
    # S3 URL-encodes keys in notifications (moto encodes the slash too): decoded, it is the key.
    assert unquote_plus(s3_events[0]["Records"][0]["s3"]["object"]["key"]) == "uploads/list.csv"
    assert {"async": True} in got
    # moto's own SQS delivery still works next to the Lambda target.
    msgs = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", [])
    assert msgs and json.loads(msgs[0]["Body"])["detail"]["contactId"] == "c-42"
    assert launcher.stats()["functions"]["async-target"]["async"] == 3


def test_async_failures_are_retried(launcher, role, tmp_path):
    record = tmp_path / "retries.jsonl"
    create_fake(launcher, role, "async-failing", env={"RECORD_FILE": str(record)})
    client(launcher, "lambda").invoke(FunctionName="async-failing", InvocationType="Event",
                                      Payload=json.dumps({"action": "error", "type": "Retryable"}).encode())
    wait_for(lambda: record.exists() and len(record.read_text().splitlines()) == 3, timeout=15,
             what="the first attempt and two retries")
    time.sleep(0.5)
    s = launcher.stats()["functions"]["async-failing"]
    assert s["asyncRetries"] == 2 and s["errors"] == 3, s


def test_async_failures_after_the_retries_reach_the_dead_letter_queue(launcher, role, tmp_path):
    sqs = client(launcher, "sqs")
    url = sqs.create_queue(QueueName="failed-invocations")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    record = tmp_path / "dlq.jsonl"
    create_fake(launcher, role, "async-dead-letter", env={"RECORD_FILE": str(record)})
    lam = client(launcher, "lambda")
    lam.update_function_configuration(FunctionName="async-dead-letter", DeadLetterConfig={"TargetArn": arn})
    assert lam.get_function_configuration(FunctionName="async-dead-letter")["DeadLetterConfig"] == {"TargetArn": arn}
    event = {"action": "error", "type": "Retryable", "upload": "uploads/spring.csv"}
    lam.invoke(FunctionName="async-dead-letter", InvocationType="Event", Payload=json.dumps(event).encode())
    got: list = []
    wait_for(lambda: got.extend(sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"],
                                                    WaitTimeSeconds=1).get("Messages", [])) or got,
             timeout=20, what="the failed event in the dead-letter queue")
    assert json.loads(got[0]["Body"]) == event, "the event itself, for a replay"
    attributes = got[0]["MessageAttributes"]
    assert {"RequestID", "ErrorCode", "ErrorMessage"} <= set(attributes), attributes
    assert len(record.read_text().splitlines()) == 3, "after the first attempt and both retries"
    # The runtime counts the dead letter once SendMessage has answered, which may be just after
    # the receive above saw the message.
    wait_for(lambda: launcher.stats()["functions"]["async-dead-letter"]["deadLetters"] == 1,
             timeout=10, what="the dead letter counted")


def test_sqs_attributes_are_changed_only_when_named(launcher):
    sqs = client(launcher, "sqs")
    url = sqs.create_queue(QueueName="redrive-allow")["QueueUrl"]
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
                        "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": policy})
    allow = json.dumps({"redrivePermission": "denyAll"})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": allow})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert got["RedriveAllowPolicy"] == allow
    assert json.loads(got["Policy"]) == json.loads(policy), "a call that does not name Policy keeps it"
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedriveAllowPolicy": ""})
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert "RedriveAllowPolicy" not in got, "an empty value removes it"


def test_terraform_fixes(launcher, role):
    sfn = client(launcher, "stepfunctions")
    good = {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
    ok = sfn.validate_state_machine_definition(definition=json.dumps(good))
    assert ok["result"] == "OK" and ok["diagnostics"] == []
    bad = sfn.validate_state_machine_definition(definition=json.dumps({"StartAt": "Missing", "States": {}}))
    assert bad["result"] == "FAIL" and bad["diagnostics"][0]["severity"] == "ERROR"
    arn = sfn.create_state_machine(name="versioned", definition=json.dumps(good), roleArn=role, publish=True)["stateMachineArn"]
    versions = sfn.list_state_machine_versions(stateMachineArn=arn)["stateMachineVersions"]
    assert [v["stateMachineVersionArn"] for v in versions] == [f"{arn}:1"]
    plain = sfn.create_state_machine(name="plain", definition=json.dumps(good), roleArn=role)["stateMachineArn"]
    assert sfn.list_state_machine_versions(stateMachineArn=plain)["stateMachineVersions"] == []
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.list_state_machine_versions(stateMachineArn=plain + "-nope")

    pinpoint = client(launcher, "pinpoint")
    app = pinpoint.create_app(CreateApplicationRequest={"Name": "local"})["ApplicationResponse"]
    assert isinstance(app["CreationDate"], str) and app["CreationDate"].endswith("Z"), app
    got = pinpoint.get_app(ApplicationId=app["Id"])["ApplicationResponse"]
    assert got["CreationDate"] == app["CreationDate"]


def test_tls_only_bucket_policy_lets_requests_through(launcher):
    """The module's buckets deny s3:* when aws:SecureTransport is false; moto passes no request
    context and used to deny everything, Terraform's own PutObject included."""
    s3 = client(launcher, "s3")
    s3.create_bucket(Bucket="tls-only-bucket")
    arn = "arn:aws:s3:::tls-only-bucket"
    s3.put_bucket_policy(Bucket="tls-only-bucket", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        {"Sid": "NoDeletes", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
         "Resource": f"{arn}/*"},
    ]}))
    s3.put_object(Bucket="tls-only-bucket", Key="routing.json", Body=b"{}")
    assert s3.get_object(Bucket="tls-only-bucket", Key="routing.json")["Body"].read() == b"{}"
    with pytest.raises(Exception) as denied:
        s3.delete_object(Bucket="tls-only-bucket", Key="routing.json")
    assert "403" in str(denied.value) or "AccessDenied" in str(denied.value), "an unconditional Deny still denies"


def test_dynamodb_writes_to_one_item_never_lose_each_other(launcher):
    """Concurrent UpdateItems on an item that does not exist yet, each setting its own attribute
    (dial storing a call's token while process-contact-events stores its disconnect): DynamoDB
    applies them one after the other, so the item ends with every attribute. moto alone keeps
    only the last writer's copy now and then."""
    ddb = client(launcher, "dynamodb")
    ddb.create_table(TableName="atomic-items", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                     BillingMode="PAY_PER_REQUEST")
    items, writers = 150, 8

    def write(job: tuple[int, int]) -> None:
        item, writer = job
        ddb.update_item(TableName="atomic-items", Key={"pk": {"S": f"item-{item}"}},
                        UpdateExpression="SET #a = :v",
                        ExpressionAttributeNames={"#a": f"writer{writer}"},
                        ExpressionAttributeValues={":v": {"N": str(writer)}})

    jobs = [(item, writer) for item in range(items) for writer in range(writers)]
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(write, jobs))
    lost = {}
    for item in range(items):
        got = ddb.get_item(TableName="atomic-items", Key={"pk": {"S": f"item-{item}"}})["Item"]
        missing = [w for w in range(writers) if f"writer{w}" not in got]
        if missing:
            lost[item] = missing
    assert not lost, f"writes lost on {len(lost)} of {items} items: {dict(list(lost.items())[:5])}"

    # A conditional put is a lock: of many writers racing for one absent item, exactly one wins.
    def claim(writer: int) -> bool:
        try:
            ddb.put_item(TableName="atomic-items", Item={"pk": {"S": "claim"}, "by": {"N": str(writer)}},
                         ConditionExpression="attribute_not_exists(pk)")
            return True
        except ddb.exceptions.ConditionalCheckFailedException:
            return False

    with ThreadPoolExecutor(max_workers=writers) as pool:
        winners = sum(pool.map(claim, range(writers * 5)))
    assert winners == 1, f"{winners} writers won the same conditional put"


def test_stats_endpoint_counts_and_resets(launcher, role):
    create_fake(launcher, role, "counted")
    for _ in range(3):
        invoke(launcher, "counted", {})
    assert launcher.stats()["functions"]["counted"]["invocations"] == 3
    total = launcher.stats()["totalInvocations"]
    assert total >= 3
    launcher.reset_stats()
    assert launcher.stats()["functions"].get("counted", {}).get("invocations", 0) == 0


def test_sigterm_stops_every_child_process():
    with Launcher() as moto:
        iam = client(moto, "iam")
        role_arn = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        create_fake(moto, role_arn, "child")
        _, out = invoke(moto, "child", {})
        pid = out["pid"]
        assert moto.stop() == 0
        assert subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode != 0, "the function process is gone"
        stats = json.loads(Path(moto.stats_file).read_text())
        assert stats["functions"]["child"]["invocations"] == 1


TF_CONFIG = r'''
terraform {{
  required_providers {{
    aws = {{ source = "hashicorp/aws" }}
  }}
}}
provider "aws" {{
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_requesting_account_id  = true
  endpoints {{
    iam           = "{endpoint}"
    lambda        = "{endpoint}"
    sfn           = "{endpoint}"
    pinpoint      = "{endpoint}"
    sts           = "{endpoint}"
    cloudwatchlogs = "{endpoint}"
  }}
}}
resource "aws_iam_role" "fn" {{
  name               = "tf-local-fn"
  assume_role_policy = jsonencode({{ Version = "2012-10-17", Statement = [{{ Effect = "Allow", Action = "sts:AssumeRole", Principal = {{ Service = "lambda.amazonaws.com" }} }}] }})
}}
resource "aws_lambda_function" "fn" {{
  function_name    = "tf-fake"
  role             = aws_iam_role.fn.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  filename         = "{zip}"
  source_code_hash = filebase64sha256("{zip}")
  timeout          = 5
  environment {{
    variables = {{ GREETING = "from terraform" }}
  }}
  logging_config {{
    log_format            = "JSON"
    application_log_level = "INFO"
    system_log_level      = "WARN"
  }}
}}
resource "aws_sfn_state_machine" "sm" {{
  name     = "tf-local"
  role_arn = aws_iam_role.fn.arn
  definition = jsonencode({{
    StartAt = "Call"
    States = {{ Call = {{ Type = "Task", Resource = "arn:aws:states:::lambda:invoke", Parameters = {{ FunctionName = aws_lambda_function.fn.arn, "Payload.$" = "$" }}, End = true }} }}
  }})
}}
resource "aws_pinpoint_app" "app" {{
  name = "tf-local"
}}
'''


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not on PATH")
def test_terraform_applies_lambda_state_machine_and_pinpoint(tmp_path):
    """terraform-provider-aws against the launcher: the function Terraform created runs, with
    the variables Terraform gave it."""
    zip_path = tmp_path / "fake.zip"
    zip_path.write_bytes(fake_zip("tf"))
    with Launcher() as moto:
        (tmp_path / "main.tf").write_text(TF_CONFIG.format(endpoint=moto.endpoint, zip=zip_path))
        script = f"""
            set -e
            source "{ROOT}/scripts/lib.sh"
            ensure_terraform
            cd "{tmp_path}"
            terraform init -input=false -no-color >/dev/null
            timeout 300 terraform apply -auto-approve -input=false -no-color
        """
        applied = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
        assert applied.returncode == 0, applied.stdout[-3000:] + applied.stderr[-3000:]
        error, out = invoke(moto, "tf-fake", {"via": "terraform"})
        assert error is None and out["env"]["GREETING"] == "from terraform", out
        assert out["env"]["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
        # What moto answers reads back as applied: no perpetual diff on the next plan.
        planned = subprocess.run(
            ["bash", "-c", script.replace("terraform apply -auto-approve", "terraform plan -detailed-exitcode")],
            capture_output=True, text=True)
        assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
        destroyed = subprocess.run(["bash", "-c", script.replace("terraform apply", "terraform destroy")],
                                   capture_output=True, text=True)
        assert destroyed.returncode == 0, destroyed.stdout[-3000:] + destroyed.stderr[-3000:]


def test_sigint_is_a_clean_stop_too():
    moto = Launcher()
    with moto:
        assert moto.proc is not None
        moto.proc.send_signal(signal.SIGINT)
        assert moto.proc.wait(timeout=15) == 0
