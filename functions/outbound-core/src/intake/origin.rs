//! Where an intake's contact came from, for the reject report of a contact that could not be
//! queued or admitted (shared by [`super::sender`] and [`super::admitter`]).

/// What the caller needs to report a contact that did not reach the queue or the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// CSV line, or the endpoint's position in a Pinpoint batch.
    pub line: u64,
    pub customer_key: String,
    pub phone_masked: String,
    pub contact_key: String,
}

/// A contact that could not be queued or admitted, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub origin: Origin,
    pub reason: String,
}
