//! load-list, a big file across invocations: a generated 1.2 GB, 10,000,000-row CSV read from
//! checkpoints, segment by segment, as the deployed function reads it.
//!
//! What it includes: the rows are generated while they are read (the file is never stored or
//! held in memory, as an S3 body is not); each segment is a fresh `AsyncCsvReader` (the reader,
//! number validation, destination check, contact keying with HMAC, the duplicate filter) that
//! stops by load-list's own [`StopRule`] (a time budget per "invocation", `BUDGET_MS`, default
//! 5,000 ms, and the contact cap of an invocation, 2,000,000) at a row boundary; its checkpoint
//! goes through JSON as the continuation event carries it, and the next segment starts from it
//! at its byte offset (the generator replays the bytes from there, as a ranged `GetObject`
//! would). Each valid contact becomes the ledger item a conditional put would write
//! (`ledger::item::new_item`), which is then counted and dropped; rejects are serialised into a
//! report part, as the report writer buffers them.
//!
//! What it does not include: any network round trip. No DynamoDB conditional puts (in a
//! deployment they, not parsing, set the pace: 25 in flight, a few milliseconds each), no S3
//! `GetObject` or report upload, no `Invoke` of the next segment, no Lambda runtime or SDK
//! clients in memory. Rows per second here is the CPU cost of a row; the peak RSS (`VmHWM`, the
//! whole process over every segment) is what reading, validating and keying a big file costs in
//! memory, which is what has to stay under the function's memory setting.
//!
//! Targets: under 128 MB peak RSS (the intake's share of a 128 MB function), at least 200,000
//! rows/s. Run: `cargo bench -p load-list --bench big_file` (`ROWS=…`, `BUDGET_MS=…`).

use load_list::continuation::{
    Checkpoint, ContinuationEvent, StopRule, Totals, DEFAULT_MAX_SEGMENT_CONTACTS,
};
use load_list::csv_intake::{AsyncCsvReader, CsvOptions, RowOutcome};
use outbound_core::phone::region_id;
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, ReadBuf};

mod common;
use common::{gb_number, rss_kib};

const TARGET_ROWS_PER_SECOND: f64 = 200_000.0;
const TARGET_PEAK_RSS_MB: f64 = 128.0;
const HEADER: &[u8] = b"custID,phone,firstName,lastName,plan,notes\n";
/// Rows generated at a time; a mark (first row, byte offset) is kept per run.
const RUN: u64 = 64;

/// A 10-million-row CSV (about 120 bytes a row, 1.2 GB) written as it is read: about 2 % invalid
/// numbers, 1 % missing numbers, 1 % repeats of an earlier contact. It can go back to any offset
/// of the last few hundred kilobytes, as a ranged read of an object would start there.
struct GeneratedCsv {
    rows: u64,
    next: u64,
    pending: Vec<u8>,
    /// Offset in the file of `pending[0]`.
    pending_offset: u64,
    at: usize,
    /// (first row, offset) of the latest runs.
    marks: VecDeque<(u64, u64)>,
}

impl GeneratedCsv {
    fn new(rows: u64) -> Self {
        Self {
            rows,
            next: 0,
            pending: HEADER.to_vec(),
            pending_offset: 0,
            at: 0,
            marks: VecDeque::new(),
        }
    }

    fn row(buf: &mut Vec<u8>, i: u64) {
        use std::io::Write;
        let names = ["Ann", "Bob", "Chloé", "Dev", "Eve", "Fatima", "Gus", "Hana"];
        let name = names[(i % names.len() as u64) as usize];
        let (id, phone): (u64, String) = match i % 100 {
            // An earlier row again: a duplicate (across a segment boundary, the ledger's
            // conditional put would answer "already present").
            0 if i > 0 => (i - 50, gb_number(i - 50)),
            1 => (i, format!("{}", 10_000 + i % 90_000)),
            2 => (i, format!("+44 {}", i % 1000)),
            3 => (i, String::new()),
            4..=14 => (i, format!("+1 212 555 01{:02}", i % 100)),
            15..=24 => (i, format!("+61 491 570 {:03}", i % 1000)),
            _ => (i, gb_number(i)),
        };
        let _ = writeln!(
            buf,
            "C-{id:08},{phone},{name},Lastname{id},gold,\"customer since 2019, likes calls in the mornings, account {id:08}\""
        );
    }

