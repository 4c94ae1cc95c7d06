#!/usr/bin/env python3
"""Generate the inputs/outputs tables of the Terraform READMEs from the .tf files.

The tables live between `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->`:

- the root module's into the root README.md;
- each module's (every directory under modules/ that holds .tf files) into its README.md.

    python3 scripts/readme-tables.py            # rewrite the tables
    python3 scripts/readme-tables.py --check    # exit 1 and show a diff when a table is stale

Only the Python standard library is used. The HCL reader understands what variable, output and
terraform blocks contain (strings with escapes and interpolations, heredocs, comments, nested
brackets); it is not a general HCL parser and does not need to be.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
ROOT_REFERENCE = ROOT / "README.md"
ROOT_REFERENCE_HEADER = """# Terraform reference: root module

Inputs, outputs and requirements of the root module, generated from its `.tf` files by
`python3 scripts/readme-tables.py` (`make docs`). CI runs it with `--check`: edit the variable
and output descriptions in the code, not this page.

"""


class HclError(Exception):
    """The file is not HCL this reader understands."""


# --------------------------------------------------------------------------------------------
# A small HCL scanner: enough to find blocks and split a block body into attributes.
# --------------------------------------------------------------------------------------------


def _skip_string(text: str, i: int) -> int:
    """`text[i]` is the opening quote; return the index just past the closing quote."""
    i += 1
    depth = 0  # nesting of ${ ... } / %{ ... } inside the string
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if depth == 0 and c == '"':
            return i + 1
        if c in "$%" and text.startswith("{", i + 1):
            if text[i - 1 : i] == c:  # $${ and %%{ are literal text, not a template
                i += 2
                continue
            depth += 1
            i += 2
            continue
        if depth > 0:
            if c == '"':
                i = _skip_string(text, i)
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
        i += 1
    raise HclError("unterminated string")


_HEREDOC = re.compile(r"<<(-?)([A-Za-z_][A-Za-z0-9_]*)[ \t]*\n")


def _skip_heredoc(text: str, i: int) -> int:
    m = _HEREDOC.match(text, i)
    if not m:
        return i + 2
    end = re.compile(r"^[ \t]*" + re.escape(m.group(2)) + r"[ \t]*$", re.M)
    e = end.search(text, m.end())
    if not e:
        raise HclError(f"unterminated heredoc {m.group(2)}")
    return e.end()


def _skip_comment(text: str, i: int) -> int:
    if text.startswith("/*", i):
        j = text.find("*/", i + 2)
        if j < 0:
            raise HclError("unterminated comment")
        return j + 2
    j = text.find("\n", i)
    return len(text) if j < 0 else j


def _is_comment(text: str, i: int) -> bool:
    return text[i] == "#" or text.startswith("//", i) or text.startswith("/*", i)


def _matching(text: str, i: int) -> int:
    """`text[i]` opens a bracket; return the index of its closing bracket."""
    pairs = {"{": "}", "[": "]", "(": ")"}
    stack = [pairs[text[i]]]
    i += 1
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
            continue
        if text.startswith("<<", i) and _HEREDOC.match(text, i):
            i = _skip_heredoc(text, i)
            continue
        if _is_comment(text, i):
            i = _skip_comment(text, i)
            continue
        if c in pairs:
            stack.append(pairs[c])
        elif c in ")]}":
            if c != stack.pop():
                raise HclError(f"mismatched {c!r}")
            if not stack:
                return i
        i += 1
    raise HclError("unbalanced brackets")


_BLOCK = re.compile(r'^[ \t]*(variable|output|terraform)\b[ \t]*(?:"([^"]+)")?[ \t]*\{', re.M)


def top_level_blocks(text: str):
    """Yield (kind, label, body) for the top-level variable/output/terraform blocks."""
    i = 0
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i)
            continue
        if _is_comment(text, i):
            i = _skip_comment(text, i)
            continue
        if c == "\n" or i == 0:
            m = _BLOCK.match(text, i + 1 if c == "\n" else i)
            if m:
                open_at = m.end() - 1
                close = _matching(text, open_at)
                yield m.group(1), m.group(2), text[open_at + 1 : close]
                i = close + 1
                continue
        if c in "{[(":
            i = _matching(text, i) + 1
            continue
        i += 1


def attributes(body: str) -> dict[str, str]:
    """Top-level `name = expression` pairs of a block body (nested blocks are skipped)."""
    out: dict[str, str] = {}
    i = 0
    ident = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_-]*)[ \t]*(=(?!=)|\{)")
    while i < len(body):
        c = body[i]
        if c in " \t\r\n":
            i += 1
            continue
        if _is_comment(body, i):
            i = _skip_comment(body, i)
            continue
        m = ident.match(body, i)
        if not m:
            raise HclError(f"cannot read {body[i:i + 40]!r}")
        if m.group(2) == "{":  # a nested block such as validation { ... }
            i = _matching(body, m.end() - 1) + 1
            continue
        start = j = m.end()
        while j < len(body) and body[j] != "\n":
            cj = body[j]
            if cj == '"':
                j = _skip_string(body, j)
                continue
            if body.startswith("<<", j) and _HEREDOC.match(body, j):
                j = _skip_heredoc(body, j)
                continue
            if cj == "#" or body.startswith("//", j):
                break
            if body.startswith("/*", j):
                j = _skip_comment(body, j)
                continue
            if cj in "{[(":
                j = _matching(body, j) + 1
                continue
            j += 1
        out[m.group(1)] = body[start:j].strip()
        i = j
    return out


# --------------------------------------------------------------------------------------------
# From expressions to table cells
# --------------------------------------------------------------------------------------------


def string_value(expr: str) -> str:
    """The text of a string literal or heredoc (interpolations kept as written)."""
    expr = expr.strip()
    m = _HEREDOC.match(expr)
    if m:
        lines = expr[m.end() :].splitlines()[:-1]
        if m.group(1) == "-":
            indent = min((len(l) - len(l.lstrip()) for l in lines if l.strip()), default=0)
            lines = [l[indent:] for l in lines]
        return "\n".join(lines)
    if expr.startswith('"') and expr.endswith('"'):
        raw = expr[1:-1]
        return re.sub(r'\\(["\\nrt])', lambda x: {"n": "\n", "r": "", "t": "\t"}.get(x.group(1), x.group(1)), raw)
    return expr


def _strip_comment(line: str) -> str:
    """The line without a trailing # or // comment (one inside a string is text)."""
    i = 0
    while i < len(line):
        if line[i] == '"':
            try:
                i = _skip_string(line, i)
            except HclError:
                return line
            continue
        if line[i] == "#" or line.startswith("//", i):
            return line[:i]
        i += 1
    return line


