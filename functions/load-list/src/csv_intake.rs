//! Streaming CSV intake: bytes in, one [`RowOutcome`] per row out, never the whole file in memory.
//!
//! - UTF-8 with or without a byte-order mark; CRLF, LF (or lone CR) line ends; RFC 4180 quoting,
//!   so quoted fields may hold commas, quotes (`""`) and line breaks. A row whose quoted field
//!   runs over a line break but is not closed properly (an open quote, which would swallow the
//!   rows after it) is rejected alone, at its first line, and the next lines are read as rows.
//! - The header must name `custID` and `phone` (any case). A file without them is refused as a
//!   whole ([`FileError::MissingColumns`]) before any row is read.
//! - A `timezone` column (any case) names the recipient's time zone for the calling window; a
//!   value that is not an IANA time zone name rejects the row (empty: the number's zones).
//! - Every other column becomes a contact attribute. Column names are made valid Connect
//!   attribute keys with [`outbound_core::intake::sanitise_attribute_key`] (letters, digits, `-`, `_`
//!   kept; any other character becomes `_`; an empty name becomes `column<N>`); two columns that
//!   end up with the same key are kept as `key`, `key_2`… A row's attributes over
//!   [`INTAKE_ATTRIBUTES_LIMIT_BYTES`] reject the row.
//! - Each row becomes a [`Contact`] or a [`RejectRecord`] with the physical line where the row
//!   starts (the header is line 1; CRLF, LF and a lone CR each end a line; a quoted line break
//!   inside a row counts, blank lines are skipped but counted) and the reason. A row whose customer id and normalised number were
//!   already queued from this file is a duplicate: counted, not queued again.
//! - Memory per file: one 64 KiB read buffer, one 64 KiB record buffer (a row longer than that is
//!   rejected, and skipped without being held), and the duplicate filter's 10–21 bytes per
//!   queued contact (see [`outbound_core::intake::dedupe`]).
//!
//! The parser is `csv-core`'s state machine, fed by [`CsvReader`] (any `std::io::Read`) or
//! [`AsyncCsvReader`] (any `tokio::io::AsyncRead`, e.g. an S3 object body).

use outbound_core::calling_window::check_time_zone_attribute;
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::contact_key::ContactKeyer;
use outbound_core::destinations::DestinationRules;
use outbound_core::intake::dedupe::DuplicateFilter;
use outbound_core::intake::{
    attributes_too_large, sanitise_attribute_key, unique_key, INTAKE_ATTRIBUTES_LIMIT_BYTES,
};
use outbound_core::mask::mask_phone;
use outbound_core::phone::normalise;
use outbound_core::records::{bounded_name, RejectRecord, MAX_CAMPAIGN_CHARS};
use phonenumber::country;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Longest row accepted, in bytes after unquoting.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Most fields in a row (and columns in the header).
pub const MAX_FIELDS: usize = 1_024;
/// Bytes read from the source at a time.
pub const READ_BUFFER_BYTES: usize = 64 * 1024;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// What a file's rows are read for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    /// Campaign of every contact of the file (see [`campaign_from_key`]).
    pub campaign: String,
    /// The object key, recorded in each contact's source and each reject.
    pub object: String,
    /// Region for numbers written without `+` (the `isocountrycode` parameter).
    pub default_region: Option<country::Id>,
    /// The destinations that may be dialed (`ALLOWED_COUNTRIES`); other rows are rejected.
    pub destinations: DestinationRules,
    /// Names each accepted contact (see [`outbound_core::contact_key`]).
    pub keyer: ContactKeyer,
    /// A file without a `custID` column is read, each row named after its line (`line-<n>`):
    /// a do-not-call list needs only numbers. Contact lists require the column.
    pub customer_id_optional: bool,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// A valid contact, seen for the first time in this file: to be queued.
    Contact(Contact),
    /// Refused, with the reason.
    Rejected(RejectRecord),
    /// Same customer id and number as an earlier row: counted, not queued.
    Duplicate { line: u64, customer_key: String },
}

/// Running totals of a file: `rows = accepted + rejected + duplicates`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct IntakeCounts {
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
}

/// A file refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(
        "the header must name the columns custID and phone; missing {missing:?}; found {found:?}"
    )]
    MissingColumns {
        missing: Vec<&'static str>,
        found: Vec<String>,
    },
    #[error("the file has no header row")]
    Empty,
    #[error("the header row is not valid UTF-8")]
    HeaderNotUtf8,
    #[error("the header row is longer than {MAX_RECORD_BYTES} bytes or has more than {MAX_FIELDS} columns")]
    HeaderTooLarge,
    /// The source failed while being read (an S3 stream cut, say): the file was not refused,
    /// reading it should be tried again.
    #[error("reading the file failed: {0}")]
    Read(#[from] std::io::Error),
}

impl FileError {
    /// Whether the file itself is at fault (as opposed to a read that failed).
    pub fn is_refusal(&self) -> bool {
        !matches!(self, FileError::Read(_))
    }

    /// The one line of the reject report for a refused file (line 1: the header).
    pub fn reject_record(&self, object: &str) -> RejectRecord {
        RejectRecord {
            line: 1,
            reason: format!("file rejected: {self}"),
            customer_key: None,
            phone_masked: None,
            source: object.to_string(),
        }
    }
}

/// A campaign id the operator gives (object metadata or key prefix): the characters keys,
/// execution names and result partitions accept, at most [`MAX_CAMPAIGN_CHARS`].
fn valid_campaign_id(id: &str) -> bool {
    (1..=MAX_CAMPAIGN_CHARS).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The campaign of an uploaded list, in this order (docs/architecture.md, "The campaign id"):
/// the object's metadata `campaign` (`x-amz-meta-campaign`), the key prefix
/// `campaigns/<id>/…`, else the file's stem ([`campaign_from_key`]). An id given by metadata or
/// prefix that is not `[A-Za-z0-9_-]{1,64}` refuses the file (`Err` says why): it is never
/// loaded under another name.
pub fn campaign_of_object(key: &str, metadata_campaign: Option<&str>) -> Result<String, String> {
    if let Some(id) = metadata_campaign.map(str::trim) {
        return if valid_campaign_id(id) {
            Ok(id.to_string())
        } else {
            Err(format!(
                "the object's campaign metadata must be 1 to {MAX_CAMPAIGN_CHARS} letters, digits, '-' or '_'"
            ))
        };
    }
    if let Some(rest) = key.strip_prefix("campaigns/") {
        if let Some((id, file)) = rest.split_once('/') {
            if !file.is_empty() {
                return if valid_campaign_id(id) {
                    Ok(id.to_string())
                } else {
                    Err(format!(
                        "the campaign in the key prefix campaigns/<id>/ must be 1 to {MAX_CAMPAIGN_CHARS} letters, digits, '-' or '_'"
                    ))
                };
            }
        }
    }
    Ok(campaign_from_key(key))
}

/// The campaign of a list: the object's file name without its extension
/// (`uploads/spring-renewals.csv` → `spring-renewals`), or `default` when that is empty. A name
/// longer than [`MAX_CAMPAIGN_CHARS`] is bounded ([`bounded_name`]): keys, execution names and
/// attributes built from it stay within their limits.
pub fn campaign_from_key(key: &str) -> String {
    let file = key.rsplit('/').next().unwrap_or(key);
    let stem = match file.rfind('.') {
        Some(0) | None => file,
        Some(i) => &file[..i],
    };
    let stem = stem.trim();
    if stem.is_empty() {
        "default".to_string()
    } else {
        bounded_name(stem, MAX_CAMPAIGN_CHARS)
    }
}

// ---------------------------------------------------------------------------------------------
// Record splitting (csv-core, no I/O)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Problem {
    TooLong,
    TooManyFields,
}

