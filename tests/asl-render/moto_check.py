"""Runs the rendered dialer state machine in moto's Step Functions executor.

The local stack (issue 5) runs this definition in moto's executor (ported from LocalStack), so
every feature the ASL uses must work there as well as in AWS. This script executes the rendered
definitions (inline and distributed) against scripted stand-ins for the Lambda functions and
checks the paths that matter: the lane self-loop with .waitForTaskToken, TimeoutSecondsPath and
the reconcile path, Retry on the project's error names, Catch into "Lane Finished"/"Lane Failed",
the ResultSelector and States.ArrayContains summary, continue-as-new through
aws-sdk:sfn:startExecution with States.MathAdd, the conditional DynamoDB release, the pause until
the queue opens, the billed transitions per dialed contact, and the campaign ledger's paths: an
idle run (a sweep with nothing due) released without lanes, contacts due now handed to the next
wave at once, redials due soon waited for (SecondsPath), and a recount that finds contacts due.

The stand-ins follow docs/architecture.md (lane state, error names, get-config output); they
are not the Rust functions (the end-to-end tests of the local stack run those).

Usage: moto_check.py <rendered-inline.json> <rendered-distributed.json>
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import boto3
from moto import mock_aws
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils

REGION = "eu-west-2"
ACCOUNT = "123456789012"
TABLE = "blaster-test-activedialing"
FN = {
    name: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:blaster-test-{name}"
    for name in ("get-config", "get-contacts", "dial", "connect-status")
}


class FunctionFailure(Exception):
    """A handled Lambda error: Step Functions matches `errorType`."""

    def __init__(self, error_type: str, message: str = ""):
        super().__init__(error_type)
        self.error_type = error_type
        self.message = message or error_type


@dataclass
class Scenario:
    """What the stand-in functions do in one test."""

    contacts: int = 5
    lanes: int = 2
    budget: int = 100
    timeout_seconds: int = 5
    active: bool = True
    closed_until: datetime | None = None  # queue closed until then (None: open)
    stop_after_calls: int | None = None  # the switch goes off after this many placed calls
    silent_calls: set[int] = field(default_factory=set)  # call numbers whose completion never arrives
    fail_call: int | None = None  # dial fails with InvalidInput on this call number
    retryable_once: bool = False  # dial fails once with Retryable before the first call
    in_flight_rounds: int = 0  # get-contacts reports contacts in flight this many times
    complete_before_return: bool = False  # dial itself completes (the call ended before the token was stored)
    idle: bool = False  # get-config: claimed and active, but nothing fed and the buffer empty
    # get-contacts' answers, in call order (Count Contacts, Recount Contacts, ...), each over the
    # default {more (from in_flight_rounds), due: False, waitSeconds: None}
    contacts_answers: list = field(default_factory=list)
    start_input: str = "{}"
    # dial starts the next wave when it takes the wave's last call (dial::next_wave)
    early_next_wave: bool = False
    functions: object = None  # the stand-ins, once the run started
    # observed
    placed: int = 0
    get_config_inputs: list = field(default_factory=list)
    reconciled: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Functions:
    """Stand-ins for get-config, get-contacts, dial and connect-status, per docs/architecture.md."""

    def __init__(self, scenario: Scenario, sfn, ddb):
        self.s = scenario
        self.sfn = sfn
        self.ddb = ddb
        self.queue = list(range(1, scenario.contacts + 1))
        self.retry_done = False
        self.run_counter = 0
        self.wave_calls: dict[tuple[str, int], int] = {}  # dial's shared count per (run, wave)
        self.state_machine_arn = ""  # set once the state machine exists
        self.early_starts: list[str] = []  # executions dial started

    def invoke(self, function_arn: str, payload: dict):
        name = function_arn.rsplit(":", 1)[-1].removeprefix("blaster-test-")
        return getattr(self, name.replace("-", "_"))(payload)

    def get_config(self, event: dict):
        self.s.get_config_inputs.append(event)
        assert event["execution"].startswith("arn:aws:states:"), event
        run_id = event.get("runId")
        if run_id is None:
            self.run_counter += 1
            run_id = f"r-{self.run_counter:04d}"
        try:
            # The claim: free, or already this run's (a continued run takes over its claim).
            self.ddb.put_item(
                TableName=TABLE,
                Item={"pk": {"S": "RUN"}, "runId": {"S": run_id}, "execution": {"S": event["execution"]}},
                ConditionExpression="attribute_not_exists(pk) OR runId = :r",
                ExpressionAttributeValues={":r": {"S": run_id}},
            )
            claimed = True
        except self.ddb.exceptions.ConditionalCheckFailedException:
            claimed = False
        # As get-config does: the wave's calls (lanes × budget) are one count its lanes share.
        wave_budget = self.s.lanes * self.s.budget
        lane = {"runId": run_id, "calls": 0, "budget": wave_budget, "timeoutSeconds": self.s.timeout_seconds,
                "wave": event.get("wave", 0), "waveBudget": wave_budget}
        return {
            "claimed": claimed,
            "runId": run_id,
            "wave": event.get("wave", 0),
            "active": self.s.active,
            "idle": claimed and self.s.active and self.s.idle,
            "config": {"concurrentcalls": self.s.lanes},
            "lanes": [dict(lane, lane=i) for i in range(self.s.lanes)],
            "laneBudget": self.s.budget,
            "timeoutSeconds": self.s.timeout_seconds,
        }

    def connect_status(self, event: dict):
        if event["action"] == "hours":
            now = datetime.now(timezone.utc)
            if self.s.closed_until and now < self.s.closed_until:
                return {
                    "open": False,
                    "status": "ENABLED",
                    "reason": "outside hours",
                    "nextOpening": self.s.closed_until.strftime("%Y-%m-%dT%H:%M:%SZ"),
                }
            return {"open": True, "status": "ENABLED", "reason": "open", "nextOpening": None}
        assert event["action"] == "reconcile", event
        with self.s.lock:
            self.s.reconciled += 1
        state = {k: event[k] for k in ("runId", "lane", "calls", "budget", "timeoutSeconds", "wave", "waveBudget")}
        state["calls"] += 1
        return state

    def get_contacts(self, _event: dict):
        with self.s.lock:
            more = self.s.in_flight_rounds > 0
            if more:
                self.s.in_flight_rounds -= 1
            answer = {"available": 0, "inFlight": int(more), "delayed": 0, "deadLettered": 0, "more": more,
                      "due": False, "waitSeconds": None}
            if self.s.contacts_answers:
                answer.update(self.s.contacts_answers.pop(0))
        return answer

    def dial(self, event: dict):
        token = event.pop("taskToken")
        assert token, "dial needs the task token"
        with self.s.lock:
            if self.s.retryable_once and not self.retry_done:
                self.retry_done = True
                raise FunctionFailure("Retryable", "Connect answered 503")
            if self.s.stop_after_calls is not None and self.s.placed >= self.s.stop_after_calls:
                raise FunctionFailure("CampaignStopped")
            if self.s.closed_until and datetime.now(timezone.utc) < self.s.closed_until:
                raise FunctionFailure("QueueClosed")
            if event["calls"] >= event["budget"]:
                raise FunctionFailure("LaneBudgetExhausted")
            wave = (event["runId"], event["wave"])
            if self.wave_calls.get(wave, 0) >= event["waveBudget"]:
                raise FunctionFailure("LaneBudgetExhausted")
            self.wave_calls[wave] = self.wave_calls.get(wave, 0) + 1
            if self.s.early_next_wave and self.wave_calls[wave] == event["waveBudget"]:
                # As dial::next_wave does: the next wave's execution, named as Start Next Wave
                # names it, started while this wave's lanes finish their last calls.
                name = f"{event['runId']}-w{event['wave'] + 1}"
                self.sfn.start_execution(
                    stateMachineArn=self.state_machine_arn, name=name,
                    input=json.dumps({"runId": event["runId"], "wave": event["wave"] + 1,
                                      "laneCalls": [event["waveBudget"]]}))
                self.early_starts.append(name)
            if not self.queue:
                raise FunctionFailure("QueueEmpty")
            call = self.queue.pop(0)
            if call == self.s.fail_call:
                raise FunctionFailure("InvalidInput", "unparseable contact")
            self.s.placed += 1
        if call not in self.s.silent_calls and self.s.complete_before_return:
            # SendTaskSuccess before the invocation returns: the task must still take it.
            self.sfn.send_task_success(taskToken=token, output=json.dumps(dict(event, calls=event["calls"] + 1)))
            return {"status": "completed", "contactId": f"c-{call}"}
        if call not in self.s.silent_calls:
            # The completer (process-contact-events or dial itself) sends the next lane state.
            nxt = dict(event, calls=event["calls"] + 1)
            threading.Timer(0.05, self.sfn.send_task_success, kwargs={"taskToken": token, "output": json.dumps(nxt)}).start()
        return {"status": "placed", "contactId": f"c-{call}"}


def install(functions: Functions) -> None:
    """Route the executor's Lambda invocations to the stand-ins."""

    def fake_invoke(parameters, region, state_credentials):  # noqa: ARG001 (signature of moto's)
        payload = json.loads(parameters["Payload"])
        try:
            result = functions.invoke(parameters["FunctionName"], payload)
            return {"StatusCode": 200, "Payload": result}
        except FunctionFailure as err:
            return {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": {"errorType": err.error_type, "errorMessage": err.message},
            }

    lambda_eval_utils._invoke_lambda_function = fake_invoke


