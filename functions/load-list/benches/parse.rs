//! load-list without the network: parse + validate + batch a generated 1,000,000-row CSV.
//!
//! The rows are generated while they are read (the CSV is never in memory, as an S3 body is not),
//! go through the same `AsyncCsvReader` load-list uses, valid contacts are serialised into SQS
//! batches (`BatchBuilder`: 10 per batch, 256 KiB at most) and rejects into JSON Lines; the
//! batches are then dropped instead of sent. Peak RSS is the process's high-water mark
//! (`VmHWM`), so it includes the binary, the runtime and the number-validation tables.
//!
//! Targets: at least 200,000 rows/s, under 50 MB peak RSS.
//! Run: `cargo bench -p load-list --bench parse` (ROWS=… to change the size).

use load_list::csv_intake::{AsyncCsvReader, CsvOptions, RowOutcome};
use outbound_core::intake::sender::{BatchBuilder, Outgoing};
use outbound_core::phone::region_id;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::{AsyncRead, ReadBuf};

mod common;
use common::{gb_number, rss_kib};

const TARGET_ROWS_PER_SECOND: f64 = 200_000.0;
const TARGET_PEAK_RSS_MB: f64 = 50.0;

/// A CSV written row by row as it is read: a header, then `rows` rows of which about 2 % have an
/// invalid number, 1 % miss a field and 1 % repeat an earlier contact.
struct GeneratedCsv {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
    at: usize,
}

impl GeneratedCsv {
    fn new(rows: u64) -> Self {
        Self {
            rows,
            next: 0,
            pending: b"custID,phone,firstName,plan,notes\n".to_vec(),
            at: 0,
        }
    }

    fn row(&mut self, i: u64) {
        use std::io::Write;
        let names = ["Ann", "Bob", "Chloé", "Dev", "Eve", "Fatima", "Gus", "Hana"];
        let name = names[(i % names.len() as u64) as usize];
        let buf = &mut self.pending;
        let (id, phone): (u64, String) = match i % 100 {
            // An earlier row again: a duplicate.
            0 if i > 0 => (i - 50, gb_number(i - 50)),
            1 => (i, format!("{}", 10_000 + i % 90_000)),
            2 => (i, format!("+44 {}", i % 1000)),
            3 => (i, String::new()),
            4..=14 => (i, format!("+1 212 555 01{:02}", i % 100)),
            15..=24 => (i, format!("+61 491 570 {:03}", i % 1000)),
            _ => (i, gb_number(i)),
        };
        let _ = writeln!(buf, "C-{id},{phone},{name},gold,\"likes calls, mornings\"");
    }
}