enum Event {
    NeedInput,
    Record,
    End,
}

struct Splitter {
    core: csv_core::Reader,
    out: Vec<u8>,
    ends: Vec<usize>,
    nout: usize,
    nend: usize,
    /// Where an oversized record's bytes go while it is skipped.
    scratch: Vec<u8>,
    scratch_ends: Vec<usize>,
    problem: Option<Problem>,
    in_record: bool,
    record_line: u64,
    bom_checked: bool,
    /// Physical line of the next byte: CRLF, LF and a lone CR each end a line.
    line: u64,
    prev_cr: bool,
    /// Where in the input of the last `feed` call a new row began (after blank lines and the
    /// byte-order mark), so that the intake can keep its raw bytes.
    started_at: Option<usize>,
}

impl Splitter {
    fn new() -> Self {
        Self {
            core: csv_core::Reader::new(),
            out: vec![0; MAX_RECORD_BYTES],
            ends: vec![0; MAX_FIELDS],
            nout: 0,
            nend: 0,
            scratch: vec![0; 4096],
            scratch_ends: vec![0; 64],
            problem: None,
            in_record: false,
            record_line: 1,
            bom_checked: false,
            line: 1,
            prev_cr: false,
            started_at: None,
        }
    }

    /// Starts parsing in the middle of a file: at physical line `line`, after the byte-order
    /// mark; `after_cr`: the byte before was a CR (a LF next ends that line, not a new one).
    fn resume_at(line: u64, after_cr: bool) -> Self {
        let mut s = Self::new();
        s.bom_checked = true;
        s.line = line;
        s.record_line = line;
        s.prev_cr = after_cr;
        s
    }

    /// Forgets the row in progress and goes on parsing at the start of physical line `line`.
    fn restart_at_line(&mut self, line: u64) {
        self.core = csv_core::Reader::new();
        self.in_record = false;
        self.problem = None;
        self.nout = 0;
        self.nend = 0;
        self.line = line;
        self.prev_cr = false;
        self.started_at = None;
    }

    /// True while the row in progress has passed a line break (inside a quoted field).
    fn row_spans_lines(&self) -> bool {
        self.in_record && self.line > self.record_line
    }

    /// Counts the line ends in bytes consumed: every CR, and every LF not right after a CR.
    fn count_lines(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if b == b'\r' || (b == b'\n' && !self.prev_cr) {
                self.line += 1;
            }
            self.prev_cr = b == b'\r';
        }
    }

    /// Parses from `input`; returns the bytes consumed and what happened. After
    /// [`Event::Record`], [`Splitter::record`] describes the row until the next call.
    fn feed(&mut self, mut input: &[u8], eof: bool) -> (usize, Event) {
        let mut consumed = 0;
        if !self.bom_checked {
            if input.len() < BOM.len() && !eof && BOM.starts_with(input) {
                return (0, Event::NeedInput);
            }
            if input.starts_with(BOM) {
                input = &input[BOM.len()..];
                consumed += BOM.len();
            }
            self.bom_checked = true;
        }
        if !self.in_record {
            // Blank lines between rows are skipped here (csv-core would skip them too) so that
            // the row's first line is known exactly.
            let skip = input
                .iter()
                .take_while(|b| **b == b'\n' || **b == b'\r')
                .count();
            self.count_lines(&input[..skip]);
            input = &input[skip..];
            consumed += skip;
            if input.is_empty() {
                return (consumed, if eof { Event::End } else { Event::NeedInput });
            }
            self.in_record = true;
            self.started_at = Some(consumed);
            self.record_line = self.line;
            self.nout = 0;
            self.nend = 0;
            self.problem = None;
        }
        // csv-core takes an empty input for the end of the data: without more bytes (a read that
        // failed and will be resumed) say so instead of closing the row in progress.
        if input.is_empty() && !eof {
            return (consumed, Event::NeedInput);
        }
        loop {
            let (res, nin, nout, nend) = if self.problem.is_some() {
                // Skipping an oversized row: its bytes are parsed (to find where it ends) and
                // dropped.
                let (res, nin, _, _) =
                    self.core
                        .read_record(input, &mut self.scratch, &mut self.scratch_ends);
                (res, nin, 0, 0)
            } else {
                self.core.read_record(
                    input,
                    &mut self.out[self.nout..],
                    &mut self.ends[self.nend..],
                )
            };
            self.count_lines(&input[..nin]);
            input = &input[nin..];
            consumed += nin;
            self.nout += nout;
            self.nend += nend;
            match res {
                csv_core::ReadRecordResult::InputEmpty => {
                    if !eof {
                        return (consumed, Event::NeedInput);
                    }
                    // At the end of the data csv-core wants to be called with no input to close
                    // the last row; `input` is empty here, so the loop does exactly that.
                }
                csv_core::ReadRecordResult::OutputFull => {
                    self.problem = Some(Problem::TooLong);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    self.problem.get_or_insert(Problem::TooManyFields);
                }
                csv_core::ReadRecordResult::Record => {
                    self.in_record = false;
                    return (consumed, Event::Record);
                }
                csv_core::ReadRecordResult::End => {
                    self.in_record = false;
                    return (consumed, Event::End);
                }
            }
        }
    }

    fn record(&self) -> RawRecord<'_> {
        RawRecord {
            line: self.record_line,
            data: &self.out[..self.nout],
            ends: if self.problem.is_some() {
                &[]
            } else {
                &self.ends[..self.nend]
            },
            problem: self.problem,
        }
    }
}

struct RawRecord<'a> {
    line: u64,
    data: &'a [u8],
    ends: &'a [usize],
    problem: Option<Problem>,
}

impl RawRecord<'_> {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn field(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.data.get(start..end)
    }
}

/// Whether the raw bytes of one row follow RFC 4180's quoting strictly: a quoted field starts
/// at the start of a field, and its closing quote is followed by a delimiter, a line end or the
/// end of the data. Only rows whose quoted fields hold line breaks are checked: an open quote
/// makes the parser run on into the next rows, and the quote that finally ends the field is
/// then almost always followed by the rest of a later field, which this check finds.
fn well_quoted(raw: &[u8]) -> bool {
    let mut i = 0;
    let mut field_start = true;
    while i < raw.len() {
        let b = raw[i];
        if field_start && b == b'"' {
            i += 1;
            loop {
                match raw.get(i) {
                    None => return false,
                    Some(b'"') if raw.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => {
                        i += 1;
                        break;
                    }
                    Some(_) => i += 1,
                }
            }
            if !matches!(raw.get(i), None | Some(b',' | b'\n' | b'\r')) {
                return false;
            }
            field_start = false;
            continue;
        }
        match b {
            b',' => field_start = true,
            b'\n' | b'\r' => return true,
            _ => field_start = false,
        }
        i += 1;
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Header and rows
// ---------------------------------------------------------------------------------------------

/// What the header row says: where `custID` and `phone` are and which attribute key every other
/// column becomes. Carried in a [`ReadPosition`], so a later invocation reads the rest of the file
/// with the same columns without reading the header again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// `None`: the file has no `custID` column ([`CsvOptions::customer_id_optional`]).
    cust: Option<usize>,
    phone: usize,
    /// (column, attribute key) for every other column.
    attributes: Vec<(usize, String)>,
    columns: usize,
}

/// Where the next unread row of a file starts (a row boundary): what another reader needs to
/// go on from there with the same results, given the bytes from `offset` on
/// ([`CsvIntake::resume`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReadPosition {
    /// Byte offset (in the object) of the first byte not yet consumed: the next row, or blank
    /// lines before it.
    pub offset: u64,
    /// The physical line that byte is on (the header is line 1).
    pub line: u64,
    /// The byte before `offset` was a CR: a LF at `offset` completes that line end (CRLF).
    pub after_cr: bool,
    /// The header's columns.
    pub header: Header,
}