def patch_moto_sdk_parameter_names() -> None:
    """Maps PascalCase task parameters onto the API's member names, as AWS and LocalStack do.

    AWS Step Functions takes PascalCase parameter names for every service integration
    ("StateMachineArn", "Input") and maps them onto the API's own members ("stateMachineArn",
    "input"). moto 5.2's port of the LocalStack executor keeps that mapping
    (StateTaskService._to_boto_request) but never calls it, so a startExecution task that is
    valid in AWS fails in moto with States.Runtime "'StateMachineArn'". The local stack's
    launcher must apply this same patch (see modules/dialer/README.md, "Checked in moto").
    """
    from botocore.session import get_session
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (
        StateTaskService,
    )

    session = get_session()
    original = StateTaskService._normalise_parameters

    def normalise(self, parameters, boto_service_name=None, service_action_name=None):
        original(self, parameters, boto_service_name, service_action_name)
        service = self._get_boto_service_name(boto_service_name)
        action = self._get_boto_service_action(service_action_name)
        model = session.get_service_model(service)
        names = {op.lower(): op for op in model.operation_names}
        operation = names.get(action.replace("_", ""))
        if operation is not None:
            self._to_boto_request(parameters, model.operation_model(operation).input_shape)

    StateTaskService._normalise_parameters = normalise


