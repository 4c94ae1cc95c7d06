//! load-list: an S3 upload of a CSV contact list → contacts in the campaign ledger, a reject report and a
//! campaign run. The handler takes its clients as arguments (see [`handler`]); `main.rs` only
//! builds them.

pub mod continuation;
pub mod csv_intake;
pub mod dnc_list;
pub mod env;
pub mod handler;
pub mod intake_checks;
pub mod plan;

pub use continuation::{CapturedHandovers, Checkpoint, Handover, LambdaHandover};
pub use env::Env;
pub use handler::{handle, handle_until, load_object, Clients, ObjectResult, Tuning};