impl Header {
    fn parse(rec: &RawRecord<'_>, customer_id_optional: bool) -> Result<Header, FileError> {
        if rec.problem.is_some() {
            return Err(FileError::HeaderTooLarge);
        }
        let mut names = Vec::with_capacity(rec.len());
        for i in 0..rec.len() {
            let raw = std::str::from_utf8(rec.field(i).unwrap_or_default())
                .map_err(|_| FileError::HeaderNotUtf8)?;
            names.push(raw.trim_start_matches('\u{feff}').trim().to_string());
        }
        let find = |wanted: &str| names.iter().position(|n| n.eq_ignore_ascii_case(wanted));
        let (cust, phone) = (find("custID"), find("phone"));
        let (true, Some(phone)) = (cust.is_some() || customer_id_optional, phone) else {
            let mut missing = Vec::new();
            if cust.is_none() && !customer_id_optional {
                missing.push("custID");
            }
            if phone.is_none() {
                missing.push("phone");
            }
            return Err(FileError::MissingColumns {
                missing,
                found: names
                    .iter()
                    .take(20)
                    .map(|n| n.chars().take(40).collect())
                    .collect(),
            });
        };
        let mut taken = BTreeSet::new();
        let attributes = names
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != cust && *i != phone)
            .map(|(i, name)| {
                let key = if name.is_empty() {
                    format!("column{}", i + 1)
                } else {
                    sanitise_attribute_key(name)
                };
                (i, unique_key(key, &mut taken))
            })
            .collect();
        Ok(Header {
            cust,
            phone,
            attributes,
            columns: names.len(),
        })
    }
}

fn build_contact(
    header: &Header,
    opts: &CsvOptions,
    rec: &RawRecord<'_>,
) -> Result<Contact, RejectRecord> {
    let text = |i: usize| rec.field(i).map(|b| std::str::from_utf8(b).map(str::trim));
    let line_name = format!("line-{}", rec.line);
    let cust = match header.cust {
        Some(column) => text(column),
        None => Some(Ok(line_name.as_str())),
    };
    let phone = text(header.phone);
    let reject = |reason: String| RejectRecord {
        line: rec.line,
        reason,
        customer_key: match cust {
            Some(Ok(c)) if !c.is_empty() => Some(c.chars().take(256).collect()),
            _ => None,
        },
        phone_masked: match phone {
            Some(Ok(p)) if !p.is_empty() => Some(mask_phone(p)),
            _ => None,
        },
        source: opts.object.clone(),
    };
    match rec.problem {
        Some(Problem::TooLong) => {
            return Err(reject(format!(
                "row is longer than {MAX_RECORD_BYTES} bytes"
            )))
        }
        Some(Problem::TooManyFields) => {
            return Err(reject(format!("row has more than {MAX_FIELDS} fields")))
        }
        None => {}
    }
    if rec.len() > header.columns
        && (header.columns..rec.len()).any(|i| !rec.field(i).unwrap_or_default().is_empty())
    {
        return Err(reject(format!(
            "row has {} fields, the header has {}",
            rec.len(),
            header.columns
        )));
    }
    let key = match cust {
        None => return Err(reject("missing custID".into())),
        Some(Err(_)) => return Err(reject("custID is not valid UTF-8".into())),
        Some(Ok("")) => return Err(reject("missing custID".into())),
        Some(Ok(c)) => c,
    };
    let raw_phone = match phone {
        None => return Err(reject("missing phone".into())),
        Some(Err(_)) => return Err(reject("phone is not valid UTF-8".into())),
        Some(Ok("")) => return Err(reject("missing phone".into())),
        Some(Ok(p)) => p,
    };
    let e164 = normalise(raw_phone, opts.default_region)
        .map_err(|e| reject(format!("invalid phone: {e}")))?;
    opts.destinations.check(&e164).map_err(reject)?;
    let mut attributes = BTreeMap::new();
    let mut size = 0usize;
    for (i, name) in &header.attributes {
        let Some(value) = rec.field(*i) else {
            continue;
        };
        let Ok(value) = std::str::from_utf8(value) else {
            return Err(reject(format!("column {name} is not valid UTF-8")));
        };
        size += name.len() + value.len();
        attributes.insert(name.clone(), value.to_string());
    }
    if size > INTAKE_ATTRIBUTES_LIMIT_BYTES {
        return Err(reject(attributes_too_large(size)));
    }
    // The recipient's own time zone (the calling window is read on its clock): a name that is
    // not IANA's would silently fall back to the number's zones, so the row is refused.
    check_time_zone_attribute(&attributes).map_err(reject)?;
    Ok(Contact {
        campaign: opts.campaign.clone(),
        key: key.to_string(),
        contact_key: opts.keyer.key(&opts.campaign, key, &e164.number),
        phone: e164.number,
        attempt: 1,
        attributes,
        source: ContactSource::Csv {
            object: opts.object.clone(),
            line: rec.line,
        },
    })
}

// ---------------------------------------------------------------------------------------------
// The intake state machine and its two drivers
// ---------------------------------------------------------------------------------------------

/// One step of [`CsvIntake`].
pub enum Step {
    Row(RowOutcome),
    /// Read more bytes into [`CsvIntake::space`] and call [`CsvIntake::advance`].
    NeedInput,
    /// Every row was read.
    Done,
}

/// The CSV intake without I/O: feed it bytes, take rows. Use [`CsvReader`] or
/// [`AsyncCsvReader`] unless the bytes come from somewhere special.
pub struct CsvIntake {
    opts: CsvOptions,
    splitter: Splitter,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    eof: bool,
    header: Option<Header>,
    dedupe: DuplicateFilter,
    counts: IntakeCounts,
    done: bool,
    bytes_read: u64,
    /// Where the row in progress starts in `buf`: its raw bytes are kept until it ends, so a
    /// row whose quoting is broken can be rejected alone and the lines after it read again.
    row_start: Option<usize>,
}

impl CsvIntake {
    pub fn new(opts: CsvOptions) -> Self {
        Self {
            opts,
            splitter: Splitter::new(),
            buf: vec![0; READ_BUFFER_BYTES],
            pos: 0,
            filled: 0,
            eof: false,
            header: None,
            dedupe: DuplicateFilter::new(),
            counts: IntakeCounts::default(),
            done: false,
            bytes_read: 0,
            row_start: None,
        }
    }

    /// Goes on reading a file at `at` (from an earlier reader's [`CsvIntake::position`]): the
    /// bytes fed from now on are the file's from `at.offset`. Line numbers stay the file's, the
    /// header is not read again; counts and the duplicate filter start empty (a contact that
    /// repeats one of an earlier segment is left to the ledger's conditional put).
    pub fn resume(opts: CsvOptions, at: ReadPosition) -> Self {
        let mut intake = Self::new(opts);
        intake.splitter = Splitter::resume_at(at.line, at.after_cr);
        intake.header = Some(at.header);
        intake.bytes_read = at.offset;
        intake
    }