def run(definition: str, scenario: Scenario, deadline: float = 60.0):
    """Creates the table and state machine, starts one execution, waits for the whole chain."""
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        ddb = boto3.client("dynamodb", region_name=REGION)
        sfn = boto3.client("stepfunctions", region_name=REGION)
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        functions = Functions(scenario, sfn, ddb)
        install(functions)
        sm = sfn.create_state_machine(
            name="blaster-test-dialer",
            definition=definition,
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/blaster-test-state-machine",
        )["stateMachineArn"]
        functions.state_machine_arn = sm
        scenario.functions = functions
        sfn.start_execution(stateMachineArn=sm, name="upload-1", input=scenario.start_input)
        end = time.time() + deadline
        while time.time() < end:
            execs = sfn.list_executions(stateMachineArn=sm)["executions"]
            if execs and all(e["status"] != "RUNNING" for e in execs):
                time.sleep(0.3)  # a finishing execution may still be starting the next one
                again = sfn.list_executions(stateMachineArn=sm)["executions"]
                if len(again) == len(execs) and all(e["status"] != "RUNNING" for e in again):
                    break
            time.sleep(0.2)
        else:
            raise AssertionError("executions still running after the deadline")
        execs = sorted(sfn.list_executions(stateMachineArn=sm)["executions"], key=lambda e: e["startDate"])
        result = []
        for e in execs:
            events = sfn.get_execution_history(executionArn=e["executionArn"], maxResults=1000)["events"]
            described = sfn.describe_execution(executionArn=e["executionArn"])
            result.append({"name": described.get("name", ""), "status": described["status"], "events": events})
        run_item = ddb.get_item(TableName=TABLE, Key={"pk": {"S": "RUN"}}).get("Item")
        return result, run_item


