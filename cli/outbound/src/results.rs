//! `outbound results`: a campaign's results records (`results/campaign=<c>/run=<r>/…jsonl`, one
//! per attempt, see `outbound_core::records::ResultRecord`) merged into one file, JSON Lines or
//! CSV, in the order the calls completed.

use crate::deployment::{read_objects, Clients, Deployment};
use crate::error::{CliError, Result};
use outbound_core::records::{partition_safe, RejectRecord, ResultRecord};
use std::io::Write;

/// The CSV columns: the record's fields in the order the README shows them (`source` as JSON).
pub const CSV_COLUMNS: [&str; 17] = [
    "campaign",
    "run_id",
    "contact_key",
    "customer_key",
    "phone_masked",
    "attempt",
    "contact_id",
    "outcome",
    "disposition",
    "callback_at",
    "lane",
    "caller_id",
    "caller_id_refused",
    "dialed_at",
    "disconnected_at",
    "completed_at",
    "source",
];

/// Every JSON line of `text` as `T`; a line that is not one is an error naming the object.
pub fn parse_lines<T: serde::de::DeserializeOwned>(key: &str, text: &str) -> Result<Vec<T>> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            serde_json::from_str(l).map_err(|e| {
                CliError::failure(format!(
                    "{key}: a line is not a record of this version ({e})"
                ))
            })
        })
        .collect()
}

/// Completion order, then contact and attempt: the same order on every run.
pub fn sort(records: &mut [ResultRecord]) {
    records.sort_by(|a, b| {
        (&a.completed_at, &a.contact_key, a.attempt).cmp(&(
            &b.completed_at,
            &b.contact_key,
            b.attempt,
        ))
    });
}

/// A campaign's results records; a campaign with none is an error (a wrong name, most often).
pub async fn fetch(d: &Deployment, clients: &Clients, campaign: &str) -> Result<Vec<ResultRecord>> {
    let bucket = Deployment::need(&d.results_bucket, "results_bucket_name", "results-bucket")?;
    let prefix = format!("results/campaign={}/", partition_safe(campaign));
    let mut records = Vec::new();
    for (key, body, _) in read_objects(&clients.s3, bucket, &prefix).await? {
        records.extend(parse_lines::<ResultRecord>(&key, &body)?);
    }
    if records.is_empty() {
        return Err(CliError::failure(format!(
            "campaign '{campaign}' has no results in s3://{bucket}/{prefix}: check the name (`outbound status` lists the campaigns) or wait for its first calls"
        )));
    }
    sort(&mut records);
    Ok(records)
}

/// The campaign's reject reports (any number of files) and final records.
pub async fn fetch_rejects(
    d: &Deployment,
    clients: &Clients,
    campaign: &str,
) -> Result<Vec<RejectRecord>> {
    let bucket = Deployment::need(&d.results_bucket, "results_bucket_name", "results-bucket")?;
    let prefix = format!("rejects/campaign={}/", partition_safe(campaign));
    let mut out = Vec::new();
    for (key, body, _) in read_objects(&clients.s3, bucket, &prefix).await? {
        out.extend(parse_lines::<RejectRecord>(&key, &body)?);
    }
    Ok(out)
}

pub async fn fetch_finals(
    d: &Deployment,
    clients: &Clients,
    campaign: &str,
) -> Result<Vec<outbound_core::records::FinalRecord>> {
    let bucket = Deployment::need(&d.results_bucket, "results_bucket_name", "results-bucket")?;
    let prefix = format!("finals/campaign={}/", partition_safe(campaign));
    let mut out = Vec::new();
    for (key, body, _) in read_objects(&clients.s3, bucket, &prefix).await? {
        out.extend(parse_lines(&key, &body)?);
    }
    Ok(out)
}

pub fn write_jsonl(records: &[ResultRecord], out: &mut dyn Write) -> std::io::Result<()> {
    for r in records {
        serde_json::to_writer(&mut *out, r)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

pub fn write_csv(records: &[ResultRecord], out: &mut dyn Write) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(CSV_COLUMNS)?;
    for r in records {
        let value = serde_json::to_value(r).map_err(std::io::Error::other)?;
        let row: Vec<String> = CSV_COLUMNS
            .iter()
            .map(|c| match value.get(*c) {
                None | Some(serde_json::Value::Null) => String::new(),
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            })
            .collect();
        w.write_record(&row)?;
    }
    w.flush()
}

/// Standard output, or a file created for the output.
pub fn output(path: Option<&std::path::Path>) -> Result<Box<dyn Write>> {
    Ok(match path {
        None => Box::new(std::io::stdout().lock()),
        Some(p) => Box::new(std::io::BufWriter::new(std::fs::File::create(p).map_err(
            |e| CliError::usage(format!("cannot write {}: {e}", p.display())),
        )?)),
    })
}

pub async fn run(args: &crate::cli::ResultsArgs, d: &Deployment, clients: &Clients) -> Result<()> {
    let records = fetch(d, clients, &args.campaign).await?;
    let mut out = output(args.output.as_deref())?;
    let written = if args.csv {
        write_csv(&records, &mut out)
    } else {
        write_jsonl(&records, &mut out)
    };
    written
        .and_then(|_| out.flush())
        .map_err(|e| CliError::failure(format!("writing the results: {e}")))?;
    if let Some(p) = &args.output {
        eprintln!(
            "{} records of campaign {} written to {}",
            records.len(),
            args.campaign,
            p.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(key: &str, attempt: u32, completed: &str) -> ResultRecord {
        serde_json::from_value(serde_json::json!({
            "campaign": "c", "run_id": "r", "contact_key": key, "customer_key": "C, \"1\"",
            "phone_masked": "+44*******001", "attempt": attempt, "contact_id": null,
            "outcome": "busy", "disposition": null, "lane": 2, "caller_id": null,
            "dialed_at": null, "disconnected_at": null, "completed_at": completed,
            "source": {"kind": "csv", "line": 2}
        }))
        .unwrap()
    }

    #[test]
    fn csv_has_one_row_per_record_with_quoted_fields() {
        let mut recs = vec![
            record("b", 1, "2026-12-07T10:00:02Z"),
            record("a", 1, "2026-12-07T10:00:01Z"),
        ];
        sort(&mut recs);
        let mut out = Vec::new();
        write_csv(&recs, &mut out).unwrap();
        let mut r = csv::Reader::from_reader(out.as_slice());
        assert_eq!(r.headers().unwrap().len(), CSV_COLUMNS.len());
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][2], "a", "completion order");
        assert_eq!(&rows[0][3], "C, \"1\"");
        assert_eq!(&rows[0][10], "2");
        assert_eq!(&rows[0][16], r#"{"kind":"csv","line":2}"#);
    }

    #[test]
    fn jsonl_round_trips() {
        let recs = vec![record("a", 1, "t")];
        let mut out = Vec::new();
        write_jsonl(&recs, &mut out).unwrap();
        let back: Vec<ResultRecord> = parse_lines("k", std::str::from_utf8(&out).unwrap()).unwrap();
        assert_eq!(back, recs);
    }
}
