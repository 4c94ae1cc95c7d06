//! queue-contacts: the Pinpoint custom channel's Lambda. A campaign's endpoints become contacts
//! in the campaign ledger, exactly once per activity (see [`handler`]).

pub mod env;
pub mod handler;
pub mod pinpoint;

pub use env::Env;
pub use handler::{handle, Clients, Output, Tuning};
