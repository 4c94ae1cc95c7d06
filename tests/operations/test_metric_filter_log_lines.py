"""The log metric filters of modules/dialer (the dashboard's and the alarms') count log lines
the functions really write.

A filter matches `$.fields.message = "<message>"` in the log group of one function and takes
other fields (`$.fields.<field>`) from the same line. Each message must be the message of a
`tracing` macro call in that function's crate or in the shared library it links
(functions/outbound-core), and each field the filter reads must be a field of that call: a
message reworded or a field renamed in the code silently stops a metric, and this test says so.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DIALER = ROOT / "modules" / "dialer"
FUNCTIONS = ROOT / "functions"


def unescape(hcl: str) -> str:
    return hcl.replace('\\"', '"').replace("\\\\", "\\")


def dashboard_filters() -> list[tuple[str, str, str]]:
    """(name, function, definition) of dashboard.tf's dashboard_metric_filters: the definition
    holds the pattern, the value and the dimensions, each of which may read a field."""
    text = (DIALER / "dashboard.tf").read_text()
    block = re.search(r"dashboard_metric_filters = \{(.*?)\n  \}\n", text, re.S).group(1)
    out = []
    for name, body in re.findall(r"\n    (\w+) = \{(.*?)\n    \}", block, re.S):
        function = re.search(r'function\s*=\s*"([^"]+)"', body).group(1)
        out.append((name, function, unescape(body)))
    return out


def alarm_filters() -> list[tuple[str, str, str]]:
    """(name, function, definition) of alarms.tf's aws_cloudwatch_log_metric_filter resources."""
    text = (DIALER / "alarms.tf").read_text()
    out = []
    for name, body in re.findall(r'resource "aws_cloudwatch_log_metric_filter" "(\w+)" \{(.*?)\n\}', text, re.S):
        function = re.search(r'module\.function\["([^"]+)"\]\.log_group_name', body).group(1)
        out.append((name, function, unescape(body)))
    return out


FILTERS = [("dashboard", *f) for f in dashboard_filters()] + [("alarm", *f) for f in alarm_filters()]


def tracing_calls(function: str) -> list[str]:
    """The text of every tracing::<level>!(...) call in the function's crate and the shared
    library."""
    calls = []
    for crate in (FUNCTIONS / function / "src", FUNCTIONS / "outbound-core" / "src"):
        for path in crate.rglob("*.rs"):
            text = path.read_text()
            for m in re.finditer(r"tracing::(?:trace|debug|info|warn|error)!\(", text):
                depth, i = 1, m.end()
                while depth and i < len(text):
                    depth += {"(": 1, ")": -1}.get(text[i], 0)
                    i += 1
                calls.append(text[m.end():i - 1])
    return calls


def test_every_filter_was_found():
    kinds = {kind for kind, *_ in FILTERS}
    assert kinds == {"dashboard", "alarm"}, FILTERS
    assert len([f for f in FILTERS if f[0] == "dashboard"]) == 10
    assert len([f for f in FILTERS if f[0] == "alarm"]) == 2


@pytest.mark.parametrize("kind,name,function,definition", FILTERS, ids=[f"{k}-{n}" for k, n, *_ in FILTERS])
def test_filter_matches_a_line_the_function_writes(kind, name, function, definition):
    message = re.search(r'\$\.fields\.message = "([^"]+)"', definition)
    assert message, f"{name}: the pattern does not match a message: {definition}"
    message = message.group(1)
    # Fields read by the pattern, the value and the dimensions.
    fields = set(re.findall(r"\$\.fields\.(\w+)", definition)) - {"message"}
    assert kind == "alarm" or fields or name in {"calls_placed", "calls_refused"}, f"{name}: no field read"
    assert (FUNCTIONS / function).is_dir(), f"{name}: no function {function}"
    calls = [c for c in tracing_calls(function) if f'"{message}"' in c]
    assert calls, f"{name}: no tracing call in {function} (or outbound-core) writes the message {message!r}"
    for field in fields:
        assert any(re.search(rf"(?<![\w.]){field}\s*(=|,|\))|[%?]{field}\b", c) for c in calls), \
            f"{name}: the line {message!r} has no field {field!r}"
