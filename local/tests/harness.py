"""The local stack as one object: moto + real functions (launcher), the Connect simulator, and
`terraform apply` of `examples/local` against them. Used by the end-to-end tests and `make demo`.

Test infrastructure only: nothing here is deployed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402

from local.stack import ARTIFACTS, ConnectSim, Launcher, ensure_local_build, free_port  # noqa: E402

EXAMPLE = ROOT / "examples" / "local"
REGION = "us-east-1"


def ensure_built() -> None:
    """The zips Terraform uploads and the simulator binary, built if missing or stale."""
    ensure_local_build()


def terraform_env() -> dict[str, str]:
    """TF_CLI_CONFIG_FILE from scripts/lib.sh (the offline provider mirror when there is one)."""
    env = dict(os.environ)
    if not env.get("TF_CLI_CONFIG_FILE") or not Path(env["TF_CLI_CONFIG_FILE"]).exists():
        out = subprocess.run(["bash", "-c", "source scripts/lib.sh && ensure_terraform && echo $TF_CLI_CONFIG_FILE"],
                             cwd=ROOT, check=True, capture_output=True, text=True)
        env["TF_CLI_CONFIG_FILE"] = out.stdout.strip().splitlines()[-1]
    env["TF_IN_AUTOMATION"] = "1"
    env["CHECKPOINT_DISABLE"] = "1"
    return env


@dataclass
class Deployment:
    """`examples/local` applied against the launcher; state kept in a temporary directory."""

    moto_endpoint: str
    variables: dict[str, Any] = field(default_factory=dict)
    log: Callable[[str], None] = print
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="tf-local-"))
    outputs: dict[str, Any] = field(default_factory=dict)

    def _tf(self, *args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
        env = terraform_env()
        env["TF_DATA_DIR"] = os.path.join(self.workdir, ".terraform")
        cmd = ["terraform", f"-chdir={EXAMPLE}", *args]
        res = subprocess.run(cmd, env=env, capture_output=True, text=True)
        if res.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])} failed:\n{res.stdout[-4000:]}\n{res.stderr[-4000:]}")
        return res

    def _var_args(self) -> list[str]:
        merged = {"moto_endpoint": self.moto_endpoint, "lambda_artifacts_dir": str(ARTIFACTS), **self.variables}
        path = os.path.join(self.workdir, "local.auto.tfvars.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(merged, f)
        return [f"-var-file={path}", f"-state={os.path.join(self.workdir, 'terraform.tfstate')}"]

    def apply(self) -> dict[str, Any]:
        start = time.monotonic()
        self._tf("init", "-input=false", "-no-color", "-backend=false")
        self._tf("apply", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", *self._var_args())
        out = self._tf("output", "-json", f"-state={os.path.join(self.workdir, 'terraform.tfstate')}")
        self.outputs = {k: v["value"] for k, v in json.loads(out.stdout).items()}
        self.log(f"terraform apply of examples/local: {len(self.outputs)} outputs in {time.monotonic() - start:.0f} s")
        return self.outputs

    def destroy(self) -> None:
        start = time.monotonic()
        self._tf("destroy", "-auto-approve", "-input=false", "-no-color", "-parallelism=20", *self._var_args())
        self.log(f"terraform destroy: {time.monotonic() - start:.0f} s")


class Stack:
    """Launcher + simulator + deployment, with boto3 clients pointed at moto."""

    def __init__(self, sim_config: dict[str, Any] | None = None, variables: dict[str, Any] | None = None,
                 log: Callable[[str], None] = print, destroy_on_exit: bool = True):
        self.sim_config = {"timeScale": 0.05, "quotaRate": 2.0, "quotaBurst": 5.0, "seed": 7, **(sim_config or {})}
        self.variables = variables or {}
        self.log = log
        # The tests destroy what they applied, so `terraform destroy` stays tested; the demo may
        # skip it (stopping moto discards everything anyway).
        self.destroy_on_exit = destroy_on_exit
        self.launcher: Launcher | None = None
        self.sim: ConnectSim | None = None
        self.deployment: Deployment | None = None

    def __enter__(self) -> Stack:
        ensure_built()
        # The launcher hands the simulator's endpoint to the functions it starts, and the simulator
        # sends events to the launcher: the simulator's port is chosen first, the launcher's is
        # any free one.
        sim_port = free_port(5300, 5399)
        sim_endpoint = f"http://127.0.0.1:{sim_port}"
        self.launcher = Launcher(connect_endpoint=sim_endpoint).__enter__()
        self.sim = ConnectSim(port=sim_port, events_endpoint=self.launcher.endpoint,
                              config=self.sim_config).__enter__()
        self.log(f"moto + functions on {self.launcher.endpoint}, Connect simulator on {self.sim.endpoint}")
        self.deployment = Deployment(self.launcher.endpoint, self.variables, self.log)
        try:
            self.deployment.apply()
        except Exception:
            self.__exit__(None, None, None)
            raise
        cfg = Config(retries={"max_attempts": 8, "mode": "standard"})
        kw = dict(endpoint_url=self.launcher.endpoint, region_name=REGION, aws_access_key_id="testing",
                  aws_secret_access_key="testing", config=cfg)
        self.s3 = boto3.client("s3", **kw)
        self.sqs = boto3.client("sqs", **kw)
        self.sfn = boto3.client("stepfunctions", **kw)
        self.ssm = boto3.client("ssm", **kw)
        self.ddb = boto3.client("dynamodb", **kw)
        self.lambda_ = boto3.client("lambda", **kw)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.destroy_on_exit and self.deployment and self.deployment.outputs and os.environ.get("KEEP_STACK") != "1":
            try:
                self.deployment.destroy()
            except Exception as err:  # a failed destroy must not hide the test's own failure
                self.log(f"terraform destroy failed: {err}")
        for proc in (self.sim, self.launcher):
            if proc:
                proc.stop()

    @property
    def out(self) -> dict[str, Any]:
        assert self.deployment
        return self.deployment.outputs

    # ----- operations

    def param(self, name: str) -> str:
        return self.ssm.get_parameter(Name=self.out["ssm_prefix"] + name)["Parameter"]["Value"]

    def set_param(self, name: str, value: str) -> None:
        self.ssm.put_parameter(Name=self.out["ssm_prefix"] + name, Value=value, Overwrite=True)

    def upload_csv(self, key: str, body: str | bytes) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.s3.put_object(Bucket=self.out["input_bucket_name"], Key=key, Body=data)

    def start_run(self) -> str:
        """What an operator does to resume: start an execution (the claim makes it safe)."""
        # Named as AWS would (a random id): moto names an unnamed execution "None", so a second
        # start in the same deployment would collide with the first.
        return self.sfn.start_execution(stateMachineArn=self.out["state_machine_arn"], name=f"run-{uuid.uuid4().hex}",
                                        input="{}")["executionArn"]

    def invoke(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        name = self.out["lambda_function_names"].get(function) or function
        res = self.lambda_.invoke(FunctionName=name, Payload=json.dumps(payload).encode())
        body = json.loads(res["Payload"].read() or b"null")
        if res.get("FunctionError"):
            raise RuntimeError(f"{function} failed: {body}")
        return body

    def queue_counts(self) -> dict[str, int]:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.out["queue_url"], AttributeNames=["All"])["Attributes"]
        dlq = self.sqs.get_queue_attributes(QueueUrl=self.out["dead_letter_queue_url"],
                                            AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
        return {"available": int(attrs.get("ApproximateNumberOfMessages", 0)),
                "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
                "dead_lettered": int(dlq.get("ApproximateNumberOfMessages", 0))}

    def executions(self) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("list_executions").paginate(stateMachineArn=self.out["state_machine_arn"])
        return [e for p in pages for e in p["executions"]]

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        pages = self.sfn.get_paginator("get_execution_history").paginate(executionArn=execution_arn)
        return [e for p in pages for e in p["events"]]

    def list_objects(self, bucket: str, prefix: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        return [o["Key"] for p in pages for o in p.get("Contents", [])]

    def read_jsonl(self, bucket: str, prefix: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for key in self.list_objects(bucket, prefix):
            body = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode("utf-8")
            rows += [json.loads(line) for line in body.splitlines() if line.strip()]
        return rows

    def results(self, campaign: str) -> list[dict[str, Any]]:
        return self.read_jsonl(self.out["results_bucket_name"], f"results/campaign={campaign}/")

    def finals(self, campaign: str) -> list[dict[str, Any]]:
        """The final records: one per loaded contact once it is final."""
        return self.read_jsonl(self.out["results_bucket_name"], f"finals/campaign={campaign}/")

    def campaign_ledger_items(self, campaign: str) -> list[dict[str, Any]]:
        """The campaign's contact items in the campaign ledger, as plain values."""
        pages = self.ddb.get_paginator("scan").paginate(
            TableName=self.out["campaign_ledger_table_name"],
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": f"CONTACT#{campaign}#"}})
        items = []
        for page in pages:
            for item in page["Items"]:
                items.append({k: next(iter(v.values())) for k, v in item.items()})
        return items

    def do_not_call_items(self) -> list[dict[str, Any]]:
        """The do-not-call list's items (`DNC#<key>`) in the campaign ledger's table."""
        pages = self.ddb.get_paginator("scan").paginate(
            TableName=self.out["campaign_ledger_table_name"],
            FilterExpression="begins_with(pk, :p)",
            ExpressionAttributeValues={":p": {"S": "DNC#"}})
        return [{k: next(iter(v.values())) for k, v in item.items()} for page in pages for item in page["Items"]]

    def rejects(self, campaign: str) -> list[dict[str, Any]]:
        return self.read_jsonl(self.out["results_bucket_name"], f"rejects/campaign={campaign}/")

    def sim_calls(self, campaign: str | None = None) -> list[dict[str, Any]]:
        assert self.sim
        calls = self.sim.stats().get("contacts", [])
        if campaign is None:
            return calls
        return [c for c in calls if c.get("attributes", {}).get("campaign") == campaign]

    # ----- following a campaign

    def ready_for_next_test(self, concurrent_calls: int = 5) -> None:
        """What every campaign test starts from: no run in progress, the switch on, its lanes."""
        self.wait_until_idle("__none__", timeout=600, settle=1.0)
        self.set_param("activeBlaster", "True")
        self.set_param("concurrentcalls", str(concurrent_calls))

    def wait_until_idle(self, campaign: str, expected_results: int | None = None, timeout: float = 900,
                        progress: Callable[[str], None] | None = None, settle: float = 3.0) -> float:
        """Waits until no execution runs, the queue is empty and the results stop growing.

        Returns the wall time. Raises TimeoutError with the state it saw.
        """
        start = time.monotonic()
        quiet_since: float | None = None
        last = ""
        while True:
            elapsed = time.monotonic() - start
            running = sum(1 for e in self.executions() if e["status"] == "RUNNING")
            q = self.queue_counts()
            n_results = len(self.list_objects(self.out["results_bucket_name"], f"results/campaign={campaign}/"))
            calls = len(self.sim_calls(campaign))
            state = (f"[{elapsed:5.0f}s] calls placed {calls:5d}  results {n_results:5d}"
                     f"{'/' + str(expected_results) if expected_results is not None else ''}"
                     f"  queued {q['available']:5d}  in flight {q['in_flight']:3d}  executions running {running}")
            if progress and state[9:] != last:
                progress(state)
                last = state[9:]
            done = running == 0 and q["available"] == 0 and q["in_flight"] == 0
            if expected_results is not None:
                done = done and n_results >= expected_results
            if done:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= settle:
                    return time.monotonic() - start
            else:
                quiet_since = None
            if elapsed > timeout:
                raise TimeoutError(f"campaign {campaign} not idle after {timeout:.0f} s: {state}\n"
                                   + self.diagnose(campaign))
            time.sleep(1.0)

    def diagnose(self, campaign: str) -> str:
        """What a stuck campaign looks like: each simulated call without a results record, with its
        ledger items and the function log lines that name it, so a failure in CI can be read."""
        try:
            recorded = {r["contact_key"] for r in self.results(campaign)}
            lines = []
            for call in self.sim_calls(campaign):
                key = call.get("attributes", {}).get("contactKey")
                if key in recorded:
                    continue
                cid = call.get("contactId", "")
                sim = {k: v for k, v in call.items() if k not in ("attributes", "destination")}
                lines.append(f"call without a results record: contactKey={key} simulator={json.dumps(sim)}")
                for item in self.ledger_items(cid, key):
                    lines.append(f"  ledger {json.dumps(item, sort_keys=True)}")
                for name in ("dial", "process-contact-events", "connect-status"):
                    function = self.out["lambda_function_names"].get(name, name)
                    for line in self.launcher.function_log(function).splitlines():
                        if cid and cid in line:
                            lines.append(f"  {name}: {line[:400]}")
            return "\n".join(lines) or "every simulated call has a results record"
        except Exception as err:  # a diagnosis must not hide the timeout it explains
            return f"(diagnosis failed: {err!r})"

    def ledger_items(self, contact_id: str, contact_key: str | None) -> list[dict[str, Any]]:
        """The ActiveDialing items of one call: CONTACT#, DIAL#…#key and the LANE# pointing at it."""
        items = []
        pages = self.ddb.get_paginator("scan").paginate(TableName=self.out["table_name"])
        for page in pages:
            for raw in page["Items"]:
                item = {k: next(iter(v.values())) for k, v in raw.items()}
                item.pop("taskToken", None)
                pk = str(item.get("pk", ""))
                if (pk == f"CONTACT#{contact_id}" or (contact_key and pk.endswith(f"#{contact_key}"))
                        or (pk.startswith("LANE#") and item.get("contactId") == contact_id)):
                    items.append(item)
        return items


def transitions(stack: Stack, since: float = 0.0) -> dict[str, Any]:
    """Billed state transitions and history sizes over every execution started after `since`.

    Step Functions bills one transition per state entered (Map iterations included); we count the
    `*StateEntered` history events, which is the same number.
    """
    entered = 0
    largest = 0
    largest_arn = ""
    count = 0
    for e in stack.executions():
        if e["startDate"].timestamp() < since:
            continue
        events = stack.history(e["executionArn"])
        count += 1
        entered += sum(1 for ev in events if ev["type"].endswith("StateEntered"))
        if len(events) > largest:
            largest, largest_arn = len(events), e["executionArn"]
    return {"executions": count, "state_transitions": entered, "largest_history": largest,
            "largest_history_execution": largest_arn}


def dialed_per_attempt(calls: list[dict[str, Any]]) -> Counter[tuple[str, str]]:
    """How many distinct Connect contacts each (contact key, attempt) produced: more than one is
    a contact dialed twice for the same attempt."""
    per: Counter[tuple[str, str]] = Counter()
    for c in calls:
        attrs = c.get("attributes", {})
        per[(attrs.get("contactKey") or c.get("destinationHash"), attrs.get("attempt", "1"))] += 1
    return per


def dialed_per_contact(calls: list[dict[str, Any]]) -> Counter[str]:
    """How many distinct Connect contacts each dialer contact key produced."""
    per: Counter[str] = Counter()
    for c in calls:
        key = c.get("attributes", {}).get("contactKey") or c.get("destinationHash")
        per[key] += 1
    return per


WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]