def one_line(expr: str) -> str:
    """A multi-line expression (object type, map default) on one line, items comma-separated."""
    lines = [_strip_comment(l).strip() for l in expr.strip().splitlines()]
    lines = [l for l in lines if l]
    out = ""
    for line in lines:
        if not out:
            out = line
        elif out[-1] in "([{," or line[0] in ")]}":
            out += " " + line
        else:
            out += ", " + line
    return re.sub(r"\s+", " ", out)


def cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "<br>")


def code_cell(text: str) -> str:
    text = one_line(text).replace("|", "\\|")
    ticks = "``" if "`" in text else "`"
    pad = " " if ticks == "``" else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


@dataclass
class Module:
    path: Path
    variables: list[dict] = field(default_factory=list)
    outputs: list[dict] = field(default_factory=list)
    requirements: list[tuple[str, str]] = field(default_factory=list)


def read_module(path: Path) -> Module:
    mod = Module(path)
    for tf in sorted(path.glob("*.tf")):
        text = tf.read_text(encoding="utf-8")
        try:
            for kind, label, body in top_level_blocks(text):
                if kind == "terraform":
                    attrs = attributes(body)
                    if "required_version" in attrs:
                        mod.requirements.append(("terraform", string_value(attrs["required_version"])))
                    rp = re.search(r"required_providers\s*\{", body)
                    if rp:
                        inner = body[rp.end() : _matching(body, rp.end() - 1)]
                        for name, expr in attributes(inner).items():
                            version = re.search(r'version\s*=\s*"([^"]*)"', expr)
                            mod.requirements.append((name, version.group(1) if version else "any"))
                    continue
                attrs = attributes(body)
                entry = {"name": label, "description": string_value(attrs.get("description", '""'))}
                if kind == "variable":
                    entry["type"] = attrs.get("type", "any")
                    entry["default"] = attrs.get("default")
                    mod.variables.append(entry)
                else:
                    mod.outputs.append(entry)
        except HclError as e:
            raise SystemExit(f"{tf.relative_to(ROOT)}: {e}")
    mod.variables.sort(key=lambda v: v["name"])
    mod.outputs.sort(key=lambda o: o["name"])
    return mod


