"""The cold-start benchmark's pieces (scripts/bench_caller_id_cold.py), each run once through the
Runtime API emulator (local/runtime.py's `LocalFunction`), as the benchmark runs them:

- the no-op Rust Lambda (local/noop-lambda) answers with its input;
- the Python runtime client (local/python_bootstrap.py) runs a handler: answers, the handler's
  exceptions as invocation errors, an import failure as an init error, the context's fields;
- the seed function (local/seed-caller-id) answers the shared Connect fixtures as recorded in
  local/seed-caller-id/expected-answers.json, against moto S3;
- the benchmark itself, one round with a few warm calls: it checks every first answer and prints
  its BENCH lines.

Fast (seconds): nothing is built unless a binary is missing (`make test` builds the no-op Lambda
with the workspace; the dev binaries are used as they are).
Run: `.venv/bin/python -m pytest -q local/tests/test_bench_harness.py`
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from caller_id_harness import (  # noqa: E402
    ROOT,
    SEED_DIR,
    VENV_BIN,
    free_port,
    function_env,
    Moto,
    noop_bootstrap_path,
    routing_bucket,
    seed_command,
)

from local.runtime import LocalFunction  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "connect-events"
SEED_EXPECTED = json.loads((SEED_DIR / "expected-answers.json").read_text())
KEY = "routing/routing.json"


@pytest.fixture(scope="module")
def moto():
    server = Moto(free_port())
    yield server
    server.stop()


@pytest.fixture(scope="module")
def bucket(moto) -> str:
    return routing_bucket(moto, "bench-harness", KEY, (ROOT / "sample-files" / "routing.json").read_bytes())


@pytest.fixture(scope="module")
def noop() -> Path:
    return noop_bootstrap_path(profile="any")


def run_cold(argv0, args, env, cwd, event, log: Path, then=()):
    """Queues `event`, starts the process, waits for the answer; then invokes `then` warm."""
    fn = LocalFunction()
    first = fn.submit(event)
    try:
        fn.start(argv0, env, log, args, cwd)
        assert first.done.wait(30), f"no answer; log: {log.read_text(errors='replace')[-2000:]}"
        return [first] + [fn.invoke(e) for e in then]
    finally:
        fn.close()


def test_noop_lambda_returns_its_input(noop, tmp_path):
    events = [json.loads((FIXTURES / "whisper-us-miami-country.json").read_text()), {"a": [1, 2, None]}, "text"]
    env = function_env("http://127.0.0.1:9", "unused", "unused")
    answers = run_cold(noop, [], env, None, events[0], tmp_path / "noop.log", then=events[1:])
    for inv, event in zip(answers, events):
        assert inv.ok, inv.answer
        assert inv.answer == event


@pytest.fixture
def task_root(tmp_path) -> Path:
    (tmp_path / "handler.py").write_text(
        "import os\n"
        "def handle(event, context):\n"
        "    if event == 'boom':\n"
        "        raise ValueError('asked to fail')\n"
        "    return {'event': event, 'request_id': context.aws_request_id,\n"
        "            'arn': context.invoked_function_arn, 'function': context.function_name,\n"
        "            'remaining_ok': 0 < context.get_remaining_time_in_millis() <= 30_000,\n"
        "            'cwd': os.getcwd()}\n"
    )
    return tmp_path


def python_runtime(task_root: Path, handler: str) -> tuple[Path, list[str], dict[str, str]]:
    python, args, _, _ = seed_command()
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_FUNCTION_NAME": "py",
           "_HANDLER": handler, "LAMBDA_TASK_ROOT": str(task_root)}
    return python, args, env


def test_python_runtime_answers_and_reports_handler_errors(task_root, tmp_path):
    python, args, env = python_runtime(task_root, "handler.handle")
    ok, failed, again = run_cold(python, args, env, task_root, {"n": 1}, tmp_path / "py.log", then=["boom", None])
    assert ok.ok, ok.answer
    assert ok.answer["event"] == {"n": 1}
    assert ok.answer["request_id"] == ok.request_id
    assert ok.answer["arn"].endswith(":function:caller-id")
    assert ok.answer["function"] == "py"
    assert ok.answer["remaining_ok"] is True
    assert ok.answer["cwd"] == str(task_root)
    assert not failed.ok
    assert failed.answer == {"errorType": "ValueError", "errorMessage": "asked to fail"}
    # The process survives a handler's exception.
    assert again.ok and again.answer["event"] is None


def test_python_runtime_reports_an_import_failure_as_an_init_error(task_root, tmp_path):
    python, args, env = python_runtime(task_root, "missing_module.handle")
    fn = LocalFunction()
    inv = fn.submit({})
    try:
        fn.start(python, env, tmp_path / "init.log", args, task_root)
        assert inv.done.wait(30)
    finally:
        fn.close()
    assert not inv.ok
    assert inv.answer["errorType"] == "Runtime.ImportModuleError"
    assert "missing_module" in inv.answer["errorMessage"]


@pytest.mark.parametrize("fixture", ["whisper-ca-toronto-country.json", "whisper-gb-london-prefix.json",
                                     "whisper-je-default-queue-string.json"])
def test_seed_function_answers_as_recorded(moto, bucket, fixture, tmp_path):
    python, args, extra, cwd = seed_command()
    env = {**function_env(moto.endpoint, bucket, KEY), **extra}
    event = json.loads((FIXTURES / fixture).read_text())
    (inv,) = run_cold(python, args, env, cwd, event, tmp_path / "seed.log")
    assert inv.ok, inv.answer
    assert inv.answer == SEED_EXPECTED[fixture]


def test_every_fixture_has_a_seed_answer():
    assert set(SEED_EXPECTED) == {p.name for p in FIXTURES.glob("*.json")}


def test_the_benchmark_runs_all_three_side_by_side(noop, moto):
    env = {**os.environ, "NOOP_BOOTSTRAP": str(noop), "MOTO_ENDPOINT": moto.endpoint}
    out = subprocess.run(
        [str(VENV_BIN / "python"), str(ROOT / "scripts" / "bench_caller_id_cold.py"),
         "--runs", "3", "--warm-calls", "3", "--seed-warm-calls", "3"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=180,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    rows = {r["name"]: r for r in (json.loads(line[6:]) for line in out.stdout.splitlines()
                                   if line.startswith("BENCH "))}
    for name in ("caller_id_cold_start_p50", "noop_lambda_cold_start_p50", "seed_cold_start_p50",
                 "caller_id_system_roots_cold_start_p50",
                 "caller_id_peak_rss", "noop_lambda_peak_rss", "seed_peak_rss"):
        assert rows[name]["value"] > 0, rows[name]
    assert rows["caller_id_cold_start_over_noop_p50"]["target"] == "<= 10"
    assert rows["seed_over_caller_id_cold_start_p50"]["target"] == ">= 50"
    assert rows["caller_id_peak_rss"]["target"] == "< 20"
