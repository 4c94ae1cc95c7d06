"""The operator's HTML report (`outbound report`) opened in headless Chromium.

Known records are laid out in a results bucket (moto) as the functions write them; the real
binary writes the report; Chromium loads the file and the DevTools protocol (over a pipe: no
extra package) reads what was laid out: every chart is an SVG with a size, one bar or point per
figure, bars as high as their value, and the figures and tables equal the records'.

Needs the `outbound` binary (built by `cargo test --workspace`; OUTBOUND_BIN to point elsewhere)
and Chromium (CHROMIUM; `ensure_chromium` in scripts/lib.sh installs it).
"""

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
CAMPAIGN = "spring-report"


def outbound_bin() -> str:
    # scripts/lib.sh sets CARGO_BUILD_TARGET, which puts binaries under target/<triple>/.
    triple = os.environ.get("CARGO_BUILD_TARGET")
    built = ROOT / "target" / triple / "debug" / "outbound" if triple else ROOT / "target" / "debug" / "outbound"
    path = os.environ.get("OUTBOUND_BIN") or str(built)
    if not os.path.exists(path):
        subprocess.run(["cargo", "build", "-p", "outbound", "--locked"], cwd=ROOT, check=True)
    assert os.path.exists(path), f"outbound was built but is not at {path}: set OUTBOUND_BIN"
    return path


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, "Chromium is not installed: scripts/lib.sh ensure_chromium installs it"
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_endpoint():
    port = free_port()
    server = ROOT / ".venv" / "bin" / "moto_server"
    proc = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait()


# (contact, attempt, outcome, caller ID, dialed at): 3 hours, one of them (10:00) without calls,
# two caller IDs and the queue's own number, contacts with 1, 2 and 3 attempts.
CALLS = [
    ("k1", 1, "busy", "+442079460100", "2026-12-07T09:05:00Z"),
    ("k1", 2, "no_answer", "+442079460100", "2026-12-07T09:35:00Z"),
    ("k1", 3, "connected", "+442079460100", "2026-12-07T11:10:00Z"),
    ("k2", 1, "connected", "+442079460100", "2026-12-07T09:06:00Z"),
    ("k3", 1, "connected", "+12025550100", "2026-12-07T09:07:00Z"),
    ("k4", 1, "no_answer", "+12025550100", "2026-12-07T09:08:00Z"),
    ("k4", 2, "connected", None, "2026-12-07T11:20:00Z"),
    ("k5", 1, "failed", None, "2026-12-07T09:09:00Z"),
    ("k6", 1, "connected", "+442079460100", "2026-12-07T11:30:00Z"),
]
FINALS = {"k1": "connected", "k2": "connected", "k3": "connected", "k4": "connected",
          "k5": "attempts_exhausted", "k6": "connected", "k7": "dnc"}
REJECTS = [
    {"line": 4, "reason": "not a valid phone number: too short", "customer_key": "C-4",
     "phone_masked": None, "source": f"campaigns/{CAMPAIGN}/list.csv"},
    {"line": 9, "reason": "destination US is not allowed", "customer_key": "C-9",
     "phone_masked": "+1*******123", "source": f"campaigns/{CAMPAIGN}/list.csv"},
]


def record(key, attempt, outcome, caller, at):
    return {"campaign": CAMPAIGN, "run_id": "run-1", "contact_key": key, "customer_key": f"C-{key}",
            "phone_masked": "+44*******001", "attempt": attempt, "contact_id": f"ct-{key}-{attempt}",
            "outcome": outcome, "disposition": None, "lane": 1, "caller_id": caller,
            "dialed_at": at, "disconnected_at": at, "completed_at": at,
            "source": {"kind": "csv", "object": f"campaigns/{CAMPAIGN}/list.csv", "line": 2}}