    /// Where the next unread row starts, when the last step returned a row (or nothing was read
    /// after the header yet): `None` in the middle of a row, before the header or at the end.
    pub fn position(&self) -> Option<ReadPosition> {
        let header = self.header.clone()?;
        if self.done || self.splitter.in_record || self.row_start.is_some() {
            return None;
        }
        Some(ReadPosition {
            offset: self.bytes_read - (self.filled - self.pos) as u64,
            line: self.splitter.line,
            after_cr: self.splitter.prev_cr,
            header,
        })
    }

    pub fn counts(&self) -> IntakeCounts {
        self.counts
    }

    /// Bytes taken from the source so far (from the start of the file, also after
    /// [`CsvIntake::resume`]): where to resume reading after the source broke.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The attribute keys the header's extra columns became, in column order (after the header
    /// was read).
    pub fn attribute_keys(&self) -> Vec<String> {
        self.header
            .as_ref()
            .map(|h| h.attributes.iter().map(|(_, k)| k.clone()).collect())
            .unwrap_or_default()
    }

    /// Bytes held by the duplicate filter.
    pub fn duplicate_filter_bytes(&self) -> usize {
        self.dedupe.allocated_bytes()
    }

    /// Where to read the next bytes into.
    pub fn space(&mut self) -> &mut [u8] {
        let keep_from = self.row_start.map_or(self.pos, |s| s.min(self.pos));
        if keep_from > 0 {
            self.buf.copy_within(keep_from..self.filled, 0);
            self.filled -= keep_from;
            self.pos -= keep_from;
            self.row_start = self.row_start.map(|s| s - keep_from);
        }
        &mut self.buf[self.filled..]
    }

    /// The row in progress fills the whole buffer: it cannot be kept for a second reading.
    fn buffer_full_of_row(&self) -> bool {
        let keep_from = self.row_start.map_or(self.pos, |s| s.min(self.pos));
        self.filled - keep_from >= self.buf.len()
    }

    /// Rejects the row that starts at `row_start` as one physical line whose quoted field is
    /// never properly closed, and goes on reading at the line after it. Without this, the
    /// open quote would swallow the following rows into one field and they would disappear.
    fn reject_unbalanced_row(&mut self) -> RowOutcome {
        let start = self.row_start.take().unwrap_or(self.pos);
        let line = self.splitter.record_line;
        let raw = &self.buf[start..self.filled];
        let next_line = match raw.iter().position(|b| *b == b'\n' || *b == b'\r') {
            Some(i) if raw[i] == b'\r' && raw.get(i + 1) == Some(&b'\n') => i + 2,
            Some(i) => i + 1,
            None => raw.len(),
        };
        self.pos = start + next_line;
        self.splitter.restart_at_line(line + 1);
        self.counts.rows += 1;
        self.counts.rejected += 1;
        RowOutcome::Rejected(RejectRecord {
            line,
            reason: "unbalanced quote: a quoted field opened on this line is not closed \
                     properly; the following lines were read as rows of their own"
                .into(),
            customer_key: None,
            phone_masked: None,
            source: self.opts.object.clone(),
        })
    }

    /// `n` bytes were read into [`CsvIntake::space`]; 0 means the end of the data.
    pub fn advance(&mut self, n: usize) {
        if n == 0 {
            self.eof = true;
        }
        self.bytes_read += n as u64;
        self.filled = (self.filled + n).min(self.buf.len());
    }

    pub fn step(&mut self) -> Result<Step, FileError> {
        loop {
            if self.done {
                return Ok(Step::Done);
            }
            let before = self.pos;
            let (consumed, event) = self
                .splitter
                .feed(&self.buf[self.pos..self.filled], self.eof);
            if let Some(offset) = self.splitter.started_at.take() {
                self.row_start = Some(before + offset);
            }
            self.pos += consumed;
            match event {
                Event::NeedInput => {
                    if self.header.is_some() && self.buffer_full_of_row() {
                        if self.splitter.row_spans_lines() {
                            // A quoted field running over 64 KiB of lines is an open quote.
                            return Ok(Step::Row(self.reject_unbalanced_row()));
                        }
                        // One line longer than the buffer: the splitter skips it as too long.
                        self.row_start = None;
                    }
                    return Ok(Step::NeedInput);
                }
                Event::End => {
                    self.done = true;
                    if self.header.is_none() {
                        return Err(FileError::Empty);
                    }
                    return Ok(Step::Done);
                }
                Event::Record => {
                    let row = self.row_start.take().map(|start| start..self.pos);
                    if self.header.is_some() && self.splitter.problem.is_none() {
                        if let Some(row) = row.clone() {
                            let spans_lines = self
                                .splitter
                                .record()
                                .data
                                .iter()
                                .any(|b| *b == b'\n' || *b == b'\r');
                            if spans_lines && !well_quoted(&self.buf[row.clone()]) {
                                self.row_start = Some(row.start);
                                return Ok(Step::Row(self.reject_unbalanced_row()));
                            }
                        }
                    }
                    let rec = self.splitter.record();
                    let Some(header) = &self.header else {
                        match Header::parse(&rec, self.opts.customer_id_optional) {
                            Ok(h) => self.header = Some(h),
                            Err(e) => {
                                self.done = true;
                                return Err(e);
                            }
                        }
                        continue;
                    };
                    self.counts.rows += 1;
                    let outcome = match build_contact(header, &self.opts, &rec) {
                        Ok(contact) => {
                            if self.dedupe.first_time(&contact.key, &contact.phone) {
                                self.counts.accepted += 1;
                                RowOutcome::Contact(contact)
                            } else {
                                self.counts.duplicates += 1;
                                RowOutcome::Duplicate {
                                    line: rec.line,
                                    customer_key: contact.key,
                                }
                            }
                        }
                        Err(reject) => {
                            self.counts.rejected += 1;
                            RowOutcome::Rejected(reject)
                        }
                    };
                    return Ok(Step::Row(outcome));
                }
            }
        }
    }
}

/// Reads rows from any [`std::io::Read`].
pub struct CsvReader<R> {
    source: R,
    intake: CsvIntake,
}

impl<R: std::io::Read> CsvReader<R> {
    pub fn new(source: R, opts: CsvOptions) -> Self {
        Self {
            source,
            intake: CsvIntake::new(opts),
        }
    }

    pub fn counts(&self) -> IntakeCounts {
        self.intake.counts()
    }

    pub fn intake(&self) -> &CsvIntake {
        &self.intake
    }

    /// Goes on reading at `at`: `source` gives the file's bytes from `at.offset` on.
    pub fn resume(source: R, opts: CsvOptions, at: ReadPosition) -> Self {
        Self {
            source,
            intake: CsvIntake::resume(opts, at),
        }
    }

    /// Where the next unread row starts (see [`CsvIntake::position`]).
    pub fn position(&self) -> Option<ReadPosition> {
        self.intake.position()
    }

    /// The next row, `None` at the end of the file.
    pub fn next_row(&mut self) -> Result<Option<RowOutcome>, FileError> {
        loop {
            match self.intake.step()? {
                Step::Row(outcome) => return Ok(Some(outcome)),
                Step::Done => return Ok(None),
                Step::NeedInput => {
                    let n = loop {
                        match self.source.read(self.intake.space()) {
                            Ok(n) => break n,
                            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                            Err(e) => return Err(FileError::Read(e)),
                        }
                    };
                    self.intake.advance(n);
                }
            }
        }
    }
}

/// Reads rows from any [`tokio::io::AsyncRead`] (an S3 object body, a file).
pub struct AsyncCsvReader<R> {
    source: R,
    intake: CsvIntake,
}

