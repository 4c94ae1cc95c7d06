"""The results catalog's saved Athena queries, run with DuckDB over sample results records.

What Terraform saves (modules/results-catalog: `aws_athena_named_query` from queries/*.sql, the
Glue table's columns from results-table.json) is what runs here:

  - the sample records have the shape of `outbound_core::records::ResultRecord` (its fields are
    read from functions/outbound-core/src/records.rs, so a field added there fails this test
    until the table has its column) and are laid out as the functions write them
    (`results/campaign=<campaign>/run=<runId>/<contactKey>-<attempt>.jsonl`, one record per
    object), with other objects of the bucket (finals, rejects) beside them;
  - the Athena table is a DuckDB view over `read_json` with exactly the Glue table's columns
    (the record keys they map, their types; a key the table lacks is not read, as with the JSON
    SerDe) and its `campaign` partition taken from the key, as partition projection does;
  - each query's SQL file runs with the campaign as its parameter, and its rows must equal
    what the records say, counted here in Python without SQL.

The SQL is written in the subset Athena (Trino) and DuckDB share: `substr`, `||`, `coalesce`,
`count_if`, `round`, `max_by` and `?` parameters.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "modules" / "results-catalog"
RECORDS_RS = ROOT / "functions" / "outbound-core" / "src" / "records.rs"
SEED = 20261207

TABLE = json.loads((MODULE / "results-table.json").read_text())
DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT"}

OUTCOMES = ["connected", "no_answer", "busy", "failed", "timeout", "error", "invalid_number", "voicemail", "abandoned"]
CALLER_IDS = ["+442079460100", "+441614960100", "+12125550142", None]
# (campaign as the record spells it, its partition value in the key)
CAMPAIGNS = [("spring-renewals", "spring-renewals"), ("winter sale", "winter_sale")]


# --------------------------------------------------------------------------------------------
# The record type and the key layout of the functions
# --------------------------------------------------------------------------------------------


def result_record_fields() -> tuple[list[str], set[str]]:
    """ResultRecord's fields in order, and those left out of the JSON when None."""
    text = RECORDS_RS.read_text()
    body = re.search(r"pub struct ResultRecord \{(.*?)\n\}", text, re.S)
    assert body, f"no `pub struct ResultRecord` in {RECORDS_RS}"
    fields, optional = [], set()
    pending_skip = False
    for line in body.group(1).splitlines():
        line = line.strip()
        if line.startswith("#[serde(") and "skip_serializing_if" in line:
            pending_skip = True
        m = re.match(r"pub (\w+):", line)
        if m:
            fields.append(m.group(1))
            if pending_skip:
                optional.add(m.group(1))
            pending_skip = False
    return fields, optional


