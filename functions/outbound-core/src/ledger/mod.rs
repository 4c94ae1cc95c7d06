//! The campaign ledger: one DynamoDB item per accepted contact and campaign, the source of
//! truth of a campaign (see "Campaign ledger" in `docs/architecture.md`).
//!
//! A contact moves `due` → `leased` → `dialing` → `final`, or back to `due` for a redial or
//! when its lease runs out. Every move is one conditional write on the contact's own item, so
//! two writers can never both win it; a lost condition is an ordinary answer (someone else got
//! there first), reported with what the item holds now.
//!
//! - [`item`]: the typed item, its keys and the index keys;
//! - [`rules`]: redial rules and what an attempt's outcome leads to;
//! - [`attempt`]: the attempt's identity (`ClientToken`, marker) and how a placement of unknown
//!   outcome is recovered;
//! - [`ops`]: the operations over the table, one file per stage: admitting (`admit`),
//!   leasing (`lease_due`, `expire_leases`, `overdue_attempts`), attempts (`begin_attempt`,
//!   `record_placed`, `extend_attempt`, `finish`/`settle`) and callbacks (`schedule_callback`);
//! - [`campaigns`]: which campaigns have work; [`schedule`]: when a campaign may call.
//!
//! Used by several functions once they are wired (load-list and queue-contacts admit, the
//! feeder leases, dial begins attempts, the event processor and the reconcile path finish
//! them), so it lives in the shared library.

pub mod attempt;
pub mod campaigns;
pub mod env;
pub mod finisher;
pub mod item;
pub mod ops;
pub mod rules;
pub mod schedule;

pub use attempt::{recover, AttemptId, Recovery, REPLAY_UNKNOWN_PLACEMENT, TOKEN_WINDOW};
pub use env::{CampaignLedgerEnv, FinisherEnv};
pub use finisher::{final_record, Finisher};
pub use item::{ContactState, FinalReason, LedgerContact, SHARDS};
pub use ops::{
    admit, admit_all, begin_attempt, defer, defer_held, expire_leases, extend_attempt, finish,
    lease, lease_due, overdue_attempts, read_contact, record_placed, schedule_callback, settle,
    suppress, suppress_due, suppress_held, Admission, AdmitOptions, AttemptBegun,
    CallbackScheduled, CampaignLedger, ExpiredLeases, Finished, Held, LeasedBatch, Placed,
    MAX_BATCH,
};
pub use rules::{check_callback, CallbackProblem, Decision, RedialRules};

/// Name of the sparse index of due contacts (partition `dueShard`, sort `dueAt`).
pub const DUE_INDEX: &str = "due";
/// Name of the sparse index of leased and dialing contacts (partition `heldShard`, sort
/// `leaseUntil`).
pub const HELD_INDEX: &str = "held";
