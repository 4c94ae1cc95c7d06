"""The Connect simulator, driven through boto3's connect client (the same REST-JSON the Rust SDK
sends), with its contact events going through moto's EventBridge to an SQS target.

Run: .venv/bin/python -m pytest -q local/tests/test_connect_sim.py
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

# `local` is the repository's package: importable however pytest is started.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from local.stack import ConnectSim, Launcher, http_json  # noqa: E402

REGION = "us-east-1"
INSTANCE = "11111111-2222-3333-4444-555555555555"
INSTANCE_ARN = f"arn:aws:connect:{REGION}:123456789012:instance/{INSTANCE}"
FLOW = "flow-outbound"
QUEUE = "queue-outbound"

# Calls last about a second: durations are simulated seconds times timeScale.
FAST = {
    "timeScale": 0.1,
    "ringSeconds": {"min": 2.0, "max": 5.0},
    "talkSeconds": {"min": 3.0, "max": 8.0},
    "busySeconds": {"min": 1.0, "max": 3.0},
    "failSeconds": {"min": 0.5, "max": 2.0},
    "ringTimeoutSeconds": 15.0,
    "quotaRate": 0,
}


@pytest.fixture(scope="module")
def stack():
    with Launcher() as moto:
        with ConnectSim(events_endpoint=moto.endpoint, config={"seed": 7}) as sim:
            yield moto, sim


@pytest.fixture()
def sim(stack):
    _, sim = stack
    sim.reset(config=True)
    return sim


def aws(endpoint: str, service: str):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        # No client-side retries: the test must see the simulator's own answers.
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def place(connect, number: str, token: str, **extra):
    return connect.start_outbound_voice_contact(
        InstanceId=INSTANCE, ContactFlowId=FLOW, QueueId=QUEUE, DestinationPhoneNumber=number,
        ClientToken=token, Attributes={"firstName": "Ann"}, **extra,
    )["ContactId"]


def numbers(n: int, start: int = 0) -> list[str]:
    return [f"+4477009{i:05d}" for i in range(start, start + n)]


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def disconnected_queue(moto: Launcher, name: str) -> str:
    """An SQS queue behind an EventBridge rule shaped like the deployed one."""
    sqs, events = aws(moto.endpoint, "sqs"), aws(moto.endpoint, "events")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=name, EventPattern=json.dumps({
        "source": ["aws.connect"],
        "detail-type": ["Amazon Connect Contact Event"],
        "detail": {"eventType": ["DISCONNECTED"], "instanceArn": [INSTANCE_ARN]},
    }))
    events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    return url


def drain(moto: Launcher, url: str) -> list[dict]:
    sqs = aws(moto.endpoint, "sqs")
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_same_client_token_same_contact_no_second_call(sim):
    connect = aws(sim.endpoint, "connect")
    first = place(connect, "+447700900123", "token-a")
    again = place(connect, "+447700900123", "token-a")
    other = place(connect, "+447700900123", "token-b")
    assert first == again and other != first
    stats = sim.stats()
    c = stats
    assert (c["callsReceived"], c["placed"], c["idempotentReplays"]) == (3, 2, 1)
    records = {r["contactId"]: r for r in stats["contacts"]}
    assert records[first]["requests"] == 2 and records[first]["clientToken"] == "token-a"
    assert records[first]["destinationMasked"] == "+44*******123"
    assert records[first]["attributes"] == {"firstName": "Ann"}
    assert "447700900123" not in json.dumps(stats), "the number never appears in clear"
    assert stats["destinationsDialedMoreThanOnce"] == 1


def test_quota_answers_429_too_many_requests(sim):
    sim.configure(quotaRate=2, quotaBurst=5)
    connect = aws(sim.endpoint, "connect")

    def attempt(i_n):
        i, n = i_n
        try:
            return place(connect, n, f"q-{i}")
        except ClientError as e:
            assert e.response["Error"]["Code"] == "TooManyRequestsException"
            assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 429
            return None

    started = time.monotonic()
    with ThreadPoolExecutor(12) as ex:
        results = list(ex.map(attempt, enumerate(numbers(12))))
    elapsed = time.monotonic() - started
    placed = [r for r in results if r]
    # The burst of 5, plus what refilled at 2/s while the requests were in flight.
    assert 5 <= len(placed) <= 5 + int(2 * elapsed) + 1, (len(placed), elapsed)
    assert len(placed) < 12, "some requests were throttled"
    time.sleep(1.1)
    assert place(connect, "+447700999001", "after-refill")
    c = sim.stats(contacts=False)
    assert c["throttled"] == 12 - len(placed)
    assert c["placed"] == len(placed) + 1
    assert len(set(placed)) == len(placed)


def test_sustained_rate_stays_at_the_quota(sim):
    sim.configure(quotaRate=4, quotaBurst=2, **{k: v for k, v in FAST.items() if k != "quotaRate"})
    connect = aws(sim.endpoint, "connect")
    pending = numbers(40, start=100)
    started = time.monotonic()

    def lane(nums):
        for i, n in enumerate(nums):
            while True:
                try:
                    place(connect, n, f"rate-{n}")
                    break
                except ClientError as e:
                    assert e.response["Error"]["Code"] == "TooManyRequestsException"
                    time.sleep(0.05)

    with ThreadPoolExecutor(4) as ex:
        list(ex.map(lane, [pending[i::4] for i in range(4)]))
    elapsed = time.monotonic() - started
    stats = sim.stats(contacts=False)
    assert stats["placed"] == 40 and stats["destinationsDialedMoreThanOnce"] == 0
    # 2 from the burst, then 4/s: 38 more need 9.5 s; never faster than the quota allows.
    assert elapsed >= 9.0, elapsed
    assert elapsed < 16.0, f"{elapsed:.1f} s: well below the quota"
    assert stats["throttled"] > 0


def test_invalid_requests(sim):
    connect = aws(sim.endpoint, "connect")
    with pytest.raises(ClientError) as e:
        place(connect, "07700 900123", "bad-number")
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as e:
        connect.describe_contact(InstanceId=INSTANCE, ContactId="no-such-contact")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert sim.stats(contacts=False)["rejected"] == 1


def test_call_lifecycle_through_describe_contact(sim):
    sim.configure(answerRate=1.0, busyRate=0.0, failRate=0.0, timeScale=1.0,
                  ringSeconds={"min": 0.5, "max": 0.5}, talkSeconds={"min": 1.0, "max": 1.0})
    connect = aws(sim.endpoint, "connect")
    cid = place(connect, "+447700900555", "life")
    ringing = connect.describe_contact(InstanceId=INSTANCE, ContactId=cid)["Contact"]
    assert ringing["Id"] == cid and ringing["InitiationMethod"] == "API" and ringing["Channel"] == "VOICE"
    assert "ConnectedToSystemTimestamp" not in ringing and "DisconnectTimestamp" not in ringing
    assert ringing["QueueInfo"]["Id"] == QUEUE
    assert sim.stats(contacts=False)["inProgress"] == 1
    time.sleep(0.8)
    talking = connect.describe_contact(InstanceId=INSTANCE, ContactId=cid)["Contact"]
    assert "ConnectedToSystemTimestamp" in talking and "DisconnectTimestamp" not in talking
    ended = wait_for(lambda: "DisconnectTimestamp" in (c := connect.describe_contact(
        InstanceId=INSTANCE, ContactId=cid)["Contact"]) and c, what="the hang-up")
    assert ended["DisconnectReason"] == "CUSTOMER_DISCONNECT"
    length = (ended["DisconnectTimestamp"] - ended["InitiationTimestamp"]).total_seconds()
    assert 1.3 <= length <= 2.5, length
    attrs = connect.get_contact_attributes(InstanceId=INSTANCE, InitialContactId=cid)["Attributes"]
    assert attrs == {"firstName": "Ann"}
    stats = sim.stats()
    assert stats["inProgress"] == 0 and stats["outcomes"] == {"connected": 1}


def test_queue_status_and_hours(sim):
    connect = aws(sim.endpoint, "connect")
    queue = connect.describe_queue(InstanceId=INSTANCE, QueueId=QUEUE)["Queue"]
    assert queue["Status"] == "ENABLED" and queue["QueueId"] == QUEUE
    hours = connect.describe_hours_of_operation(
        InstanceId=INSTANCE, HoursOfOperationId=queue["HoursOfOperationId"])["HoursOfOperation"]
    assert hours["TimeZone"] == "UTC" and len(hours["Config"]) == 7
    assert hours["Config"][0]["StartTime"] == {"Hours": 0, "Minutes": 0}

    http_json("POST", f"{sim.endpoint}/_sim/queue/status", {"status": "DISABLED", "forSeconds": 1.5})
    assert connect.describe_queue(InstanceId=INSTANCE, QueueId=QUEUE)["Queue"]["Status"] == "DISABLED"
    place(connect, "+447700900777", "while-disabled")
    time.sleep(1.6)
    assert connect.describe_queue(InstanceId=INSTANCE, QueueId=QUEUE)["Queue"]["Status"] == "ENABLED"

    before = datetime.datetime.now(datetime.timezone.utc)
    answer = http_json("POST", f"{sim.endpoint}/_sim/hours/closed-for", {"seconds": 90})
    opens = datetime.datetime.fromisoformat(answer["opensAt"])
    assert before + datetime.timedelta(seconds=90) <= opens <= before + datetime.timedelta(seconds=151)
    assert opens.second == 0, "Connect hours have minute resolution"
    closed = connect.describe_hours_of_operation(
        InstanceId=INSTANCE, HoursOfOperationId=queue["HoursOfOperationId"])["HoursOfOperation"]
    slot = closed["Config"][0]
    assert (slot["StartTime"]["Hours"], slot["StartTime"]["Minutes"]) == (opens.hour, opens.minute)
    place(connect, "+447700900778", "while-closed")
    records = {r["clientToken"]: r for r in sim.stats()["contacts"]}
    assert records["while-disabled"]["placedWhileDisabled"] is True
    assert records["while-closed"]["placedWhileClosed"] is True
    assert records["while-disabled"]["placedWhileClosed"] is False
    with pytest.raises(ClientError) as e:
        connect.describe_hours_of_operation(InstanceId=INSTANCE, HoursOfOperationId="other-hours")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_effective_hours_with_a_holiday_override(sim):
    connect = aws(sim.endpoint, "connect")
    hours_id = connect.describe_queue(InstanceId=INSTANCE, QueueId=QUEUE)["Queue"]["HoursOfOperationId"]
    today = datetime.datetime.now(datetime.timezone.utc).date()
    span = {"FromDate": (today - datetime.timedelta(days=1)).isoformat(),
            "ToDate": (today + datetime.timedelta(days=1)).isoformat()}
    added = http_json("POST", f"{sim.endpoint}/_sim/hours/overrides",
                      {"Name": "Holiday", "EffectiveFrom": today.isoformat(), "EffectiveTill": today.isoformat()})
    effective = connect.get_effective_hours_of_operations(
        InstanceId=INSTANCE, HoursOfOperationId=hours_id, **span)
    assert effective["TimeZone"] == "UTC"
    days = {d["Date"]: d.get("OperationalHours", []) for d in effective["EffectiveHoursOfOperationList"]}
    assert list(days) == [span["FromDate"], today.isoformat(), span["ToDate"]]
    assert days[today.isoformat()] == [], "the holiday is closed"
    assert days[span["ToDate"]] == [{"Start": {"Hours": 0, "Minutes": 0}, "End": {"Hours": 0, "Minutes": 0}}]
    assert [d["Date"] for d in effective["EffectiveOverrideHoursList"]] == [today.isoformat()]
    # The weekly configuration does not show overrides; a call placed now is counted as closed.
    weekly = connect.describe_hours_of_operation(InstanceId=INSTANCE, HoursOfOperationId=hours_id)
    assert "Overrides" not in weekly["HoursOfOperation"] and len(weekly["HoursOfOperation"]["Config"]) == 7
    place(connect, "+447700900779", "on-holiday")
    assert {r["clientToken"]: r for r in sim.stats()["contacts"]}["on-holiday"]["placedWhileClosed"] is True
    with pytest.raises(ClientError) as e:
        connect.get_effective_hours_of_operations(
            InstanceId=INSTANCE, HoursOfOperationId=hours_id, FromDate=span["ToDate"], ToDate=span["FromDate"])
    assert e.value.response["Error"]["Code"] == "InvalidParameterException"
    oid = added["override"]["HoursOfOperationOverrideId"]
    assert http_json("DELETE", f"{sim.endpoint}/_sim/hours/overrides/{oid}") == {"removed": 1}
    effective = connect.get_effective_hours_of_operations(
        InstanceId=INSTANCE, HoursOfOperationId=hours_id, **span)
    assert all(d.get("OperationalHours") for d in effective["EffectiveHoursOfOperationList"])


def test_peak_concurrency(sim):
    sim.configure(**FAST, answerRate=1.0, busyRate=0.0, failRate=0.0)
    connect = aws(sim.endpoint, "connect")
    for i, n in enumerate(numbers(6, start=300)):
        place(connect, n, f"peak-{i}")
    assert sim.stats(contacts=False)["inProgress"] == 6
    wait_for(lambda: sim.stats(contacts=False)["inProgress"] == 0, what="every call to end")
    stats = sim.stats(contacts=False)
    assert stats["peakConcurrency"] == 6 and stats["ended"] == 6


def test_events_reach_an_eventbridge_rule_with_an_sqs_target(stack, sim):
    moto, _ = stack
    url = disconnected_queue(moto, "disconnected-all")
    sim.configure(**FAST)
    connect = aws(sim.endpoint, "connect")
    ids = [place(connect, n, f"ev-{i}") for i, n in enumerate(numbers(20, start=500))]
    wait_for(lambda: sim.stats(contacts=False)["eventsSent"] == 20, what="20 events sent")
    got = drain(moto, url)
    assert sorted(e["detail"]["contactId"] for e in got) == sorted(ids)
    records = {r["contactId"]: r for r in sim.stats()["contacts"]}
    for e in got:
        assert e["source"] == "aws.connect" and e["detail-type"] == "Amazon Connect Contact Event"
        d = e["detail"]
        rec = records[d["contactId"]]
        assert d["eventType"] == "DISCONNECTED" and d["instanceArn"] == INSTANCE_ARN
        assert d["initiationMethod"] == "API" and d["channel"] == "VOICE"
        assert d["disconnectReason"] == rec["disconnectReason"]
        # The fields the dialer's outcome mapping reads tell the simulated outcome.
        assert ("connectedToSystemTimestamp" in d) == (rec["outcome"] == "connected")
        expected = {"connected": "CUSTOMER_DISCONNECT", "no_answer": "TELECOM_UNANSWERED",
                    "busy": "TELECOM_BUSY", "failed": "TELECOM_PROBLEM"}[rec["outcome"]]
        assert d["disconnectReason"] == expected
        assert d["initiationTimestamp"] <= d["disconnectTimestamp"]
    assert len({r["outcome"] for r in records.values()}) >= 3, "a mix of outcomes"


def test_dropped_and_duplicated_events(stack, sim):
    moto, _ = stack
    url = disconnected_queue(moto, "disconnected-lossy")
    sim.configure(**FAST, dropEventShare=0.3, duplicateEventShare=0.2, duplicateDelaySeconds=0.1)
    connect = aws(sim.endpoint, "connect")
    ids = [place(connect, n, f"lossy-{i}") for i, n in enumerate(numbers(60, start=700))]
    wait_for(lambda: sim.stats(contacts=False)["ended"] == 60, what="every call to end")
    stats = wait_for(lambda: (s := sim.stats())["eventsSent"] + s["eventsFailed"]
                     == 60 - s["eventsDropped"] + s["eventsDuplicated"] and s,
                     what="every delivery")
    c = stats
    assert c["eventsFailed"] == 0
    assert 8 <= c["eventsDropped"] <= 30 and 4 <= c["eventsDuplicated"] <= 22, c
    got = drain(moto, url)
    per_contact: dict[str, int] = {}
    for e in got:
        per_contact[e["detail"]["contactId"]] = per_contact.get(e["detail"]["contactId"], 0) + 1
    for rec in stats["contacts"]:
        expected = 0 if rec["eventDropped"] else 2 if rec["eventDuplicated"] else 1
        assert per_contact.get(rec["contactId"], 0) == expected, rec["contactId"]
    assert set(per_contact) <= set(ids)
    # A dropped event's call still ended: DescribeContact (the reconcile path) tells it.
    dropped = next(r for r in stats["contacts"] if r["eventDropped"])
    described = aws(sim.endpoint, "connect").describe_contact(InstanceId=INSTANCE, ContactId=dropped["contactId"])
    assert described["Contact"]["DisconnectReason"] == dropped["disconnectReason"]


def test_same_seed_same_outcomes(sim):
    sim.configure(**FAST, seed=99)
    connect = aws(sim.endpoint, "connect")
    first = {n: None for n in numbers(15, start=900)}
    for i, n in enumerate(first):
        place(connect, n, f"seed-a-{i}")
    a = {r["destinationHash"]: r["outcome"] for r in sim.stats()["contacts"]}
    sim.reset()
    for i, n in enumerate(reversed(list(first))):
        place(connect, n, f"seed-b-{i}")
    b = {r["destinationHash"]: r["outcome"] for r in sim.stats()["contacts"]}
    assert a == b


def test_stop_contact_ends_the_call_now(stack, sim):
    moto, _ = stack
    url = disconnected_queue(moto, "disconnected-stop")
    sim.configure(answerRate=1.0, busyRate=0.0, failRate=0.0, timeScale=1.0,
                  ringSeconds={"min": 30.0, "max": 30.0})
    connect = aws(sim.endpoint, "connect")
    cid = place(connect, "+447700901999", "stop-me")
    connect.stop_contact(InstanceId=INSTANCE, ContactId=cid)
    contact = connect.describe_contact(InstanceId=INSTANCE, ContactId=cid)["Contact"]
    assert contact["DisconnectReason"] == "API" and "ConnectedToSystemTimestamp" not in contact
    got = wait_for(lambda: drain(moto, url), what="the DISCONNECTED event")
    assert got[0]["detail"]["contactId"] == cid


def test_unknown_operations_are_visible(sim):
    with pytest.raises(Exception):
        http_json("GET", f"{sim.endpoint}/users/{INSTANCE}")
    assert sim.stats(contacts=False)["unknownRequests"] == 1


def test_config_validation(sim):
    with pytest.raises(Exception):
        http_json("POST", f"{sim.endpoint}/_sim/config", {"answerRate": 2})
    cfg = http_json("GET", f"{sim.endpoint}/_sim/config")
    assert cfg["answerRate"] == 0.7 and cfg["eventsEndpoint"].startswith("http://127.0.0.1:")