def partition_safe(value: str) -> str:
    """records::partition_safe."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in value)


def result_object_key(campaign: str, run_id: str, contact_key: str, attempt: int) -> str:
    """records::result_object_key."""
    return f"results/campaign={partition_safe(campaign)}/run={partition_safe(run_id)}/{contact_key}-{attempt}.jsonl"


def rfc3339(t: datetime) -> str:
    """completion::rfc3339: milliseconds, Z."""
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


# --------------------------------------------------------------------------------------------
# Sample records
# --------------------------------------------------------------------------------------------


def sample_records() -> list[dict]:
    """Two campaigns, several runs each, contacts with one to three attempts (redials in later
    runs), every outcome, routed and queue caller IDs, refused caller IDs, callbacks."""
    rng = random.Random(SEED)
    records = []
    for campaign, _ in CAMPAIGNS:
        start = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc)
        for n in range(40):
            contact_key = f"{rng.getrandbits(64):016x}"
            customer = f"C-{1000 + n}"
            attempts = rng.randint(1, 3)
            for attempt in range(1, attempts + 1):
                outcome = rng.choice(OUTCOMES)
                placed = outcome != "error"
                dialed = start + timedelta(minutes=rng.randint(0, 60 * 5), seconds=rng.randint(0, 59),
                                           milliseconds=rng.randint(0, 999)) + timedelta(hours=4 * (attempt - 1))
                ended = dialed + timedelta(seconds=rng.randint(5, 600))
                caller_id = rng.choice(CALLER_IDS) if placed else None
                record = {
                    "campaign": campaign,
                    "run_id": f"csv-{partition_safe(campaign)}-{attempt:04x}",
                    "contact_key": contact_key,
                    "customer_key": customer,
                    "phone_masked": f"+44*******{n:03d}",
                    "attempt": attempt,
                    "contact_id": f"{rng.getrandbits(128):032x}" if placed else None,
                    "outcome": outcome,
                    "disposition": rng.choice(["SALE", "NO_INTEREST", None]) if outcome == "connected" else None,
                    "lane": rng.randint(0, 4) if placed else None,
                    "caller_id": caller_id,
                    "dialed_at": rfc3339(dialed) if placed else None,
                    "disconnected_at": rfc3339(ended) if placed else None,
                    "completed_at": rfc3339(ended if placed else dialed),
                    "source": {"kind": "csv", "object": f"{campaign}.csv", "line": n + 2},
                }
                if outcome == "connected" and rng.random() < 0.2:
                    record["callback_at"] = rfc3339(ended + timedelta(days=1))
                if placed and caller_id is None and rng.random() < 0.3:
                    record["caller_id_refused"] = "+442079460199"
                records.append(record)
    return records


@pytest.fixture(scope="module")
def records() -> list[dict]:
    return sample_records()


@pytest.fixture(scope="module")
def bucket(tmp_path_factory, records) -> Path:
    """The results bucket as the functions lay it out: one object per attempt, plus the
    finals and rejects the table must not read."""
    root = tmp_path_factory.mktemp("results-bucket")
    for r in records:
        path = root / result_object_key(r["campaign"], r["run_id"], r["contact_key"], r["attempt"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(r) + "\n")
        final = root / f"finals/campaign={partition_safe(r['campaign'])}/{r['contact_key']}.jsonl"
        final.parent.mkdir(parents=True, exist_ok=True)
        final.write_text(json.dumps({"campaign": r["campaign"], "contact_key": r["contact_key"],
                                     "attempts": r["attempt"], "final_reason": r["outcome"]}) + "\n")
    reject = root / "rejects/campaign=spring-renewals/spring-renewals.csv.jsonl"
    reject.parent.mkdir(parents=True)
    reject.write_text(json.dumps({"line": 3, "reason": "invalid_number", "customer_key": "C-9",
                                  "phone_masked": None, "source": "spring-renewals.csv"}) + "\n")
    return root


# --------------------------------------------------------------------------------------------
# The Athena table as a DuckDB view
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def db(bucket) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    json_columns = {c.get("json", c["name"]): DUCKDB_TYPES[c["type"]] for c in TABLE["columns"]}
    selected = ", ".join(f'"{c.get("json", c["name"])}" AS "{c["name"]}"' for c in TABLE["columns"])
    (partition,) = TABLE["partition_keys"]
    # The table's location template is s3://<bucket>/results/campaign=${campaign}/ (asserted
    # in tests/results_catalog.tftest.hcl); the run folders under it are read too.
    files = str(bucket / "results" / "campaign=*" / "**" / "*.jsonl")
    con.execute(f"""
        CREATE VIEW results AS
        SELECT {selected},
               regexp_extract(filename, '/results/campaign=([^/]+)/', 1) AS "{partition['name']}"
        FROM read_json('{files}', format = 'newline_delimited', filename = true,
                       hive_partitioning = false, columns = {json_columns!r})
    """)
    return con


def saved_queries() -> dict[str, str]:
    """The queries main.tf saves, by name, rendered as templatefile() renders them."""
    main_tf = (MODULE / "main.tf").read_text()
    names = re.findall(r'(\w+)\s*=\s*\{\s*file\s*=\s*"([^"]+\.sql)"', main_tf)
    assert names, "main.tf lists no saved query"
    queries = {}
    for name, file in names:
        sql = (MODULE / "queries" / file).read_text()
        assert "${table}" in sql, f"{file} must read the table through ${{table}}"
        rendered = sql.replace("${table}", "results")
        assert "${" not in rendered and "%{" not in rendered, f"{file}: a template placeholder other than table"
        queries[name] = rendered
    return queries


def run(db, name: str, campaign: str) -> list[tuple]:
    return db.execute(saved_queries()[name], [campaign]).fetchall()


# --------------------------------------------------------------------------------------------
# Tests
# --------------------------------------------------------------------------------------------


def test_every_query_file_is_saved_and_the_three_are_there():
    files = {p.name for p in (MODULE / "queries").glob("*.sql")}
    main_tf = (MODULE / "main.tf").read_text()
    saved = set(re.findall(r'file\s*=\s*"([^"]+\.sql)"', main_tf))
    assert files == saved, f"queries/ holds {sorted(files)}, main.tf saves {sorted(saved)}"
    assert set(saved_queries()) == {"outcomes_by_hour", "answer_rate_by_caller_id", "attempts_per_contact"}


def test_samples_have_the_record_types_shape(records):
    fields, optional = result_record_fields()
    for r in records:
        missing = set(fields) - set(r) - optional
        extra = set(r) - set(fields)
        assert not missing and not extra, f"record differs from ResultRecord: missing {missing}, extra {extra}"
    # Both kinds of optional field occur, present and absent.
    for name in optional:
        assert any(name in r for r in records) and any(name not in r for r in records), name


def test_table_columns_are_the_record_fields():
    fields, _ = result_record_fields()
    mapped = [c.get("json", c["name"]) for c in TABLE["columns"]]
    assert mapped == fields, f"table columns (by record key) {mapped} != ResultRecord fields {fields}"
    names = [c["name"] for c in TABLE["columns"]] + [p["name"] for p in TABLE["partition_keys"]]
    assert len(names) == len(set(names)), f"a column name is used twice: {names}"


def test_table_reads_only_results_and_maps_every_column(db, records):
    rows = db.execute("SELECT count(*), count(DISTINCT campaign) FROM results").fetchone()
    assert rows == (len(records), len(CAMPAIGNS))
    row = db.execute(
        "SELECT campaign, campaign_name, attempt, source FROM results WHERE campaign = ? ORDER BY contact_key, attempt LIMIT 1",
        ["winter_sale"]).fetchone()
    assert row[0] == "winter_sale" and row[1] == "winter sale" and isinstance(row[2], int)
    assert json.loads(row[3])["kind"] == "csv"


@pytest.mark.parametrize("campaign,partition", CAMPAIGNS)
def test_outcomes_by_hour(db, records, campaign, partition):
    expected = Counter()
    for r in records:
        if r["campaign"] == campaign:
            at = datetime.strptime(r["dialed_at"] or r["completed_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
            expected[(at.strftime("%Y-%m-%dT%H:00Z"), r["outcome"])] += 1
    got = run(db, "outcomes_by_hour", partition)
    assert got == sorted((hour, outcome, n) for (hour, outcome), n in expected.items())
    assert sum(n for *_, n in got) == sum(r["campaign"] == campaign for r in records)


@pytest.mark.parametrize("campaign,partition", CAMPAIGNS)
def test_answer_rate_by_caller_id(db, records, campaign, partition):
    calls, answered = Counter(), Counter()
    for r in records:
        if r["campaign"] == campaign and r["contact_id"] is not None:
            key = r["caller_id"] or "queue number"
            calls[key] += 1
            answered[key] += r["outcome"] == "connected"
    expected = sorted(
        ((k, calls[k], answered[k],
          float((Decimal(100 * answered[k]) / Decimal(calls[k])).quantize(Decimal("0.1"), ROUND_HALF_UP)))
         for k in calls),
        key=lambda row: (-row[1], row[0]))
    got = [(k, c, a, float(rate)) for k, c, a, rate in run(db, "answer_rate_by_caller_id", partition)]
    assert got == expected
    assert "queue number" in calls and len(calls) == len(CALLER_IDS)


@pytest.mark.parametrize("campaign,partition", CAMPAIGNS)
def test_attempts_per_contact(db, records, campaign, partition):
    per_contact = defaultdict(list)
    for r in records:
        if r["campaign"] == campaign:
            per_contact[(r["customer_key"], r["contact_key"])].append(r)
    expected = sorted(
        ((cust, key, len(rs), max(r["attempt"] for r in rs), max(rs, key=lambda r: r["attempt"])["outcome"])
         for (cust, key), rs in per_contact.items()),
        key=lambda row: (-row[2], row[0], row[1]))
    got = run(db, "attempts_per_contact", partition)
    assert got == expected
    # Redials happen in later runs: a contact's attempts span several run folders.
    assert {row[2] for row in got} == {1, 2, 3}


def test_a_campaign_without_records_gives_no_rows(db):
    for name in saved_queries():
        assert run(db, name, "no-such-campaign") == []
