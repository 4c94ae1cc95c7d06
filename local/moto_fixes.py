"""Patches to moto (in this process only) that the local stack needs.

1. terraform-provider-aws 5.100 against moto 5.2 (and the module's own resources):
   - `ValidateStateMachineDefinition` and `ListStateMachineVersions` are not implemented (moto
     answers 500 and the provider retries for minutes): answered here, the first with moto's own
     ASL static analyser;
   - Pinpoint `CreateApp`/`GetApp` return `CreationDate` as a number where the API (and the Go
     SDK) has a string: returned as an ISO 8601 string;
   - a bucket policy's conditional `Deny` (TLS only) denied every request: it applies only when
     its conditions hold;
   - SQS forgot a queue's `RedriveAllowPolicy` and reset its `Policy` on any
     `SetQueueAttributes` that did not name it: both are kept, as SQS does.
2. The Step Functions executor maps service-integration parameters and answers between the
   PascalCase AWS accepts and the API's own member names (`install_executor_fixes`).
3. Lambda invocations run the function's real code (`local.runtime`) instead of moto's echo:
   - every path ends in `LambdaFunction.invoke` (the Invoke API, InvokeAsync, S3 bucket
     notifications, SQS/SNS/DynamoDB stream triggers, the Step Functions executor which calls
     the Invoke API over HTTP), and moto's "simple" backend (`use_docker` off) is routed there
     too instead of echoing the payload;
   - S3 notifications are delivered asynchronously (moto calls the function inside PutObject);
   - EventBridge `PutEvents` delivers to SQS, logs and buses but not to Lambda targets: the
     rule's Lambda targets are invoked here (asynchronously, with `Input`, `InputPath` and
     `InputTransformer` applied), so Connect contact events reach `process-contact-events`.
4. DynamoDB item operations are atomic, as in AWS (`install_dynamodb_fixes`).
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import os
import threading
from typing import Any

LOG = logging.getLogger("local.moto_fixes")


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
    except AttributeError:
        value = None
    if value is None and isinstance(headers, dict):
        lowered = name.lower()
        for k, v in headers.items():
            if str(k).lower() == lowered:
                return v
    return value


def _as_bytes(body: Any) -> bytes:
    if body is None or body == "":
        return b"{}"
    if isinstance(body, bytes):
        return body or b"{}"
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body).encode("utf-8")


def install_lambda_forwarding(runtime: Any) -> None:
    from moto.awslambda.models import LambdaFunction
    from moto.awslambda_simple.models import LambdaSimpleBackend

    def function_invoke(self: Any, body: Any, request_headers: Any, response_headers: Any) -> bytes:
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        response_headers["x-amz-executed-version"] = str(self.version)
        if invocation_type == "DryRun":
            return b""
        if invocation_type == "Event":
            runtime.invoke_async(self, _as_bytes(body))
            return b""
        payload, is_error = runtime.invoke(self, _as_bytes(body))
        if is_error:
            # What Lambda answers when the function (or its runtime) failed; Step Functions
            # reads `errorType` from the payload as the error name its Retry/Catch match.
            response_headers["x-amz-function-error"] = "Unhandled"
        return payload

    def backend_invoke(self: Any, function_name: str, qualifier: str | None, body: Any,
                       headers: Any, response_headers: Any) -> bytes | None:
        fn = self.get_function(function_name, qualifier)
        payload = fn.invoke(body, headers, response_headers)
        response_headers["Content-Length"] = str(len(payload))
        return payload

    LambdaFunction.invoke = function_invoke
    LambdaSimpleBackend.invoke = backend_invoke
    _install_lambda_logging_config(LambdaFunction)
    _install_lambda_dead_letter_config(LambdaFunction)

    import moto.s3.notifications as s3_notifications

    def s3_invoke_lambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        from moto.awslambda.utils import get_backend

        try:
            fn = get_backend(account_id, region_name).get_function(fn_arn)
        except Exception as e:  # noqa: BLE001 - S3 never fails a PutObject for its notification
            LOG.warning("S3 notification to %s not delivered: %s", fn_arn, e)
            return
        runtime.invoke_async(fn, json.dumps(event_body).encode("utf-8"))

    s3_notifications._invoke_awslambda = s3_invoke_lambda

    _install_eventbridge_lambda_targets(runtime)


def _install_lambda_dead_letter_config(function_class: Any) -> None:
    """moto drops `DeadLetterConfig`: keep it and return it, so Terraform reads back what it set
    and `local.runtime` can deliver the events of failed asynchronous invocations there."""
    original_init = function_class.__init__
    original_get = function_class.get_configuration
    original_update = function_class.update_configuration

    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
        original_init(self, account_id, spec, region, version)
        self.dead_letter_config = spec.get("DeadLetterConfig") or {}

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        if getattr(self, "dead_letter_config", None):
            config["DeadLetterConfig"] = self.dead_letter_config
        return config

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "DeadLetterConfig" in config_updates:
            self.dead_letter_config = config_updates["DeadLetterConfig"] or {}
        return original_update(self, config_updates)

    function_class.__init__ = __init__
    function_class.get_configuration = get_configuration
    function_class.update_configuration = update_configuration


def _install_lambda_logging_config(function_class: Any) -> None:
    """moto drops `LoggingConfig`: keep it, return it (Terraform reads it back) and let the
    runtime set `AWS_LAMBDA_LOG_FORMAT`/`AWS_LAMBDA_LOG_LEVEL` from it, as Lambda does."""

    def merged(current: dict[str, Any] | None, update: dict[str, Any] | None, name: str) -> dict[str, Any]:
        out = dict(current or {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"})
        out.update({k: v for k, v in (update or {}).items() if v is not None})
        if out.get("LogFormat") == "JSON":
            out.setdefault("ApplicationLogLevel", "INFO")
            out.setdefault("SystemLogLevel", "INFO")
        return out

    original_init = function_class.__init__
    original_get = function_class.get_configuration
    original_update = function_class.update_configuration

    def __init__(self: Any, account_id: str, spec: dict[str, Any], region: str, version: Any = 1) -> None:
        original_init(self, account_id, spec, region, version)
        self.logging_config = merged(None, spec.get("LoggingConfig"), self.function_name)

    def get_configuration(self: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
        config = original_get(self, *args, **kwargs)
        config["LoggingConfig"] = getattr(self, "logging_config", None) or merged(None, None, self.function_name)
        return config

    def update_configuration(self: Any, config_updates: dict[str, Any]) -> dict[str, Any]:
        if "LoggingConfig" in config_updates:
            self.logging_config = merged(getattr(self, "logging_config", None),
                                         config_updates["LoggingConfig"], self.function_name)
        return original_update(self, config_updates)

    function_class.__init__ = __init__
    function_class.get_configuration = get_configuration
    function_class.update_configuration = update_configuration


def _event_time_iso(value: Any) -> Any:
    if isinstance(value, (int, float)):
        return datetime.datetime.fromtimestamp(float(value), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def _target_payload(target: dict[str, Any], event: dict[str, Any]) -> bytes:
    """The payload EventBridge gives a target: `Input` verbatim, `InputPath` applied, an
    `InputTransformer` rendered, else the whole event."""
    if target.get("Input") is not None:
        return str(target["Input"]).encode("utf-8")
    if target.get("InputPath"):
        from jsonpath_ng.ext import parse

        matches = parse(target["InputPath"]).find(event)
        return json.dumps(matches[0].value if matches else None).encode("utf-8")
    if target.get("InputTransformer"):
        from moto.events.utils import EventTemplateParser

        transformer = target["InputTransformer"]
        rendered = EventTemplateParser.parse(
            input_template=transformer.get("InputTemplate"),
            input_paths_map=transformer.get("InputPathsMap", {}),
            event=event,
        )
        return (rendered if isinstance(rendered, str) else json.dumps(rendered)).encode("utf-8")
    return json.dumps(event).encode("utf-8")


def _install_eventbridge_lambda_targets(runtime: Any) -> None:
    from moto.awslambda.utils import get_backend
    from moto.events.models import Rule

    original = Rule.send_to_targets

    def is_lambda(target: dict[str, Any]) -> bool:
        parts = str(target.get("Arn", "")).split(":")
        return len(parts) >= 7 and parts[2] == "lambda"

    def send_to_targets(self: Any, original_event: dict[str, Any], transform_input: bool = True) -> None:
        # A scheduled rule (the dialer's sweep) is run by its schedule, never by events: "You can
        # create rules that run on a schedule ... or rules that react to events", and a
        # scheduled rule has no event pattern
        # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-create-rule-schedule.html).
        # moto treats its missing pattern as matching every event and then raises on its Step
        # Functions target, failing the whole PutEvents. The local stack does not run schedules.
        if getattr(self, "scheduled_expression", None):
            return
        # moto's SQS path rewrites the event's time in place: keep our own copy first.
        event = copy.deepcopy(original_event)
        lambdas = [t for t in self.targets if is_lambda(t)]
        if len(lambdas) < len(self.targets):
            # moto raises on target types it does not know: hand it the others only, on a
            # shallow copy so the rule itself (shared with other threads) is untouched.
            others = copy.copy(self)
            others.targets = [t for t in self.targets if not is_lambda(t)]
            original(others, original_event, transform_input)
        if not lambdas or not self.event_pattern.matches_event(event):
            return
        event.pop("ingestion-time", None)
        event["time"] = _event_time_iso(event.get("time"))
        for target in lambdas:
            arn = str(target["Arn"])
            parts = arn.split(":")
            try:
                fn = get_backend(parts[4], parts[3]).get_function(arn)
            except Exception as e:  # noqa: BLE001 - EventBridge drops what it cannot deliver
                LOG.warning("EventBridge target %s not found: %s", arn, e)
                continue
            runtime.invoke_async(fn, _target_payload(target, event))

    Rule.send_to_targets = send_to_targets


def install_terraform_fixes() -> None:
    _install_step_functions_fixes()
    _install_pinpoint_fix()
    _install_conditional_deny_fix()
    _install_sqs_attributes_fix()


def _install_sqs_attributes_fix() -> None:
    """`SetQueueAttributes` changes the attributes it names and nothing else.

    SQS API Reference, SetQueueAttributes: each call sets the attributes given; GetQueueAttributes
    returns `RedriveAllowPolicy` among a queue's attributes. moto 5.2 stores a
    `RedriveAllowPolicy` but never returns it (the provider then waits minutes for the value it
    set), and sets `Policy` to the call's value even when the call does not name it, so the
    `aws_sqs_queue_redrive_allow_policy` of a queue erased its TLS-only queue policy.
    """
    from moto.sqs.models import Queue

    if "RedriveAllowPolicy" not in Queue.BASE_ATTRIBUTES:
        Queue.BASE_ATTRIBUTES.append("RedriveAllowPolicy")
    Queue.redrive_allow_policy = None  # queues that never had one

    original = Queue._set_attributes

    def _set_attributes(self: Any, attributes: dict[str, Any], now: float | None = None) -> None:
        policy = getattr(self, "policy", None)
        original(self, attributes, now)
        if "Policy" not in attributes:
            self.policy = policy
        if attributes.get("RedriveAllowPolicy") == "":
            self.redrive_allow_policy = None  # an empty value removes it

    Queue._set_attributes = _set_attributes


def _install_conditional_deny_fix() -> None:
    """A `Deny` statement applies only when its conditions hold.

    moto evaluates S3 bucket policies without any request context (no `aws:SecureTransport`)
    and counts a condition on an absent key as met. So the TLS-only policy every bucket of the module carries (`Deny s3:*` when
    `aws:SecureTransport` is `false`) denies every request, and Terraform's own PutObject fails
    with 403. In IAM a condition on a key the request does not carry does not hold: the Deny
    does not apply, as for a request over TLS in AWS. Unconditional denies still deny.
    """
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    original = IAMPolicyStatement.is_action_permitted

    def absent_key_fails(conditions: dict[str, Any], values: dict[str, str] | None) -> bool:
        """True when a condition names a key the request does not carry (so it does not
        hold), except for `...IfExists` operators and `Null: true`, which hold then."""
        for operator, block in conditions.items():
            if not isinstance(block, dict):
                continue
            for key, expected in block.items():
                if values and key in values:
                    continue
                if operator.endswith("IfExists"):
                    continue
                if operator == "Null" and str(expected).lower() == "true":
                    continue
                return True
        return False

    def is_action_permitted(self: Any, action: str, resource: str = "*", principal: str | None = None,
                            incoming_condition_values: dict[str, str] | None = None) -> Any:
        result = original(self, action, resource, principal, incoming_condition_values)
        conditions = self._statement.get("Condition")
        if (result == PermissionResult.DENIED and self._statement.get("Effect") == "Deny"
                and isinstance(conditions, dict) and absent_key_fails(conditions, incoming_condition_values)):
            return PermissionResult.NEUTRAL
        return result

    IAMPolicyStatement.is_action_permitted = is_action_permitted


def install_dynamodb_fixes() -> None:
    """Each DynamoDB operation applies as one step, never interleaved with another.

    DynamoDB isolates single-item writes (`PutItem`, `UpdateItem`, `DeleteItem`) from each other
    and from transactions: "serializable isolation ensures that the results of multiple
    concurrent operations are the same as if no operation begins until the previous one has
    finished" (Amazon DynamoDB Developer Guide, "Amazon DynamoDB Transactions: How it works",
    Isolation levels for DynamoDB transactions, docs.aws.amazon.com/amazondynamodb/latest/
    developerguide/transaction-apis.html). A condition expression is checked and the write
    applied in that same step, which is what makes conditional writes a lock.

    moto's threaded server runs requests on several threads and its backend reads an item,
    checks the condition and stores a new copy without a lock: two `UpdateItem`s on an absent
    item (dial storing a call's token while `process-contact-events` stores its disconnect)
    each create the item from nothing and the last one stored wins, dropping the other's
    attributes. One lock around every backend operation restores the documented behaviour.
    """
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()  # re-entrant: a transaction calls the single-item operations

    def serialised(method: Any) -> Any:
        def run(self: Any, *args: Any, **kwargs: Any) -> Any:
            with lock:
                return method(self, *args, **kwargs)

        run.__name__ = method.__name__
        run.__doc__ = method.__doc__
        return run

    for name in ("put_item", "update_item", "delete_item", "get_item", "query", "scan",
                 "transact_write_items"):
        setattr(DynamoDBBackend, name, serialised(getattr(DynamoDBBackend, name)))


def install_executor_fixes() -> None:
    """Service integrations take PascalCase parameters and answer PascalCase, as in AWS.

    AWS Step Functions maps a Task's parameters (`StateMachineArn`, `Input`) onto the API's
    members (`stateMachineArn`, `input`, an object `Input` serialised to a string) and the
    answer back (`ExecutionArn`). moto's port of the LocalStack executor keeps the mapping
    helpers (`_to_boto_request`, `_from_boto_response`) but its base `_normalise_parameters` /
    `_normalise_response` do nothing, so `aws-sdk:sfn:startExecution` (continue-as-new) fails
    with `States.Runtime "'StateMachineArn'"` and `states:startExecution.sync` cannot find
    `ExecutionArn`. These two methods restore the mapping from botocore's service models.
    """
    from botocore.session import get_session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )
    from moto.stepfunctions.parser.utils import camel_to_snake_case

    session = get_session()
    operations: dict[tuple[str, str], Any] = {}

    def operation_model(self: Any, boto_service_name: str | None, service_action_name: str | None) -> Any:
        service = self._get_boto_service_name(boto_service_name)
        action = self._get_boto_service_action(service_action_name)
        key = (service, action)
        if key not in operations:
            try:
                model = session.get_service_model(service)
                names = {camel_to_snake_case(op): op for op in model.operation_names}
                operations[key] = model.operation_model(names[action]) if action in names else None
            except Exception:  # noqa: BLE001 - an unknown service keeps moto's behaviour
                operations[key] = None
        return operations[key]

    def normalise_parameters(self: Any, parameters: dict, boto_service_name: str | None = None,
                             service_action_name: str | None = None) -> None:
        op = operation_model(self, boto_service_name, service_action_name)
        if op is not None and op.input_shape is not None:
            self._to_boto_request(parameters, op.input_shape)

    def normalise_response(self: Any, response: Any, boto_service_name: str | None = None,
                           service_action_name: str | None = None) -> None:
        op = operation_model(self, boto_service_name, service_action_name)
        if op is not None and op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    StateTaskService._normalise_parameters = normalise_parameters
    StateTaskService._normalise_response = normalise_response
    _cache_executor_clients()


def _cache_executor_clients() -> None:
    """The executor builds a new boto3 client for every Task (~10 ms of CPU each: thousands per
    campaign on a 2-core machine). Its clients differ only by service and region (the
    credentials are fixed), and boto3 clients are thread-safe: build each once."""
    import sys
    import threading

    import boto3
    import moto.stepfunctions.parser.asl.utils.boto_client as boto_client_module
    from botocore.config import Config

    original = boto_client_module.boto_client_for
    cache: dict[tuple[str, str, str], Any] = {}
    lock = threading.Lock()

    def boto_client_for(region: str, service: str, state_credentials: Any = None) -> Any:
        from moto.core.models import botocore_stubber

        if botocore_stubber.enabled:  # in-memory mocking (not the launcher): moto's own way
            return original(region=region, service=service, state_credentials=state_credentials)
        port = os.environ.get("MOTO_PORT") or "5000"
        key = (region, service, port)
        with lock:
            client = cache.get(key)
            if client is None:
                # moto's settings (fixed credentials, no retries, no timeouts), plus a pool
                # large enough for every lane's concurrent Task on one shared client.
                client = cache[key] = boto3.session.Session().client(
                    service_name=service, region_name=region, endpoint_url=f"http://127.0.0.1:{port}",
                    aws_access_key_id="ak", aws_secret_access_key="sk",
                    config=Config(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                                  connect_timeout=99999999, read_timeout=99999999, max_pool_connections=256),
                )
            return client

    boto_client_module.boto_client_for = boto_client_for
    # Modules that imported the name before this point hold the original: rebind it there too.
    for name, module in list(sys.modules.items()):
        if name.startswith("moto.stepfunctions.parser") and getattr(module, "boto_client_for", None) is original:
            module.boto_client_for = boto_client_for


def _install_step_functions_fixes() -> None:
    from moto.core.responses import ActionResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def validate_state_machine_definition(self: Any) -> ActionResult:
        from moto.stepfunctions.parser.asl.static_analyser.express_static_analyser import (
            ExpressStaticAnalyser,
        )
        from moto.stepfunctions.parser.asl.static_analyser.static_analyser import StaticAnalyser

        definition = self._get_param("definition")
        express = (self._get_param("type") or "STANDARD") == "EXPRESS"
        analyser = ExpressStaticAnalyser() if express else StaticAnalyser()
        diagnostics = []
        try:
            analyser.analyse(definition)
        except Exception as e:  # noqa: BLE001 - any analyser failure is a diagnostic
            diagnostics.append({
                "severity": "ERROR",
                "code": "SCHEMA_VALIDATION_FAILED",
                "message": f"{type(e).__name__}: {e}"[:2000],
            })
        return ActionResult({
            "result": "FAIL" if diagnostics else "OK",
            "diagnostics": diagnostics,
            "truncated": False,
        })

    def list_state_machine_versions(self: Any) -> ActionResult:
        arn = self._get_param("stateMachineArn")
        machine = self.stepfunction_backend.describe_state_machine(arn)
        versions = sorted(getattr(machine, "versions", {}).values(), key=lambda v: v.version, reverse=True)
        return ActionResult({
            "stateMachineVersions": [
                {"stateMachineVersionArn": v.arn, "creationDate": v.creation_date} for v in versions
            ]
        })

    StepFunctionResponse.validate_state_machine_definition = validate_state_machine_definition
    StepFunctionResponse.list_state_machine_versions = list_state_machine_versions


def _install_pinpoint_fix() -> None:
    from moto.pinpoint.models import App

    original = App.to_json

    def to_json(self: Any) -> dict[str, Any]:
        out = original(self)
        created = out.get("CreationDate")
        if isinstance(created, (int, float)):
            out["CreationDate"] = (
                datetime.datetime.fromtimestamp(float(created), datetime.timezone.utc)
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z")
            )
        return out

    App.to_json = to_json
