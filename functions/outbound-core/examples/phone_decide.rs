//! Reads E.164 numbers (one per line) on standard input and prints, for each, one JSON line with
//! what the functions decide: parse result, E.164 form, region, country, type, validity and time
//! zones. The differential test (`tests/phone/test_differential.py`) compares these lines with
//! libphonenumber's Python port.
//!
//! Run: `cargo run -p outbound-core --example phone_decide < numbers.txt`

use outbound_core::phone::{self, decide};
use serde_json::json;
use std::io::{self, BufRead, BufWriter, Write};

fn main() -> io::Result<()> {
    let stdin = io::stdin();
    let mut out = BufWriter::new(io::stdout().lock());
    for line in stdin.lock().lines() {
        let number = line?;
        let answer = match decide(&number) {
            Ok(d) => json!({
                "number": number,
                "parsed": true,
                "e164": d.e164(),
                "region": d.region,
                "valid": d.valid,
                "type": d.kind.as_str(),
                // What caller-id routes on, and what the intake accepts.
                "country": phone::region_of(&number),
                "zones": phone::time_zones_of(&d),
            }),
            Err(e) => json!({"number": number, "parsed": false, "error": format!("{e:?}")}),
        };
        writeln!(out, "{answer}")?;
    }
    out.flush()
}
