"""The built caller-id binary behind a local Lambda Runtime API, against moto S3.

Self-contained: starts moto (MOTO_ENDPOINT when set, else its own on CALLER_ID_MOTO_PORT,
default 5102), uploads sample-files/routing.json, starts the release `bootstrap` with the
environment Lambda would give it, invokes it with every event in
tests/fixtures/connect-events/ and compares each answer with expected/answers.json.

Why the Runtime API emulator (local/runtime.py's `LocalFunction`) rather than `cargo lambda watch`:
watch compiles and runs a debug build of the crate, which is neither the artifact that ships nor
fast to start; the emulator runs the exact release binary in a few milliseconds.

Run: `.venv/bin/pytest local/tests/test_caller_id_binary.py` (builds the binary if missing).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from caller_id_harness import (  # noqa: E402
    ROOT,
    bootstrap_path,
    function_env,
    Moto,
    routing_bucket,
)

from local.runtime import LocalFunction  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "connect-events"
EXPECTED = json.loads((FIXTURES / "expected" / "answers.json").read_text())
SAMPLE_ROUTING = (ROOT / "sample-files" / "routing.json").read_bytes()
KEY = "routing/routing.json"


@pytest.fixture(scope="module")
def bootstrap() -> Path:
    return bootstrap_path()


@pytest.fixture(scope="module")
def moto():
    server = Moto(int(os.environ.get("CALLER_ID_MOTO_PORT", "5102")))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bucket(moto) -> str:
    return routing_bucket(moto, "caller-id-e2e", KEY, SAMPLE_ROUTING)


class Function:
    """One running bootstrap process with its own Runtime API."""

    def __init__(self, bootstrap: Path, moto: Moto, bucket: str, key: str, ttl: int, tmp: Path):
        self.fn = LocalFunction()
        self.log_path = tmp / f"caller-id-{uuid.uuid4().hex[:6]}.log"
        self.proc = self.fn.start(bootstrap, function_env(moto.endpoint, bucket, key, ttl), self.log_path)

    def invoke(self, event) -> dict:
        inv = self.fn.invoke(event)
        assert inv.ok, f"function error: {inv.answer}\n{self.log()}"
        return inv.answer

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def close(self):
        self.fn.close()


@pytest.fixture(scope="module")
def function(bootstrap, moto, bucket, tmp_path_factory):
    fn = Function(bootstrap, moto, bucket, KEY, 60, tmp_path_factory.mktemp("fn"))
    yield fn
    fn.close()


@pytest.mark.parametrize("fixture", sorted(EXPECTED))
def test_fixture_answers(function, fixture):
    event = json.loads((FIXTURES / fixture).read_text())
    assert function.invoke(event) == EXPECTED[fixture]


def test_every_fixture_has_an_expected_answer():
    files = {p.name for p in FIXTURES.glob("*.json")}
    assert files == set(EXPECTED), files ^ set(EXPECTED)


@pytest.mark.parametrize(
    "event",
    [{}, "a string", [1, 2], {"Details": {"ContactData": {"CustomerEndpoint": {"Address": 42}}}}],
    ids=["empty-object", "string", "list", "address-not-a-string"],
)
def test_malformed_events_get_a_fallback_answer(function, event):
    answer = function.invoke(event)
    assert answer["routing_status"] == "invalid_customer_number"
    assert answer["outbound_number"] == ""
    assert function.proc.poll() is None, "the process must survive any event"


def test_logs_are_json_and_never_hold_a_number_in_clear(function):
    for fixture in EXPECTED:
        function.invoke(json.loads((FIXTURES / fixture).read_text()))
    time.sleep(0.2)
    log = function.log()
    lines = [json.loads(line) for line in log.splitlines() if line.strip()]
    chosen = [line for line in lines if line.get("fields", {}).get("message") == "caller id chosen"]
    assert len(chosen) >= len(EXPECTED), log[-2000:]
    for fixture, answer in EXPECTED.items():
        event = json.loads((FIXTURES / fixture).read_text())
        endpoint = ((event.get("Details") or {}).get("ContactData") or {}).get("CustomerEndpoint") or {}
        customer = endpoint.get("Address")
        numbers = {"customer": customer if isinstance(customer, str) else ""}
        numbers.update({key: answer[key] for key in ("outbound_number", "default_queue_outbound_number")})
        for key, number in numbers.items():
            number = number.replace(" ", "")
            if len(number) >= 8:
                assert number not in log, f"{fixture}: {key} {number[:3]}… appears in clear in the log"


def test_a_changed_file_is_used_after_the_ttl(bootstrap, moto, bucket, tmp_path):
    key = "routing/ttl.json"
    s3 = moto.s3()
    s3.put_object(Bucket=bucket, Key=key, Body=b'{"US": "+12065550100"}')
    fn = Function(bootstrap, moto, bucket, key, 1, tmp_path)
    try:
        event = json.loads((FIXTURES / "whisper-us-miami-country.json").read_text())
        assert fn.invoke(event)["outbound_number"] == "+12065550100"
        s3.put_object(Bucket=bucket, Key=key, Body=b'{"+1305": "+13055550100"}')
        time.sleep(1.2)
        answer = fn.invoke(event)
        assert (answer["routing_status"], answer["routing_rule"], answer["outbound_number"]) == (
            "prefix",
            "+1305",
            "+13055550100",
        )
    finally:
        fn.close()


@pytest.mark.parametrize(
    "body, status",
    [(None, "missing"), (b'{"US": ', "malformed"), (b'{"Mars": "+1"}', "malformed")],
    ids=["missing", "not-json", "no-valid-entry"],
)
def test_routing_problems_fall_back_to_the_queue_number(bootstrap, moto, bucket, tmp_path, body, status):
    key = f"routing/{uuid.uuid4().hex[:8]}.json"
    if body is not None:
        moto.s3().put_object(Bucket=bucket, Key=key, Body=body)
    fn = Function(bootstrap, moto, bucket, key, 60, tmp_path)
    try:
        event = json.loads((FIXTURES / "whisper-gb-london-prefix.json").read_text())
        answer = fn.invoke(event)
        assert answer["routing_status"] == status
        assert answer["outbound_number"] == "+442079460999"
        assert answer["customer_country"] == "GB"
        # Logged once at start-up, not once per call.
        for _ in range(5):
            fn.invoke(event)
        time.sleep(0.2)
        problems = [line for line in fn.log().splitlines() if '"level":"WARN"' in line or '"level":"ERROR"' in line]
        assert len(problems) == 1, problems
    finally:
        fn.close()