impl<R: tokio::io::AsyncRead + Unpin> AsyncCsvReader<R> {
    pub fn new(source: R, opts: CsvOptions) -> Self {
        Self {
            source,
            intake: CsvIntake::new(opts),
        }
    }

    pub fn counts(&self) -> IntakeCounts {
        self.intake.counts()
    }

    pub fn intake(&self) -> &CsvIntake {
        &self.intake
    }

    /// Bytes taken from the source so far.
    pub fn bytes_read(&self) -> u64 {
        self.intake.bytes_read()
    }

    /// Goes on reading at `at`: `source` gives the file's bytes from `at.offset` on (a ranged
    /// read).
    pub fn resume(source: R, opts: CsvOptions, at: ReadPosition) -> Self {
        Self {
            source,
            intake: CsvIntake::resume(opts, at),
        }
    }

    /// Where the next unread row starts (see [`CsvIntake::position`]).
    pub fn position(&self) -> Option<ReadPosition> {
        self.intake.position()
    }

    /// Continues from another source after the first one failed with [`FileError::Read`]: the
    /// new source must start at byte [`AsyncCsvReader::bytes_read`] of the same data (a ranged
    /// re-read). Rows already returned are not returned again.
    pub fn replace_source(&mut self, source: R) {
        self.source = source;
    }

