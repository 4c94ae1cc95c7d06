"""Differential test: the functions' phone-number decisions against libphonenumber.

The oracle is `phonenumbers`, the Python port of Google's libphonenumber, pinned in
scripts/requirements.txt to the release the Rust tables are generated from
(scripts/gen-phone-metadata.py). The Rust side is `outbound-core`'s `phone_decide` example: the
same `phone::decide`, `phone::region_of` and `phone::time_zones_of` that caller-id, the intake
functions and dial call.

For every number of the corpus, the two must agree on: whether it parses, its E.164 form, its
validity, its type, its country (what caller-id routes on: the region of a valid number, none
for non-geographic codes) and its time zones. The corpus (seeded, so every run checks the same
numbers) covers:
  - every region's and every non-geographic code's example number of every type;
  - numbers generated around each example (its last one to four digits replaced at random),
    valid and invalid, per region and type;
  - numbers of the shared calling codes (+1, +7, +44, +262, +590, +599, +61) with random
    national digits of every possible length;
  - Italian numbers and other numbers whose national number starts with 0;
  - invalid numbers: unassigned calling codes, too short, too long, a national prefix after
    the calling code, digits of lengths no region has.

Agreement must be at least 99.9 %, and every disagreement must be listed in ACCEPTED below with
its reason: a new one fails the test.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType, timezone

ROOT = Path(__file__).resolve().parents[2]
RELEASE = "9.0.35"
SEED = 20261206
SHARED_CODES = (1, 7, 44, 262, 590, 599, 61)
TYPE_NAMES = {getattr(PhoneNumberType, n): n for n in dir(PhoneNumberType) if n.isupper()}

# Numbers on which the functions knowingly answer differently from libphonenumber, each with the
# reason it is accepted. Empty: every number of the corpus agrees.
ACCEPTED: dict[str, str] = {}


def example_numbers() -> list[str]:
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for t in TYPE_NAMES:
            n = phonenumbers.example_number_for_type(region, t)
            if n is not None:
                out.append(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
    for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS):
        n = phonenumbers.example_number_for_non_geo_entity(code)
        if n is not None:
            out.append(phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164))
    return out


def around(examples: list[str], rng: random.Random, per_example: int = 18) -> list[str]:
    """Each example with its last 1..4 digits replaced: valid numbers of the same range and
    invalid neighbours."""
    out = []
    for e in examples:
        for _ in range(per_example):
            k = rng.randint(1, min(4, len(e) - 3))
            out.append(e[:-k] + "".join(rng.choice("0123456789") for _ in range(k)))
    return out


def shared_code_numbers(rng: random.Random, per_length: int = 300) -> list[str]:
    out = []
    for code in SHARED_CODES:
        lengths = set()
        for region in phonenumbers.region_codes_for_country_code(code):
            meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
            lengths.update(l for l in meta.general_desc.possible_length if l > 0)
        for length in sorted(lengths):
            for _ in range(per_length):
                first = rng.choice("123456789")
                out.append(f"+{code}{first}" + "".join(rng.choice("0123456789") for _ in range(length - 1)))
    return out


def leading_zero_numbers(examples: list[str], rng: random.Random) -> list[str]:
    out = [f"+390{rng.randint(1, 9)}" + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 9)))
           for _ in range(1500)]
    # Every example whose national number starts with 0 (Italy, Vatican, Côte d'Ivoire, Gabon…),
    # and its neighbours.
    zeros = []
    for e in examples:
        n = phonenumbers.parse(e)
        if phonenumbers.national_significant_number(n).startswith("0"):
            zeros.append(e)
    return out + zeros + around(zeros, rng, per_example=20)


def invalid_numbers(rng: random.Random) -> list[str]:
    digits = lambda k: "".join(rng.choice("0123456789") for _ in range(k))  # noqa: E731
    out = []
    for code in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE):
        for k in (1, 2, 3, 18, 19):
            out.append(f"+{code}{digits(k)}")
        out.append(f"+{code}0{digits(9)}")  # a national prefix (or not) after the code
        for _ in range(4):
            out.append(f"+{code}{digits(rng.randint(4, 16))}")
    for unassigned in ("+0", "+00", "+28", "+80", "+999", "+969", "+3", "+"):
        out.append(unassigned + digits(8))
    return out


def corpus() -> list[str]:
    rng = random.Random(SEED)
    examples = example_numbers()
    numbers = (examples + around(examples, rng) + shared_code_numbers(rng)
               + leading_zero_numbers(examples, rng) + invalid_numbers(rng))
    return list(dict.fromkeys(numbers))  # unique, order kept


def oracle(number: str) -> dict:
    try:
        n = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return {"parsed": False}
    region = phonenumbers.region_code_for_number(n)
    valid = phonenumbers.is_valid_number(n)
    zones = list(timezone.time_zones_for_number(n))
    return {
        "parsed": True,
        "e164": phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164),
        "valid": valid,
        "type": TYPE_NAMES[phonenumbers.number_type(n)],
        "country": region if valid and region != "001" else None,
        "zones": [] if zones == ["Etc/Unknown"] else zones,
    }


def compared(answer: dict) -> dict:
    if not answer["parsed"]:
        return {"parsed": False}
    return {k: answer[k] for k in ("parsed", "e164", "valid", "type", "country", "zones")}


def decide_binary() -> Path:
    """outbound-core's phone_decide example. `make test`'s build step (`--all-targets`) has
    built it already: rebuilding it here with only outbound-core selected would resolve other
    features and recompile half the dependencies (minutes), so the binary is reused unless a
    phone source is newer. A build here selects the workspace, as that step does."""
    target_dir = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
    triple = os.environ.get("CARGO_BUILD_TARGET", "x86_64-unknown-linux-gnu")
    binary = target_dir / triple / "debug" / "examples" / "phone_decide"
    crate = ROOT / "functions" / "outbound-core"
    sources = [*crate.glob("src/**/*.rs"), *crate.glob("examples/*.rs"), crate / "Cargo.toml"]
    newest = max(p.stat().st_mtime for p in sources)
    if not binary.exists() or binary.stat().st_mtime < newest:
        subprocess.run(["cargo", "build", "--locked", "--workspace", "--example", "phone_decide",
                        "--target", triple], cwd=ROOT, check=True)
    return binary


def test_the_oracle_is_the_release_the_tables_come_from():
    assert phonenumbers.__version__ == RELEASE, (
        f"phonenumbers {phonenumbers.__version__} is not libphonenumber {RELEASE}: "
        "pin the release of scripts/gen-phone-metadata.py in scripts/requirements.txt")
    data = (ROOT / "functions/outbound-core/src/phone/metadata_data.rs").read_text()
    assert f'RELEASE: &str = r#"v{RELEASE}"#' in data


def test_decisions_equal_libphonenumber():
    numbers = corpus()
    assert len(numbers) > 30_000
    result = subprocess.run([str(decide_binary())], input="\n".join(numbers) + "\n",
                            capture_output=True, text=True, check=True)
    answers = [json.loads(line) for line in result.stdout.splitlines()]
    assert [a["number"] for a in answers] == numbers

    disagreements = {}
    for number, answer in zip(numbers, answers):
        want, got = oracle(number), compared(answer)
        if want != got:
            disagreements[number] = (want, got)
    valid = sum(1 for a in answers if a.get("valid"))
    rate = 1 - len(disagreements) / len(numbers)
    print(f"\n{len(numbers)} numbers ({valid} valid), agreement {rate:.4%}, "
          f"{len(disagreements)} disagreements, libphonenumber {RELEASE}")

    unexplained = {n: d for n, d in disagreements.items() if n not in ACCEPTED}
    sample = "\n".join(f"  {n}: libphonenumber {w} / functions {g}"
                       for n, (w, g) in list(unexplained.items())[:25])
    assert not unexplained, f"{len(unexplained)} disagreements not in ACCEPTED:\n{sample}"
    assert rate >= 0.999
    stale = [n for n in ACCEPTED if n not in disagreements]
    assert not stale, f"ACCEPTED lists numbers that now agree: {stale}"


def test_the_corpus_covers_what_it_claims():
    numbers = corpus()
    parsed = []
    for n in numbers:
        if n.startswith("+39"):
            try:
                parsed.append(phonenumbers.parse(n))
            except phonenumbers.NumberParseException:
                continue
    assert any(phonenumbers.is_valid_number(p) and phonenumbers.national_significant_number(p).startswith("0")
               for p in parsed), "Italian landlines"
    for code in SHARED_CODES:
        regions = set()
        for n in numbers:
            if n.startswith(f"+{code}"):
                try:
                    p = phonenumbers.parse(n)
                except phonenumbers.NumberParseException:
                    continue
                if p.country_code == code and phonenumbers.is_valid_number(p):
                    regions.add(phonenumbers.region_code_for_number(p))
        # Every region libphonenumber itself can answer for the code. (Not every region of the
        # code: in 9.0.35 Saint Martin's ranges all fall inside Guadeloupe's or Saint
        # Barthélemy's, tested first, so no number is ever MF.)
        reachable = set()
        for region in phonenumbers.region_codes_for_country_code(code):
            for t in TYPE_NAMES:
                example = phonenumbers.example_number_for_type(region, t)
                if example is not None and phonenumbers.is_valid_number(example):
                    reachable.add(phonenumbers.region_code_for_number(example))
        assert regions == reachable, (code, sorted(reachable - regions))


if __name__ == "__main__":
    raise SystemExit(pytest.main([__file__, "-q", "-s"]))
