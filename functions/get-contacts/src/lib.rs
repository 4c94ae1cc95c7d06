//! get-contacts: approximate counts of the contact queue and its dead-letter queue, for the
//! controller's "is anything left for this run?" question. A queue that cannot be read is an
//! error (`Retryable`/`Throttled`), never an empty queue (see `crate::queue_stats`). It also asks
//! the campaign ledger whether contacts are due now (the next wave feeds them) or soon (the run
//! waits for them).

pub mod env;
pub mod handler;
pub mod queue_stats;

pub use env::Env;
pub use handler::{handle, Counts, QueueCounts};