impl AsyncRead for GeneratedCsv {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        while this.at >= this.pending.len() && this.next < this.rows {
            this.pending.clear();
            this.at = 0;
            // Rows are produced in small runs to keep the generator's own cost low.
            for _ in 0..64 {
                if this.next >= this.rows {
                    break;
                }
                let i = this.next;
                this.row(i);
                this.next += 1;
            }
        }
        let n = buf.remaining().min(this.pending.len() - this.at);
        buf.put_slice(&this.pending[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

fn main() {
    let rows: u64 = std::env::var("ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let baseline_kib = rss_kib("VmRSS:").unwrap_or(0);

    let started = Instant::now();
    let (counts, batches, messages, body_bytes, reject_bytes, filter_bytes) =
        runtime.block_on(async {
            let mut reader = AsyncCsvReader::new(
                GeneratedCsv::new(rows),
                CsvOptions {
                    campaign: "bench".into(),
                    object: "uploads/bench.csv".into(),
                    default_region: Some(region_id("GB").expect("GB")),
                    // The generated list's countries: the destination check is part of intake.
                    destinations: outbound_core::destinations::DestinationRules::parse(
                        "GB,US,FR,DE,IT,ES,IE,AU,CA,NL",
                    )
                    .expect("countries"),
                    // Derived from KMS once per cold start in a deployment; the HMAC of every
                    // row is part of what this measures.
                    keyer: outbound_core::contact_key::ContactKeyer::from_secret(vec![7u8; 32]),
                    customer_id_optional: false,
                },
            );
            let mut builder = BatchBuilder::new();
            let (mut batches, mut messages, mut body_bytes) = (0u64, 0u64, 0u64);
            let mut report = Vec::with_capacity(64 * 1024);
            let mut reject_bytes = 0u64;
            let mut take = |batch: Vec<Outgoing>| {
                batches += 1;
                messages += batch.len() as u64;
                body_bytes += batch.iter().map(|m| m.body.len() as u64).sum::<u64>();
            };
            while let Some(row) = reader.next_row().await.expect("generated CSV is readable") {
                match row {
                    RowOutcome::Contact(c) => {
                        if let Some(batch) = builder.push(Outgoing::new(&c, None)) {
                            take(batch);
                        }
                    }
                    RowOutcome::Rejected(r) => {
                        serde_json::to_writer(&mut report, &r).expect("serialises");
                        report.push(b'\n');
                        // The report goes out in parts; keep one part's worth at most.
                        if report.len() >= 64 * 1024 {
                            reject_bytes += report.len() as u64;
                            report.clear();
                        }
                    }
                    RowOutcome::Duplicate { .. } => {}
                }
            }
            if let Some(batch) = builder.take() {
                take(batch);
            }
            reject_bytes += report.len() as u64;
            (
                reader.counts(),
                batches,
                messages,
                body_bytes,
                reject_bytes,
                reader.intake().duplicate_filter_bytes(),
            )
        });
    let elapsed = started.elapsed().as_secs_f64();
    let rows_per_second = counts.rows as f64 / elapsed;
    let peak_mb = rss_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0;

    assert_eq!(counts.rows, rows, "every generated row was read");
    assert_eq!(
        counts.rows,
        counts.accepted + counts.rejected + counts.duplicates
    );
    assert_eq!(messages, counts.accepted);

    println!();
    println!("load-list parse + validate + batch, {rows} generated rows (no network)");
    println!("  {:<34} {:>14}", "rows", counts.rows);
    println!("  {:<34} {:>14}", "accepted (queued)", counts.accepted);
    println!("  {:<34} {:>14}", "rejected", counts.rejected);
    println!("  {:<34} {:>14}", "duplicates", counts.duplicates);
    println!("  {:<34} {:>14}", "SQS batches", batches);
    println!(
        "  {:<34} {:>14.1}",
        "message bodies (MB)",
        body_bytes as f64 / 1e6
    );
    println!(
        "  {:<34} {:>14.1}",
        "reject report (MB)",
        reject_bytes as f64 / 1e6
    );
    println!(
        "  {:<34} {:>14.1}",
        "duplicate filter (MB)",
        filter_bytes as f64 / 1e6
    );
    println!("  {:<34} {:>14.2}", "elapsed (s)", elapsed);
    println!(
        "  {:<34} {:>14.0}   target >= {TARGET_ROWS_PER_SECOND:.0}",
        "throughput (rows/s)", rows_per_second
    );
    println!(
        "  {:<34} {:>14.1}   target < {TARGET_PEAK_RSS_MB:.0}",
        "peak RSS, VmHWM (MB)", peak_mb
    );
    println!(
        "  {:<34} {:>14.1}",
        "RSS before the run (MB)",
        baseline_kib as f64 / 1024.0
    );
    println!();
    println!(
        "BENCH {}",
        serde_json::json!({"name": format!("load-list parse+validate+batch throughput ({rows} rows)"), "value": rows_per_second.round(), "unit": "rows/s", "target": ">= 200000"})
    );
    println!(
        "BENCH {}",
        serde_json::json!({"name": format!("load-list peak RSS ({rows} rows)"), "value": (peak_mb * 10.0).round() / 10.0, "unit": "MB", "target": "< 50"})
    );
}