def entered(events, name=None):
    states = []
    for ev in events:
        if ev["type"].endswith("StateEntered"):
            details = next(v for k, v in ev.items() if k.endswith("EnteredEventDetails"))
            states.append(details["name"])
    return [s for s in states if name is None or s == name]


def final_state(events):
    return entered(events)[-1]


CHECKS = []
DISTRIBUTED = False


def check(fn):
    CHECKS.append(fn)
    return fn


@check
def happy_path(defn):
    s = Scenario(contacts=6, lanes=2)
    execs, run_item = run(defn, s)
    assert len(execs) == 1, [e["name"] for e in execs]
    ev = execs[0]["events"]
    assert execs[0]["status"] == "SUCCEEDED", execs[0]
    assert final_state(ev) == "Run Finished", entered(ev)
    assert s.placed == 6
    assert run_item is None, "the RUN claim must be released"
    if DISTRIBUTED:
        # lanes run as child executions: the parent's history holds the map run, not the dials
        assert "Dial Next Contact" not in entered(ev)
        return f"6 contacts, 2 lanes as child executions; parent history: {len(entered(ev))} state entries"
    dials = entered(ev, "Dial Next Contact")
    # one entry per placed call plus the entry that found the queue empty, per lane
    assert len(dials) == s.placed + s.lanes, len(dials)
    total = len(entered(ev))
    return f"6 contacts, 2 lanes: {total} state entries, {len(dials)} in Dial Next Contact " \
           f"({(total) / s.placed:.2f} per contact at this tiny size)"


@check
def completion_before_dial_returns(defn):
    s = Scenario(contacts=3, lanes=1, complete_before_return=True, timeout_seconds=3)
    execs, _ = run(defn, s)
    ev = execs[0]["events"]
    assert final_state(ev) == "Run Finished", entered(ev)
    assert s.placed == 3 and s.reconciled == 0
    return "a token completed before dial returned is not lost (no timeout, no reconcile)"


@check
def budget_continues_as_new(defn):
    s = Scenario(contacts=7, lanes=2, budget=2)
    execs, run_item = run(defn, s)
    names = [e["name"] for e in execs]
    assert [e["status"] for e in execs] == ["SUCCEEDED"] * len(execs), names
    assert s.placed == 7, s.placed
    assert len(execs) == 3, names  # waves 0, 1, 2 (4 + 4 slots for 7 contacts, then empty)
    assert names[1] == "r-0001-w1" and names[2] == "r-0001-w2", names
    assert final_state(execs[0]["events"]) == "Wave Handed Over"
    assert final_state(execs[-1]["events"]) == "Run Finished"
    inputs = s.get_config_inputs
    # The wave's 4 calls, however its two lanes shared them.
    assert inputs[1]["runId"] == "r-0001" and inputs[1]["wave"] == 1 and sum(inputs[1]["laneCalls"]) == 4, inputs[1]
    assert run_item is None
    return f"executions {names}; get-config input of wave 1: {json.dumps({k: v for k, v in inputs[1].items() if k != 'execution'})}"


@check
def next_wave_started_by_dial_is_handed_over(defn):
    s = Scenario(contacts=7, lanes=2, budget=2, early_next_wave=True)
    execs, run_item = run(defn, s)
    names = [e["name"] for e in execs]
    assert [e["status"] for e in execs] == ["SUCCEEDED"] * len(execs), [(e["name"], e["status"]) for e in execs]
    assert s.functions.early_starts == ["r-0001-w1", "r-0001-w2"], s.functions.early_starts
    assert names == ["upload-1", "r-0001-w1", "r-0001-w2"], names
    assert s.placed == 7, s.placed
    for e in execs[:2]:
        # Start Next Wave found the execution dial had started: handed over, nothing released.
        assert final_state(e["events"]) == "Wave Handed Over", entered(e["events"])
        assert not entered(e["events"], "Release Failed Run"), entered(e["events"])
    assert final_state(execs[-1]["events"]) == "Run Finished"
    assert run_item is None
    return f"executions {names}, waves 1 and 2 started by dial; each Start Next Wave handed over"