def render(mod: Module) -> str:
    lines = []
    if mod.requirements:
        lines += ["## Requirements", "", "| Name | Version |", "|------|---------|"]
        lines += [f"| {name} | `{version}` |" for name, version in mod.requirements]
        lines.append("")
    lines += ["## Inputs", ""]
    if mod.variables:
        lines += ["| Name | Description | Type | Default | Required |", "|------|-------------|------|---------|:--------:|"]
        for v in mod.variables:
            required = v["default"] is None
            default = "n/a" if required else code_cell(v["default"])
            lines.append(
                f"| <a name=\"input_{v['name']}\"></a> `{v['name']}` | {cell(v['description'])} | "
                f"{code_cell(v['type'])} | {default} | {'yes' if required else 'no'} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    if mod.outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| <a name=\"output_{o['name']}\"></a> `{o['name']}` | {cell(o['description'])} |" for o in mod.outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines) + "\n"


def replace_between_markers(text: str, generated: str, where: Path) -> str:
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        raise ValueError(f"{where.relative_to(ROOT)}: needs exactly one {BEGIN} ... {END} pair")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{generated}{END}{tail}"


def targets() -> list[tuple[Path, Path]]:
    """(module directory, document holding its tables)."""
    found = [(ROOT, ROOT_REFERENCE)]
    for d in sorted((ROOT / "modules").rglob("*")):
        if d.is_dir() and ".terraform" not in d.parts and any(d.glob("*.tf")):
            found.append((d, d / "README.md"))
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 when a table is out of date")
    args = parser.parse_args()

    stale, problems = [], []
    for module_dir, doc in targets():
        generated = render(read_module(module_dir))
        if doc.exists():
            current = doc.read_text(encoding="utf-8")
        elif doc == ROOT_REFERENCE and not args.check:
            current = f"{ROOT_REFERENCE_HEADER}{BEGIN}\n{END}\n"
        elif module_dir.parent == ROOT / "modules" or module_dir == ROOT:
            problems.append(f"{doc.relative_to(ROOT)}: missing (module {module_dir.relative_to(ROOT) or '.'})")
            continue
        else:
            # An internal module nested inside another has no registry page of its own.
            continue
        if BEGIN not in current and END not in current:
            # A README without markers has no generated tables to keep in sync: say so, as a
            # warning, so that the owner adds the markers.
            print(f"warning: {doc.relative_to(ROOT)} has no {BEGIN}/{END} markers: no tables generated", file=sys.stderr)
            continue
        try:
            updated = replace_between_markers(current, generated, doc)
        except ValueError as e:
            problems.append(str(e))
            continue
        if updated == current:
            continue
        if args.check:
            stale.append(doc)
            rel = str(doc.relative_to(ROOT))
            sys.stdout.writelines(
                difflib.unified_diff(current.splitlines(True), updated.splitlines(True), f"{rel} (committed)", f"{rel} (from the .tf files)")
            )
        else:
            doc.write_text(updated, encoding="utf-8")
            print(f"updated {doc.relative_to(ROOT)}")

    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if stale:
        names = ", ".join(str(d.relative_to(ROOT)) for d in stale)
        print(f"\nerror: inputs/outputs tables out of date in {names}.\n"
              f"Run `python3 scripts/readme-tables.py` (or `make docs`) and commit the result.", file=sys.stderr)
    if stale or problems:
        return 1
    if args.check:
        print("README inputs/outputs tables are up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