def window_around(now: datetime, before: timedelta, after: timedelta) -> tuple[str, dict[str, Any]]:
    """A `calling_window` for examples/local open every day from `before` to `after` around
    `now`'s time of day in UTC (split in two when it crosses midnight), and its opening time
    HH:MM. A recipient whose UTC offset is within (-before, +after) is inside it for a while;
    one further away is outside it, deferred to when its clock reads the opening time."""
    start = (now - before).strftime("%H:%M")
    end = (now + after + timedelta(minutes=1)).strftime("%H:%M")
    if start < end:
        ranges = [{"start": start, "end": end}]
    else:
        ranges = [{"start": start, "end": "24:00"}]
        if end != "00:00":
            ranges.append({"start": "00:00", "end": end})
    return start, {"days": {day: ranges for day in WEEKDAYS}}


def contacts_csv(n: int, bad_every: int = 0, start: int = 0) -> str:
    """A generated list of n valid contacts (London drama range +44 20 7946 0xxx and US 555-01xx),
    with every `bad_every`-th row replaced by an invalid number."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["custID", "phone", "firstName"])
    for i in range(start, start + n):
        if bad_every and (i - start + 1) % bad_every == 0:
            w.writerow([f"C{i:06d}", "+44123", f"Bad{i}"])
            continue
        if i % 2 == 0:
            phone = f"+44207946{i % 1000:04d}"
        else:
            phone = f"+1212555{100 + i % 100:04d}"
        w.writerow([f"C{i:06d}", phone, f"Name{i}"])
    return buf.getvalue()