@check
def stop_switch(defn):
    s = Scenario(contacts=10, lanes=2, stop_after_calls=3)
    execs, run_item = run(defn, s)
    assert len(execs) == 1
    assert final_state(execs[0]["events"]) == "Run Stopped", entered(execs[0]["events"])
    assert s.placed == 3
    assert run_item is None
    return "CampaignStopped ends every lane within one call, run released, Run Stopped"


@check
def inactive_at_start(defn):
    s = Scenario(active=False)
    execs, run_item = run(defn, s)
    assert entered(execs[0]["events"]) == ["Prepare Run", "Get Config", "Run Claimed?", "Release Stopped Run", "Run Stopped"]
    assert run_item is None and s.placed == 0
    return "activeBlaster False at start: released without dialing"


@check
def timeout_reconciles(defn):
    s = Scenario(contacts=3, lanes=1, timeout_seconds=1, silent_calls={2})
    execs, _ = run(defn, s)
    ev = execs[0]["events"]
    assert final_state(ev) == "Run Finished", entered(ev)
    assert s.reconciled == 1 and s.placed == 3
    if DISTRIBUTED:
        return "States.Timeout in a child execution -> Reconcile Call -> lane goes on"
    assert len(entered(ev, "Reconcile Call")) == 1
    timed_out = [e for e in ev if e["type"] == "TaskTimedOut"]
    assert len(timed_out) == 1, [e["type"] for e in ev]
    return "States.Timeout after TimeoutSecondsPath (1 s) -> Reconcile Call -> Dial Next Contact"


@check
def retry_then_dial(defn):
    s = Scenario(contacts=2, lanes=1, retryable_once=True)
    execs, _ = run(defn, s)
    ev = execs[0]["events"]
    assert final_state(ev) == "Run Finished"
    assert s.placed == 2
    failed = [e for e in ev if e["type"] == "TaskFailed"]
    assert failed and failed[0]["taskFailedEventDetails"]["error"] == "Retryable", failed
    return "errorType Retryable from the function is retried (FULL jitter) and the lane goes on"


@check
def lane_failure_releases(defn):
    s = Scenario(contacts=4, lanes=1, fail_call=2)
    execs, run_item = run(defn, s)
    assert execs[0]["status"] == "FAILED", execs[0]["status"]
    ev = execs[0]["events"]
    assert "Lane Failed" in entered(ev) and "Release Failed Run" in entered(ev)
    assert ev[-1]["executionFailedEventDetails"]["error"] == "RunFailed"
    assert run_item is None
    return "InvalidInput from dial -> Lane Failed -> Release Failed Run -> Run Failed (claim released)"


@check
def closed_queue_pauses(defn):
    # connect-status reports the next opening in whole seconds, strictly in the future
    opening = (datetime.now(timezone.utc) + timedelta(seconds=3)).replace(microsecond=0)
    s = Scenario(contacts=2, lanes=1, closed_until=opening)
    execs, _ = run(defn, s)
    names = [e["name"] for e in execs]
    pause = ["Prepare Run", "Get Config", "Run Claimed?", "Check Queue Hours", "Queue Open?", "Wait For Opening",
             "Resume After Pause", "Wave Handed Over"]
    # moto's Wait truncates the seconds to sleep (int()), so it wakes up to a second early and,
    # for the rest of that second, each new execution still finds the queue closed and pauses for
    # 0 s: a burst of short pauses that AWS (which waits until the timestamp) does not have.
    assert 2 <= len(execs) <= 40, names
    for e in execs[:-1]:
        assert entered(e["events"]) == pause, entered(e["events"])
    assert final_state(execs[-1]["events"]) == "Run Finished"
    assert s.placed == 2
    return "closed queue: Wait For Opening (TimestampPath) -> Resume After Pause -> next execution dials"


@check
def stragglers_continue_same_run(defn):
    s = Scenario(contacts=2, lanes=1, in_flight_rounds=1)
    execs, _ = run(defn, s, deadline=30)
    names = [e["name"] for e in execs]
    assert len(execs) == 2 and names[1] == "r-0001-w1", names
    assert "Wait For Stragglers" in entered(execs[0]["events"])
    return "contacts in flight at the end: the same run continues after Wait For Stragglers"