    /// The next run of rows into `pending`.
    fn fill(&mut self) {
        self.pending_offset += self.pending.len() as u64;
        self.pending.clear();
        self.at = 0;
        self.marks.push_back((self.next, self.pending_offset));
        if self.marks.len() > 64 {
            self.marks.pop_front();
        }
        let end = (self.next + RUN).min(self.rows);
        for i in self.next..end {
            Self::row(&mut self.pending, i);
        }
        self.next = end;
    }

    /// Goes back to byte `offset` (a ranged read from there).
    fn seek(&mut self, offset: u64) {
        let &(row, at) = self
            .marks
            .iter()
            .rev()
            .find(|(_, at)| *at <= offset)
            .expect("a checkpoint within the last runs read");
        while self.marks.back().is_some_and(|(r, _)| *r >= row) {
            self.marks.pop_back();
        }
        self.next = row;
        self.pending.clear();
        self.pending_offset = at;
        self.fill();
        // fill() moved past the (empty) pending buffer: it starts at `at` again.
        debug_assert_eq!(self.pending_offset, at);
        while self.pending_offset + self.pending.len() as u64 <= offset && self.next < self.rows {
            self.fill();
        }
        self.at = (offset - self.pending_offset) as usize;
    }
}

impl AsyncRead for GeneratedCsv {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        if this.at >= this.pending.len() && this.next < this.rows {
            this.fill();
        }
        let n = buf.remaining().min(this.pending.len() - this.at);
        buf.put_slice(&this.pending[this.at..this.at + n]);
        this.at += n;
        Poll::Ready(Ok(()))
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let rows = env_number("ROWS", 10_000_000);
    let budget = Duration::from_millis(env_number("BUDGET_MS", 5_000));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let opts = CsvOptions {
        campaign: "bench".into(),
        object: "uploads/bench.csv".into(),
        default_region: Some(region_id("GB").expect("GB")),
        destinations: outbound_core::destinations::DestinationRules::parse(
            "GB,US,FR,DE,IT,ES,IE,AU,CA,NL",
        )
        .expect("countries"),
        keyer: outbound_core::contact_key::ContactKeyer::from_secret(vec![7u8; 32]),
        customer_id_optional: false,
    };
    // The number metadata and patterns are loaded once per process (as in a warm function).
    let _ = outbound_core::phone::normalise("+44 20 7946 0000", None);
    let baseline_kib = rss_kib("VmRSS:").unwrap_or(0);

