//! The duplicate filter of one file: "same customer id and same normalised number" is queued once.
//!
//! Memory: each queued contact costs one 64-bit fingerprint (SipHash-1-3 of customer id and E.164
//! number) in a hash set. With the standard set's one control byte per slot and its load factor
//! between 7/16 and 7/8, that is 10 to 21 bytes per distinct contact, about 14 on average:
//! ~14 MB for a million rows. The set is split into 256 shards that grow one at a time, so
//! growth never needs twice the memory at once (a single set doubling at a million entries would
//! briefly hold ~28 MB).
//!
//! A fingerprint can collide: two different contacts would then be taken for duplicates and the
//! second not queued. With 64 bits the chance is about n²/2⁶⁵: 3 × 10⁻⁸ for a million rows.

use std::collections::HashSet;
use std::hash::{BuildHasherDefault, Hash, Hasher};

const SHARDS: usize = 256;

/// Remembers the contacts already queued from one source.
pub struct DuplicateFilter {
    shards: Vec<HashSet<u64, BuildHasherDefault<Spread>>>,
    len: usize,
}

impl Default for DuplicateFilter {
    fn default() -> Self {
        Self::new()
    }
}

impl DuplicateFilter {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| HashSet::default()).collect(),
            len: 0,
        }
    }

    /// Records the contact; `true` the first time, `false` for a duplicate.
    pub fn first_time(&mut self, customer_key: &str, e164: &str) -> bool {
        let fp = fingerprint(customer_key, e164);
        // The top byte picks the shard; the set's own hash mixes all 64 bits again, so keys that
        // share a shard still spread over the shard's slots.
        let shard = (fp >> 56) as usize;
        let inserted = self.shards[shard].insert(fp);
        self.len += usize::from(inserted);
        inserted
    }

    /// Distinct contacts seen.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes the filter holds (slots and control bytes), for the memory tests and the bench.
    pub fn allocated_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.capacity() * (std::mem::size_of::<u64>() + 1))
            .sum()
    }
}

/// SipHash-1-3 with fixed keys (std's `DefaultHasher::new()`): deterministic across runs, and
/// the separator keeps ("ab","c") apart from ("a","bc").
pub fn fingerprint(customer_key: &str, e164: &str) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    customer_key.hash(&mut h);
    e164.hash(&mut h);
    h.finish()
}

/// The set's hasher: the keys are already uniform hashes, one multiply-xorshift is enough to
/// spread them over the slots (a full SipHash per probe would double the filter's cost).
#[derive(Default)]
struct Spread(u64);

impl Hasher for Spread {
    fn finish(&self) -> u64 {
        let x = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^ (x >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_sighting_is_a_duplicate() {
        let mut f = DuplicateFilter::new();
        assert!(f.first_time("C-1", "+442079460001"));
        assert!(!f.first_time("C-1", "+442079460001"));
        // Same customer, other number: a different contact.
        assert!(f.first_time("C-1", "+442079460002"));
        // Same number, other customer: a different contact.
        assert!(f.first_time("C-2", "+442079460001"));
        assert_eq!(f.len(), 3);
    }

    #[test]
    fn separator_keeps_fields_apart() {
        assert_ne!(fingerprint("ab", "c"), fingerprint("a", "bc"));
    }

    #[test]
    fn memory_per_contact_is_as_documented() {
        let mut f = DuplicateFilter::new();
        let n = 200_000;
        for i in 0..n {
            assert!(f.first_time(&format!("C-{i}"), "+442079460000"));
        }
        let per_row = f.allocated_bytes() as f64 / n as f64;
        assert!((9.0..=22.0).contains(&per_row), "{per_row} bytes per row");
    }
}