@check
def already_running(defn):
    s = Scenario()
    # A run held by another execution: the claim is taken just before get-config tries.
    orig = Functions.get_config

    def claimed_elsewhere(self, event):
        self.ddb.put_item(TableName=TABLE, Item={"pk": {"S": "RUN"}, "runId": {"S": "r-other"}})
        return orig(self, event)

    Functions.get_config = claimed_elsewhere
    try:
        execs, run_item = run(defn, s)
    finally:
        Functions.get_config = orig
    assert entered(execs[0]["events"]) == ["Prepare Run", "Get Config", "Run Claimed?", "Already Running"]
    assert run_item["runId"]["S"] == "r-other", "another run's claim must not be touched"
    return "claimed by another execution: Already Running, claim untouched"


@check
def idle_sweep_releases_without_lanes(defn):
    s = Scenario(idle=True, start_input=json.dumps({"source": "schedule"}))
    execs, run_item = run(defn, s)
    assert len(execs) == 1, [e["name"] for e in execs]
    assert entered(execs[0]["events"]) == ["Prepare Run", "Get Config", "Run Claimed?", "Release Finished Run",
                                           "Recount Contacts", "Contacts Arrived?", "Run Finished"], entered(execs[0]["events"])
    assert run_item is None and s.placed == 0
    assert s.get_config_inputs[0]["source"] == "schedule", s.get_config_inputs[0]
    return "a sweep with nothing due: 7 transitions, no lanes, run released"


@check
def due_contacts_go_to_the_next_wave_at_once(defn):
    s = Scenario(contacts=2, lanes=1, contacts_answers=[{"due": True}])
    execs, run_item = run(defn, s, deadline=30)
    names = [e["name"] for e in execs]
    assert len(execs) == 2 and names[1] == "r-0001-w1", names
    first = entered(execs[0]["events"])
    assert "Wait For Stragglers" not in first and "Wait For Due Contacts" not in first, first
    assert first[-3:] == ["Contacts In Flight?", "Start Next Wave", "Wave Handed Over"], first
    assert final_state(execs[1]["events"]) == "Run Finished" and run_item is None
    return "due now: Start Next Wave without waiting (the next wave's feeder sends them)"


@check
def redials_due_soon_are_waited_for(defn):
    s = Scenario(contacts=1, lanes=1, contacts_answers=[{"waitSeconds": 1}])
    execs, _ = run(defn, s, deadline=30)
    names = [e["name"] for e in execs]
    assert len(execs) == 2 and names[1] == "r-0001-w1", names
    first = entered(execs[0]["events"])
    assert first[-4:] == ["Contacts In Flight?", "Wait For Due Contacts", "Start Next Wave", "Wave Handed Over"], first
    return "due within DUE_WAIT_SECONDS: Wait For Due Contacts (SecondsPath) -> Start Next Wave"


@check
def recount_finds_contacts_due(defn):
    s = Scenario(contacts=1, lanes=1, contacts_answers=[{}, {"due": True}])
    execs, run_item = run(defn, s, deadline=30)
    assert len(execs) == 2, [e["name"] for e in execs]
    first = entered(execs[0]["events"])
    assert first[-4:] == ["Recount Contacts", "Contacts Arrived?", "Start Fresh Run", "Run Finished"], first
    assert final_state(execs[1]["events"]) == "Run Finished" and run_item is None
    return "due at the recount after the release: Start Fresh Run"


def main() -> int:
    patch_moto_sdk_parameter_names()
    failures = 0
    for label, path in (("inline", sys.argv[1]), ("distributed", sys.argv[2])):
        definition = open(path, encoding="utf-8").read()
        mode = json.loads(definition)["States"]["Dial Lanes"]["ItemProcessor"]["ProcessorConfig"]["Mode"]
        global DISTRIBUTED
        DISTRIBUTED = mode == "DISTRIBUTED"
        for fn in CHECKS:
            if label == "distributed" and fn.__name__ not in ("happy_path", "budget_continues_as_new", "next_wave_started_by_dial_is_handed_over", "timeout_reconciles"):
                continue
            try:
                note = fn(definition)
                print(f"ok   {label:<11} ({mode}) {fn.__name__}: {note}")
            except Exception as err:  # report every failing check, not just the first
                failures += 1
                print(f"FAIL {label:<11} ({mode}) {fn.__name__}: {type(err).__name__}: {err}")
    print(f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