    let started = Instant::now();
    let mut source = GeneratedCsv::new(rows);
    let mut next: Option<Vec<u8>> = None;
    let mut totals = Totals::default();
    let (mut segments, mut item_bytes, mut reject_bytes, mut checkpoint_bytes) =
        (0u32, 0u64, 0u64, 0usize);
    let mut largest_filter = 0usize;
    runtime.block_on(async {
        loop {
            segments += 1;
            // A new invocation: its deadline, a fresh reader from the checkpoint's JSON.
            let stop = StopRule::new(
                Some(Instant::now() + budget),
                Duration::ZERO,
                DEFAULT_MAX_SEGMENT_CONTACTS,
            );
            let mut reader = match next.take() {
                None => AsyncCsvReader::new(&mut source, opts.clone()),
                Some(event) => {
                    let event: ContinuationEvent =
                        serde_json::from_slice(&event).expect("a continuation event");
                    let at = event.continuation.at;
                    source.seek(at.offset);
                    AsyncCsvReader::resume(&mut source, opts.clone(), at)
                }
            };
            let now = chrono::Utc::now();
            let mut report = Vec::with_capacity(64 * 1024);
            let mut admitted = 0u64;
            let handed_over = loop {
                let counts = reader.counts();
                if stop.stop_now(Instant::now(), counts.rows, counts.accepted) {
                    if let Some(at) = reader.position() {
                        break Some(at);
                    }
                }
                match reader.next_row().await.expect("generated CSV is readable") {
                    Some(RowOutcome::Contact(c)) => {
                        let item = outbound_core::ledger::item::new_item(&c, now, None, now)
                            .expect("an item");
                        item_bytes += item
                            .values()
                            .map(|v| v.as_s().map_or(8, |s| s.len() as u64))
                            .sum::<u64>();
                        admitted += 1;
                    }
                    Some(RowOutcome::Rejected(r)) => {
                        serde_json::to_writer(&mut report, &r).expect("serialises");
                        report.push(b'\n');
                        if report.len() >= 64 * 1024 {
                            reject_bytes += report.len() as u64;
                            report.clear();
                        }
                    }
                    Some(RowOutcome::Duplicate { .. }) => {}
                    None => break None,
                }
            };
            reject_bytes += report.len() as u64;
            let counts = reader.counts();
            assert_eq!(admitted, counts.accepted);
            largest_filter = largest_filter.max(reader.intake().duplicate_filter_bytes());
            totals = Totals {
                rows: totals.rows + counts.rows,
                queued: totals.queued + counts.accepted,
                rejected: totals.rejected + counts.rejected,
                duplicates: totals.duplicates + counts.duplicates,
            };
            drop(reader);
            let Some(at) = handed_over else { break };
            let event = serde_json::to_vec(&ContinuationEvent {
                continuation: Checkpoint {
                    bucket: "bench-input".into(),
                    key: "uploads/bench.csv".into(),
                    etag: "\"0123456789abcdef0123456789abcdef-128\"".into(),
                    version_id: None,
                    upload: "0055AED6DCD90281E5".into(),
                    campaign: "bench".into(),
                    rules: None,
                    at,
                    totals,
                    segment: segments + 1,
                    dry_run: false,
                    plan: Default::default(),
                },
            })
            .expect("serialises");
            checkpoint_bytes = checkpoint_bytes.max(event.len());
            next = Some(event);
        }
    });
    let elapsed = started.elapsed().as_secs_f64();
    let file_bytes = source.pending_offset + source.pending.len() as u64;
    let rows_per_second = totals.rows as f64 / elapsed;
    let peak_mb = rss_kib("VmHWM:").unwrap_or(0) as f64 / 1024.0;

    assert_eq!(totals.rows, rows, "every generated row was read, once");
    assert_eq!(
        totals.rows,
        totals.queued + totals.rejected + totals.duplicates
    );

    println!();
    println!(
        "load-list big file across invocations, {rows} generated rows (no network), {} ms per invocation",
        budget.as_millis()
    );
    println!("  {:<34} {:>14.1}", "file (MB)", file_bytes as f64 / 1e6);
    println!("  {:<34} {:>14}", "invocations (segments)", segments);
    println!("  {:<34} {:>14}", "rows", totals.rows);
    println!("  {:<34} {:>14}", "accepted (admitted)", totals.queued);
    println!("  {:<34} {:>14}", "rejected", totals.rejected);
    println!("  {:<34} {:>14}", "duplicates", totals.duplicates);
    println!(
        "  {:<34} {:>14.1}",
        "ledger item strings (MB)",
        item_bytes as f64 / 1e6
    );
    println!(
        "  {:<34} {:>14.1}",
        "reject reports (MB)",
        reject_bytes as f64 / 1e6
    );
    println!(
        "  {:<34} {:>14.1}",
        "largest duplicate filter (MB)",
        largest_filter as f64 / 1e6
    );
    println!(
        "  {:<34} {:>14}",
        "largest continuation event (B)", checkpoint_bytes
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
        serde_json::json!({"name": format!("load-list big file across invocations throughput ({rows} rows, {segments} invocations)"), "value": rows_per_second.round(), "unit": "rows/s", "target": ">= 200000"})
    );
    println!(
        "BENCH {}",
        serde_json::json!({"name": format!("load-list big file peak RSS ({rows} rows, {:.2} GB)", file_bytes as f64 / 1e9), "value": (peak_mb * 10.0).round() / 10.0, "unit": "MB", "target": "< 128"})
    );
}