    /// The next row, `None` at the end of the file.
    pub async fn next_row(&mut self) -> Result<Option<RowOutcome>, FileError> {
        use tokio::io::AsyncReadExt;
        loop {
            match self.intake.step()? {
                Step::Row(outcome) => return Ok(Some(outcome)),
                Step::Done => return Ok(None),
                Step::NeedInput => {
                    let n = self.source.read(self.intake.space()).await?;
                    self.intake.advance(n);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::phone::region_id;
    use proptest::prelude::*;
    use std::io::Read;

    fn opts() -> CsvOptions {
        CsvOptions {
            campaign: "spring".into(),
            object: "uploads/spring.csv".into(),
            default_region: Some(region_id("GB").unwrap()),
            destinations: DestinationRules::parse("GB,US,CA,AU,FR,DE,IT,ES,IE,NL").unwrap(),
            keyer: outbound_core::testkit::contact_keyer(),
            customer_id_optional: false,
        }
    }

    fn read_all(input: &[u8]) -> Result<(Vec<RowOutcome>, IntakeCounts), FileError> {
        let mut r = CsvReader::new(input, opts());
        let mut rows = Vec::new();
        while let Some(row) = r.next_row()? {
            rows.push(row);
        }
        Ok((rows, r.counts()))
    }

    /// A reader that hands out at most `n` bytes per read, to cross every buffer boundary.
    struct Trickle<'a> {
        data: &'a [u8],
        n: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let k = self.n.min(buf.len()).min(self.data.len());
            buf[..k].copy_from_slice(&self.data[..k]);
            self.data = &self.data[k..];
            Ok(k)
        }
    }

    fn read_trickle(input: &[u8], n: usize) -> Result<(Vec<RowOutcome>, IntakeCounts), FileError> {
        let mut r = CsvReader::new(Trickle { data: input, n }, opts());
        let mut rows = Vec::new();
        while let Some(row) = r.next_row()? {
            rows.push(row);
        }
        Ok((rows, r.counts()))
    }

    fn contact(o: &RowOutcome) -> &Contact {
        match o {
            RowOutcome::Contact(c) => c,
            other => panic!("expected a contact, got {other:?}"),
        }
    }

    fn rejected(o: &RowOutcome) -> &RejectRecord {
        match o {
            RowOutcome::Rejected(r) => r,
            other => panic!("expected a reject, got {other:?}"),
        }
    }

    #[test]
    fn a_timezone_column_must_name_an_iana_zone() {
        let csv = "custID,phone,TimeZone\n\
                   C-1,020 7946 0001,America/Los_Angeles\n\
                   C-2,020 7946 0002,Pacific Standard\n\
                   C-3,020 7946 0003,\n";
        let (rows, counts) = read_all(csv.as_bytes()).unwrap();
        assert_eq!((counts.accepted, counts.rejected), (2, 1));
        assert_eq!(
            contact(&rows[0])
                .attributes
                .get("TimeZone")
                .map(String::as_str),
            Some("America/Los_Angeles")
        );
        let bad = rejected(&rows[1]);
        assert_eq!(bad.line, 3);
        assert!(
            bad.reason.contains("'Pacific Standard'") && bad.reason.contains("IANA"),
            "{}",
            bad.reason
        );
        // Empty: no override, the number's zones apply.
        assert_eq!(contact(&rows[2]).key, "C-3");
    }

    #[test]
    fn good_bad_and_duplicate_rows() {
        let csv = "custID,phone,firstName\n\
                   C-1,020 7946 0001,Ann\n\
                   C-2,+1 212 555 0123,Bob\n\
                   C-3,12345,Cy\n\
                   ,020 7946 0004,Dee\n\
                   C-5,,Eve\n\
                   C-1,+44 20 7946 0001,Ann again\n";
        let (rows, counts) = read_all(csv.as_bytes()).unwrap();
        assert_eq!(
            counts,
            IntakeCounts {
                rows: 6,
                accepted: 2,
                rejected: 3,
                duplicates: 1
            }
        );
        let c1 = contact(&rows[0]);
        assert_eq!(c1.key, "C-1");
        assert_eq!(c1.phone, "+442079460001");
        assert_eq!(c1.campaign, "spring");
        assert_eq!(
            c1.attributes.get("firstName").map(String::as_str),
            Some("Ann")
        );
        assert_eq!(
            c1.source,
            ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 2
            }
        );
        assert_eq!(contact(&rows[1]).phone, "+12125550123");
        let bad = rejected(&rows[2]);
        assert_eq!(bad.line, 4);
        assert_eq!(
            bad.reason,
            "invalid phone: phone number is not a valid number for its country"
        );
        assert_eq!(bad.customer_key.as_deref(), Some("C-3"));
        assert_eq!(bad.phone_masked.as_deref(), Some("*****"));
        assert_eq!(rejected(&rows[3]).reason, "missing custID");
        assert_eq!(rejected(&rows[3]).line, 5);
        assert_eq!(rejected(&rows[4]).reason, "missing phone");
        // Same customer, same number in another spelling: a duplicate, reported with its line.
        assert_eq!(
            rows[5],
            RowOutcome::Duplicate {
                line: 7,
                customer_key: "C-1".into()
            }
        );
    }

    #[test]
    fn bom_crlf_quotes_and_embedded_newlines() {
        let csv = b"\xEF\xBB\xBFCustId,Phone,Notes,First Name\r\n\
                    C-1,020 7946 0001,\"multi\r\nline, with comma\",Ann\r\n\
                    \r\n\
                    \"C-2\",\"+61 491 570 156\",\"say \"\"hi\"\"\",Bo\r\n\
                    C-3,+1 416 555 0123,x,Cy";
        let (rows, counts) = read_all(csv).unwrap();
        assert_eq!(counts.accepted, 3, "{rows:?}");
        let c1 = contact(&rows[0]);
        assert_eq!(
            c1.attributes.get("Notes").map(String::as_str),
            Some("multi\r\nline, with comma")
        );
        assert_eq!(
            c1.attributes.get("First_Name").map(String::as_str),
            Some("Ann")
        );
        // Line 2 holds a quoted line break, line 4 is blank: C-2 starts on line 5.
        let c2 = contact(&rows[1]);
        assert_eq!(
            c2.source,
            ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 5
            }
        );
        assert_eq!(
            c2.attributes.get("Notes").map(String::as_str),
            Some("say \"hi\"")
        );
        // No line end after the last row.
        let c3 = contact(&rows[2]);
        assert_eq!(
            c3.source,
            ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 6
            }
        );
        assert_eq!(c3.phone, "+14165550123");
    }

    /// What each line became: (line, Some(customer id) for a contact, None for a reject).
    fn lines(rows: &[RowOutcome]) -> Vec<(u64, Option<String>)> {
        rows.iter()
            .map(|r| match r {
                RowOutcome::Contact(c) => match &c.source {
                    ContactSource::Csv { line, .. } => (*line, Some(c.key.clone())),
                    other => panic!("{other:?}"),
                },
                RowOutcome::Rejected(r) => (r.line, None),
                RowOutcome::Duplicate { line, .. } => (*line, None),
            })
            .collect()
    }

    #[test]
    fn an_unbalanced_quote_rejects_its_row_and_the_rows_after_it_are_read() {
        // The quote opened on line 3 is never closed: the parser would run on into the next
        // rows and end the field at line 5's first quote.
        let csv = b"custID,phone,note\n\
                    C-1,020 7946 0001,fine\n\
                    C-2,020 7946 0002,\"opened and never closed\n\
                    C-3,020 7946 0003,plain\n\
                    C-4,020 7946 0004,\"quoted, closed\"\n\
                    C-5,020 7946 0005,\"multi\nline\"\n\
                    C-6,020 7946 0006,last\n";
        for (rows, counts) in [
            read_all(csv).unwrap(),
            read_trickle(csv, 1).unwrap(),
            read_trickle(csv, 7).unwrap(),
        ] {
            assert_eq!(
                lines(&rows),
                vec![
                    (2, Some("C-1".into())),
                    (3, None),
                    (4, Some("C-3".into())),
                    (5, Some("C-4".into())),
                    (6, Some("C-5".into())),
                    (8, Some("C-6".into())),
                ],
                "{rows:?}"
            );
            assert!(rejected(&rows[1]).reason.starts_with("unbalanced quote"));
            assert_eq!(counts.rows, 6);
            assert_eq!((counts.accepted, counts.rejected), (5, 1));
            // A correct multi-line field is still one field.
            assert_eq!(
                contact(&rows[4]).attributes.get("note").map(String::as_str),
                Some("multi\nline")
            );
        }
    }

    #[test]
    fn an_open_quote_in_a_middle_column_or_running_to_the_end_loses_no_row() {
        // Line 2 opens a quote in the phone column and no quote follows: the field would run
        // to the end of the file.
        let csv = b"custID,phone,note\r\n\
                    C-1,\"020 7946 0001,x\r\n\
                    C-2,020 7946 0002,y\r\n\
                    C-3,020 7946 0003,z";
        let (rows, counts) = read_all(csv).unwrap();
        assert_eq!(
            lines(&rows),
            vec![(2, None), (3, Some("C-2".into())), (4, Some("C-3".into()))],
            "{rows:?}"
        );
        assert_eq!((counts.accepted, counts.rejected), (2, 1));
    }

    #[test]
    fn an_open_quote_followed_by_more_than_a_buffer_of_rows_loses_none_of_them() {
        let mut csv = b"custID,phone,note\nC-0,020 7946 0000,\"open\n".to_vec();
        let n = 3_000; // about 90 KiB after the open quote, more than the 64 KiB kept
        for i in 1..=n {
            csv.extend_from_slice(format!("C-{i},020 7946 {:04},row {i}\n", i % 10_000).as_bytes());
        }
        for (rows, counts) in [read_all(&csv).unwrap(), read_trickle(&csv, 4096).unwrap()] {
            assert_eq!(counts.rejected, 1, "only the row with the open quote");
            assert_eq!(rejected(&rows[0]).line, 2);
            assert_eq!(counts.rows, n as u64 + 1);
            assert_eq!(counts.accepted, n as u64, "every row after it is a contact");
            assert_eq!(lines(&rows)[1], (3, Some("C-1".into())));
        }
    }

    #[test]
    fn file_without_mandatory_columns_is_refused_whole() {
        let err = read_all(b"id,number,name\n1,020 7946 0001,Ann\n").unwrap_err();
        match &err {
            FileError::MissingColumns { missing, found } => {
                assert_eq!(missing, &vec!["custID", "phone"]);
                assert_eq!(
                    found,
                    &vec!["id".to_string(), "number".into(), "name".into()]
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(err.is_refusal());
        let line = err.reject_record("uploads/x.csv");
        assert_eq!(line.line, 1);
        assert!(line.reason.contains("custID and phone"), "{}", line.reason);
        assert!(matches!(
            read_all(b"custID,name\n").unwrap_err(),
            FileError::MissingColumns { .. }
        ));
        assert!(matches!(read_all(b"").unwrap_err(), FileError::Empty));
        assert!(matches!(
            read_all(b"\xEF\xBB\xBF\r\n\r\n").unwrap_err(),
            FileError::Empty
        ));
        assert!(matches!(
            read_all(b"custID,ph\xFFone\n").unwrap_err(),
            FileError::HeaderNotUtf8
        ));
    }

    #[test]
    fn header_only_file_has_no_rows() {
        let (rows, counts) = read_all(b"custID,phone\n").unwrap();
        assert!(rows.is_empty());
        assert_eq!(counts, IntakeCounts::default());
    }

    #[test]
    fn attribute_keys_are_sanitised_and_kept_apart() {
        let csv =
            "phone,custID,First Name,First.Name,,e-mail,prénom\n020 7946 0001,C-1,a,b,c,d,e\n";
        let mut r = CsvReader::new(csv.as_bytes(), opts());
        let row = r.next_row().unwrap().unwrap();
        assert_eq!(
            r.intake().attribute_keys(),
            vec!["First_Name", "First_Name_2", "column5", "e-mail", "pr_nom"]
        );
        let c = contact(&row);
        assert_eq!(
            c.attributes.get("First_Name_2").map(String::as_str),
            Some("b")
        );
        assert_eq!(c.attributes.get("column5").map(String::as_str), Some("c"));
        assert_eq!(c.attributes.len(), 5);
    }

    #[test]
    fn oversized_attributes_and_rows_are_rejected_and_skipped() {
        let big = "x".repeat(INTAKE_ATTRIBUTES_LIMIT_BYTES);
        let huge = "y".repeat(MAX_RECORD_BYTES + 10);
        let csv = format!(
            "custID,phone,notes\nC-1,020 7946 0001,{big}\nC-2,020 7946 0002,\"{huge}\"\nC-3,020 7946 0003,ok\n"
        );
        let (rows, counts) = read_all(csv.as_bytes()).unwrap();
        assert_eq!(
            counts,
            IntakeCounts {
                rows: 3,
                accepted: 1,
                rejected: 2,
                duplicates: 0
            }
        );
        assert!(
            rejected(&rows[0])
                .reason
                .starts_with("attributes are 31749 bytes"),
            "{}",
            rejected(&rows[0]).reason
        );
        assert_eq!(
            rejected(&rows[1]).reason,
            format!("row is longer than {MAX_RECORD_BYTES} bytes")
        );
        assert_eq!(rejected(&rows[1]).line, 3);
        assert_eq!(contact(&rows[2]).key, "C-3");
        assert_eq!(
            contact(&rows[2]).source,
            ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 4
            }
        );
    }

    #[test]
    fn extra_fields_short_rows_and_bad_utf8() {
        let csv = b"custID,phone,a\nC-1,020 7946 0001,x,surplus\nC-2,020 7946 0002,x,\nC-3,020 7946 0003\nC-4,020 7946 0004,\xFF\n";
        let (rows, counts) = read_all(csv).unwrap();
        assert_eq!(counts.rows, 4);
        assert_eq!(
            rejected(&rows[0]).reason,
            "row has 4 fields, the header has 3"
        );
        // A trailing empty field (a stray comma) is forgiven.
        assert_eq!(contact(&rows[1]).key, "C-2");
        // A short row simply lacks the attribute.
        assert!(contact(&rows[2]).attributes.is_empty());
        assert_eq!(rejected(&rows[3]).reason, "column a is not valid UTF-8");
    }

    #[test]
    fn campaign_comes_from_metadata_then_prefix_then_stem() {
        assert_eq!(
            campaign_of_object("uploads/week1.csv", Some("spring-renewals")),
            Ok("spring-renewals".to_string())
        );
        // Metadata wins over the prefix.
        assert_eq!(
            campaign_of_object("campaigns/a/week1.csv", Some("b")),
            Ok("b".to_string())
        );
        assert_eq!(
            campaign_of_object("campaigns/spring_2026/week1.csv", None),
            Ok("spring_2026".to_string())
        );
        assert_eq!(
            campaign_of_object("uploads/week1.csv", None),
            Ok("week1".to_string())
        );
        // A file directly under campaigns/ has no prefix id: its stem.
        assert_eq!(
            campaign_of_object("campaigns/week1.csv", None),
            Ok("week1".to_string())
        );
    }

    #[test]
    fn a_campaign_id_given_that_keys_cannot_hold_refuses_the_file() {
        for bad in ["", "spring renewals", "a#b", "é", &"x".repeat(65)] {
            let err = campaign_of_object("uploads/a.csv", Some(bad)).unwrap_err();
            assert!(err.contains("metadata"), "{bad:?}: {err}");
        }
        let err = campaign_of_object("campaigns/a b/week1.csv", None).unwrap_err();
        assert!(err.contains("prefix"), "{err}");
        assert!(campaign_of_object("uploads/a.csv", Some(&"x".repeat(64))).is_ok());
    }

    #[test]
    fn campaign_is_the_file_stem() {
        assert_eq!(
            campaign_from_key("uploads/spring-renewals.csv"),
            "spring-renewals"
        );
        assert_eq!(campaign_from_key("a.b.csv"), "a.b");
        assert_eq!(campaign_from_key("noext"), "noext");
        assert_eq!(campaign_from_key(".csv"), ".csv");
        assert_eq!(campaign_from_key("dir/"), "default");
        // A file name as long as S3 allows gives a bounded campaign, different from its
        // neighbour's, so every key built from it stays under S3's 1,024 bytes.
        let long = campaign_from_key(&format!("uploads/{}.csv", "x".repeat(1000)));
        assert_eq!(long.chars().count(), MAX_CAMPAIGN_CHARS);
        assert_ne!(
            long,
            campaign_from_key(&format!("uploads/{}y.csv", "x".repeat(999)))
        );
    }

    #[tokio::test]
    async fn async_reader_gives_the_same_rows() {
        let csv = "custID,phone,n\nC-1,020 7946 0001,1\nC-2,bad,2\nC-1,020 7946 0001,3\n";
        let (sync_rows, sync_counts) = read_all(csv.as_bytes()).unwrap();
        let mut r = AsyncCsvReader::new(csv.as_bytes(), opts());
        let mut rows = Vec::new();
        while let Some(row) = r.next_row().await.unwrap() {
            rows.push(row);
        }
        assert_eq!(rows, sync_rows);
        assert_eq!(r.counts(), sync_counts);
    }

    #[tokio::test]
    async fn a_broken_source_is_resumed_from_the_byte_it_stopped_at() {
        use std::pin::Pin;
        use std::task::{Context, Poll};
        use tokio::io::{AsyncRead, ReadBuf};

        /// Serves `data` a few bytes at a time, then fails once `fail_at` bytes were served.
        struct Flaky {
            data: Vec<u8>,
            at: usize,
            fail_at: Option<usize>,
        }
        impl AsyncRead for Flaky {
            fn poll_read(
                mut self: Pin<&mut Self>,
                _: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<std::io::Result<()>> {
                if self.fail_at.is_some_and(|f| self.at >= f) {
                    return Poll::Ready(Err(std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "reset",
                    )));
                }
                let end = (self.at + 7)
                    .min(self.data.len())
                    .min(self.fail_at.unwrap_or(usize::MAX));
                let n = (end - self.at).min(buf.remaining());
                let at = self.at;
                buf.put_slice(&self.data[at..at + n]);
                self.at += n;
                Poll::Ready(Ok(()))
            }
        }

        let csv = "custID,phone,notes\nC-1,020 7946 0001,\"a, b\"\nC-2,020 7946 0002,\"multi\nline\"\nC-3,020 7946 0003,x\n";
        let (whole, _) = read_all(csv.as_bytes()).unwrap();
        // Break in the middle of the quoted, multi-line field of C-2.
        let cut = csv.find("multi").unwrap() + 3;
        let mut r = AsyncCsvReader::new(
            Flaky {
                data: csv.as_bytes().to_vec(),
                at: 0,
                fail_at: Some(cut),
            },
            opts(),
        );
        let mut rows = Vec::new();
        let mut resumed = 0;
        loop {
            match r.next_row().await {
                Ok(Some(row)) => rows.push(row),
                Ok(None) => break,
                Err(FileError::Read(_)) => {
                    resumed += 1;
                    assert!(resumed < 3, "resumed forever");
                    // A ranged re-read from where the first source stopped.
                    let offset = r.bytes_read() as usize;
                    assert!(offset <= cut);
                    r.replace_source(Flaky {
                        data: csv.as_bytes()[offset..].to_vec(),
                        at: 0,
                        fail_at: None,
                    });
                }
                Err(other) => panic!("{other:?}"),
            }
        }
        assert_eq!(resumed, 1);
        assert_eq!(rows, whole);
        assert_eq!(r.counts().accepted, 3);
    }

    #[test]
    fn read_failure_is_not_a_refusal() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "cut",
                ))
            }
        }
        let err = CsvReader::new(Broken, opts()).next_row().unwrap_err();
        assert!(!err.is_refusal());
    }

    // -----------------------------------------------------------------------------------------
    // Property tests
    // -----------------------------------------------------------------------------------------

    /// A generated row and what the reader must make of it.
    #[derive(Debug, Clone)]
    struct GenRow {
        cust: String,
        phone: String,
        note: String,
    }

    /// Reads `input` as two invocations would: the first reader (fed `n` bytes at a time) stops
    /// after `stop` rows and hands its position over, through JSON as the continuation event
    /// carries it; a second reader goes on from the bytes at its offset.
    fn read_in_two(input: &[u8], stop: usize, n: usize) -> Vec<RowOutcome> {
        let mut first = CsvReader::new(Trickle { data: input, n }, opts());
        let mut rows = Vec::new();
        for _ in 0..stop {
            match first.next_row().unwrap() {
                Some(row) => rows.push(row),
                None => return rows,
            }
        }
        let at = first.position().expect("a row boundary after a row");
        let at: ReadPosition = serde_json::from_str(&serde_json::to_string(&at).unwrap()).unwrap();
        let mut second = CsvReader::resume(&input[at.offset as usize..], opts(), at);
        while let Some(row) = second.next_row().unwrap() {
            rows.push(row);
        }
        rows
    }

    #[test]
    fn a_file_read_in_two_from_any_row_gives_the_same_rows_at_the_same_lines() {
        let csv = b"\xEF\xBB\xBFcustID,phone,notes\r\n\
C-1,020 7946 0001,plain\r\n\
\r\n\
C-2,020 7946 0002,\"two\r\nlines\"\r\n\
C-3,12345,bad number\r\n\
C-4,020 7946 0004,\"open quote\r\n\
C-5,020 7946 0005,after the open quote\n\
\n\
C-6,020 7946 0006,lf\n\
C-7,020 7946 0007,lone cr\r\
C-8,,missing phone\r\n";
        let whole = read_all(csv).unwrap().0;
        let lines: Vec<u64> = whole
            .iter()
            .map(|r| match r {
                RowOutcome::Contact(c) => match c.source {
                    ContactSource::Csv { line, .. } => line,
                    _ => 0,
                },
                RowOutcome::Rejected(r) => r.line,
                RowOutcome::Duplicate { line, .. } => *line,
            })
            .collect();
        assert_eq!(lines, vec![2, 4, 6, 7, 8, 10, 11, 12]);
        for n in [1, 3, 7, READ_BUFFER_BYTES] {
            for stop in 1..=whole.len() {
                assert_eq!(
                    read_in_two(csv, stop, n),
                    whole,
                    "stopped after {stop} rows, read {n} bytes at a time"
                );
            }
        }
        // No position in the middle of a row or before the header.
        let mut r = CsvReader::new(&csv[..], opts());
        assert_eq!(r.position(), None, "the header is not read yet");
        r.next_row().unwrap();
        let at = r.position().unwrap();
        assert_eq!(at.line, 3);
        let before = &csv[..at.offset as usize];
        assert!(
            (at.after_cr && before.ends_with(b"1,plain\r"))
                || (!at.after_cr && before.ends_with(b"1,plain\r\n")),
            "{at:?}"
        );
    }

    fn phone_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            (0u32..10_000).prop_map(|n| format!("020 7946 {n:04}")),
            (0u32..100).prop_map(|n| format!("+1 212 555 01{n:02}")),
            (0u32..1000).prop_map(|n| format!("+61 491 570 {n:03}")),
            "[0-9]{1,5}",
            Just(String::new()),
            "[a-z +()-]{0,12}",
        ]
    }

    fn row_strategy() -> impl Strategy<Value = GenRow> {
        (
            prop_oneof![
                Just(String::new()),
                "C-[0-9]{1,3}",
                "[A-Za-z0-9 ,\"\n]{1,8}"
            ],
            phone_strategy(),
            "[ -~\n\r,\"é]{0,20}",
        )
            .prop_map(|(cust, phone, note)| GenRow { cust, phone, note })
    }

    /// Writes a CSV with the csv crate (quoting as needed) and returns it with the physical line
    /// each row starts on.
    fn write_csv(rows: &[GenRow], crlf: bool, bom: bool) -> (Vec<u8>, Vec<u64>) {
        let mut out = Vec::new();
        if bom {
            out.extend_from_slice(BOM);
        }
        let term = if crlf {
            csv::Terminator::CRLF
        } else {
            csv::Terminator::Any(b'\n')
        };
        let mut lines = Vec::new();
        {
            let mut w = csv::WriterBuilder::new()
                .terminator(term)
                .from_writer(Vec::new());
            w.write_record(["custID", "phone", "note"]).unwrap();
            w.flush().unwrap();
            out.extend_from_slice(w.get_ref());
        }
        for r in rows {
            let mut w = csv::WriterBuilder::new()
                .terminator(term)
                .from_writer(Vec::new());
            w.write_record([&r.cust, &r.phone, &r.note]).unwrap();
            w.flush().unwrap();
            lines.push(physical_line(&out));
            out.extend_from_slice(w.get_ref());
        }
        (out, lines)
    }

    /// The line the next byte of `written` is on: CR, LF and CRLF each end a line.
    fn physical_line(written: &[u8]) -> u64 {
        let mut line = 1;
        let mut prev_cr = false;
        for &b in written {
            if b == b'\r' || (b == b'\n' && !prev_cr) {
                line += 1;
            }
            prev_cr = b == b'\r';
        }
        line
    }

    /// The expected outcome of one generated row, given the contacts already accepted.
    fn expected(r: &GenRow, seen: &mut BTreeSet<(String, String)>) -> &'static str {
        let cust = r.cust.trim();
        let phone = r.phone.trim();
        if cust.is_empty() || phone.is_empty() {
            return "rejected";
        }
        match outbound_core::phone::normalise(phone, Some(region_id("GB").unwrap())) {
            Err(_) => "rejected",
            Ok(n) => {
                if seen.insert((cust.to_string(), n.number)) {
                    "contact"
                } else {
                    "duplicate"
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        #[test]
        fn arbitrary_bytes_never_panic_and_counts_add_up(
            body in prop::collection::vec(any::<u8>(), 0..2048),
            with_header in any::<bool>(),
        ) {
            let mut input = Vec::new();
            if with_header {
                input.extend_from_slice(b"custID,phone,x\n");
            }
            input.extend_from_slice(&body);
            if let Ok((rows, counts)) = read_all(&input) {
                prop_assert_eq!(counts.rows, counts.accepted + counts.rejected + counts.duplicates);
                prop_assert_eq!(rows.len() as u64, counts.rows);
                let mut last = 1;
                for row in &rows {
                    let line = match row {
                        RowOutcome::Contact(c) => match c.source { ContactSource::Csv { line, .. } => line, _ => 0 },
                        RowOutcome::Rejected(r) => r.line,
                        RowOutcome::Duplicate { line, .. } => *line,
                    };
                    prop_assert!(line > last, "lines must increase: {} after {}", line, last);
                    last = line;
                }
            }
        }

        #[test]
        fn every_row_is_queued_rejected_or_a_duplicate_at_its_line(
            rows in prop::collection::vec(row_strategy(), 0..40),
            crlf in any::<bool>(),
            bom in any::<bool>(),
            chunk in 1usize..9,
        ) {
            let (input, lines) = write_csv(&rows, crlf, bom);
            let (got, counts) = read_all(&input).unwrap();
            // Any read size gives the same result.
            let (trickled, _) = read_trickle(&input, chunk).unwrap();
            prop_assert_eq!(&got, &trickled);
            // The writer quotes or separates every field, so even an all-empty row is a row.
            let kept: Vec<(usize, &GenRow)> = rows.iter().enumerate().collect();
            prop_assert_eq!(got.len(), kept.len());
            prop_assert_eq!(counts.rows, counts.accepted + counts.rejected + counts.duplicates);
            let mut seen = BTreeSet::new();
            for (outcome, (i, r)) in got.iter().zip(kept) {
                let want = expected(r, &mut seen);
                let (kind, line) = match outcome {
                    RowOutcome::Contact(c) => {
                        prop_assert_eq!(&c.key, r.cust.trim());
                        prop_assert_eq!(c.attributes.get("note"), Some(&r.note));
                        ("contact", match c.source { ContactSource::Csv { line, .. } => line, _ => 0 })
                    }
                    RowOutcome::Rejected(rej) => ("rejected", rej.line),
                    RowOutcome::Duplicate { line, .. } => ("duplicate", *line),
                };
                prop_assert_eq!(kind, want, "row {:?}", r);
                prop_assert_eq!(line, lines[i]);
            }
        }
    }
}