def seed(endpoint: str) -> str:
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="eu-west-2",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    bucket = f"results-{int(time.time() * 1000)}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-2"})
    for c in CALLS:
        r = record(*c)
        s3.put_object(Bucket=bucket, Body=json.dumps(r) + "\n",
                      Key=f"results/campaign={CAMPAIGN}/run=run-1/{r['contact_key']}-{r['attempt']}.jsonl")
    for key, reason in FINALS.items():
        f = {"campaign": CAMPAIGN, "contact_key": key, "customer_key": f"C-{key}", "phone_masked": "+44*",
             "attempts": 1, "final_reason": reason, "last_outcome": None, "contact_id": None,
             "final_at": "2026-12-07T12:00:00Z", "source": {}}
        s3.put_object(Bucket=bucket, Key=f"finals/campaign={CAMPAIGN}/{key}.jsonl", Body=json.dumps(f) + "\n")
    s3.put_object(Bucket=bucket, Key=f"rejects/campaign={CAMPAIGN}/campaigns_{CAMPAIGN}_list.csv.jsonl",
                  Body="".join(json.dumps(r) + "\n" for r in REJECTS))
    return bucket


class DevTools:
    """Chromium's DevTools protocol over --remote-debugging-pipe: JSON messages ending in NUL,
    commands on the browser's fd 3, answers and events on its fd 4."""

    def __init__(self, binary: str, profile: str):
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        parent_ends = (self._w, self._r)

        # Chromium's ends at 3 and 4. subprocess closes every other descriptor after this runs
        # when close_fds is on, 3 and 4 included: it is off, and the parent's ends are closed here.
        def fds():
            os.dup2(to_chrome_r, 3)
            os.dup2(from_chrome_w, 4)
            for fd in parent_ends:
                os.close(fd)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--remote-debugging-pipe", "--window-size=900,2400",
             "about:blank"],
            preexec_fn=fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._buf = b""

    def call(self, method, params=None, session=None, timeout=30.0):
        self._next += 1
        msg = {"id": self._next, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("id") == self._next:
                    assert "error" not in answer, answer
                    return answer["result"]
            chunk = os.read(self._r, 1 << 16)
            assert chunk, "Chromium closed the DevTools pipe"
            self._buf += chunk
        raise TimeoutError(method)

    def close(self):
        try:
            self.call("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._w)
        os.close(self._r)


# What the browser laid out: each chart's size, its bars and points with their drawn height.
LAYOUT = r"""
JSON.stringify({
  charts: Object.fromEntries([...document.querySelectorAll('svg.chart')].map(svg => {
    const box = svg.getBoundingClientRect();
    return [svg.id, {
      width: box.width, height: box.height,
      bars: [...svg.querySelectorAll('rect.bar')].map(r => ({
        series: r.dataset.series, label: r.dataset.label, value: Number(r.dataset.value),
        drawn: r.getBBox().height})),
      points: [...svg.querySelectorAll('circle.point')].map(c => ({
        label: c.dataset.label, value: Number(c.dataset.value), cy: c.getBBox().y})),
    }];
  })),
  figures: Object.fromEntries([...document.querySelectorAll('[data-figure]')].map(
    d => [d.dataset.figure, d.textContent])),
  tables: Object.fromEntries([...document.querySelectorAll('table')].map(t => [t.id,
    [...t.querySelectorAll('tbody tr')].map(tr => [...tr.cells].map(td => td.textContent))])),
  scripts: document.scripts.length,
  resources: performance.getEntriesByType('resource').length,
})
"""


def layout_of(html: Path) -> dict:
    profile = tempfile.mkdtemp(prefix="report-chromium-")
    tools = DevTools(chromium(), profile)
    try:
        target = tools.call("Target.createTarget", {"url": html.as_uri()})["targetId"]
        session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        # The new target starts on about:blank: wait until the report itself has loaded.
        ready = f"location.href === {json.dumps(html.as_uri())} && document.readyState === 'complete'"
        for _ in range(150):
            if tools.call("Runtime.evaluate", {"expression": ready, "returnByValue": True},
                          session)["result"]["value"]:
                break
            time.sleep(0.1)
        else:
            raise AssertionError(f"Chromium did not load {html}")
        value = tools.call("Runtime.evaluate", {"expression": LAYOUT, "returnByValue": True},
                           session)["result"]["value"]
        return json.loads(value)
    finally:
        tools.close()
        shutil.rmtree(profile, ignore_errors=True)


def hour(at: str) -> str:
    return datetime.fromisoformat(at.replace("Z", "+00:00")).astimezone(timezone.utc).strftime("%Y-%m-%d %H:00")


def test_the_report_renders_the_records_figures(moto_endpoint, tmp_path):
    bucket = seed(moto_endpoint)
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"results_bucket_name": {"value": bucket}}))
    html = tmp_path / "report.html"
    env = {**os.environ, "AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-2"}
    env.pop("AWS_PROFILE", None)
    run = subprocess.run([outbound_bin(), "--outputs", str(outputs), "report", "--campaign", CAMPAIGN,
                          "-o", str(html)], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(html)

    page = layout_of(html)
    charts = page["charts"]

    # What the records say, computed here independently of the tool.
    outcomes = Counter(c[2] for c in CALLS)
    hours = defaultdict(lambda: [0, 0])
    for c in CALLS:
        hours[hour(c[4])][0] += 1
        hours[hour(c[4])][1] += c[2] == "connected"
    hours.setdefault("2026-12-07 10:00", [0, 0])  # the hour without calls is drawn too
    by_caller = defaultdict(lambda: [0, 0])
    for c in CALLS:
        by_caller[c[3] or "queue number"][0] += 1
        by_caller[c[3] or "queue number"][1] += c[2] == "connected"
    attempts = Counter(Counter(c[0] for c in CALLS).values())

    assert page["scripts"] == 0 and page["resources"] == 0, "nothing runs, nothing is fetched"
    assert set(charts) == {"chart-outcomes", "chart-hourly", "chart-answer-rate-hour",
                           "chart-answer-rate-caller-id", "chart-attempts"}
    for name, chart in charts.items():
        assert chart["width"] > 100 and chart["height"] > 100, (name, chart)

    def bars(chart, series=None):
        return {b["label"]: b["value"] for b in charts[chart]["bars"] if series in (None, b["series"])}

    assert bars("chart-outcomes") == dict(outcomes)
    assert bars("chart-hourly", "calls") == {h: v[0] for h, v in hours.items()}
    assert bars("chart-hourly", "answered") == {h: v[1] for h, v in hours.items()}
    assert {k: round(v, 4) for k, v in bars("chart-answer-rate-caller-id").items()} == \
        {k: round(v[1] / v[0], 4) for k, v in by_caller.items()}
    assert bars("chart-attempts") == {str(k): v for k, v in attempts.items()}
    points = {p["label"]: round(p["value"], 4) for p in charts["chart-answer-rate-hour"]["points"]}
    assert points == {h: round(v[1] / v[0], 4) for h, v in hours.items() if v[0]}

    # Drawn as high as the figure: one scale per chart, zero drawn flat.
    for name, chart in charts.items():
        if not chart["bars"]:
            continue
        scale = [b["drawn"] / b["value"] for b in chart["bars"] if b["value"]]
        assert min(scale) > 0 and max(scale) - min(scale) < 1.0, (name, chart["bars"])
        assert all(b["drawn"] < 0.5 for b in chart["bars"] if not b["value"]), (name, chart["bars"])
        assert max(b["drawn"] for b in chart["bars"]) > 50, (name, "the largest bar is drawn tall")
    # A higher answer rate is drawn higher (SVG y grows downwards).
    pts = sorted(charts["chart-answer-rate-hour"]["points"], key=lambda p: p["value"])
    assert pts[0]["cy"] > pts[-1]["cy"]

    answered = sum(c[2] == "connected" for c in CALLS)
    assert page["figures"] == {
        "calls": str(len(CALLS)), "contacts": str(len({c[0] for c in CALLS})), "answered": str(answered),
        "answer-rate": f"{answered / len(CALLS) * 100:.1f}%", "finals": str(len(FINALS)),
        "rejects": str(len(REJECTS)),
    }
    assert page["tables"]["table-final-reasons"] == [[k, str(v)] for k, v in sorted(Counter(FINALS.values()).items())]
    assert page["tables"]["table-rejects"] == [
        [r["source"], str(r["line"]), r["reason"], r["phone_masked"] or ""] for r in REJECTS]
