//! queue-contacts: the Pinpoint custom channel's Lambda. A campaign's endpoints become contacts
//! in the dialer's queue, exactly once per activity (see [`handler`]).

pub mod env;
pub mod handler;
pub mod pinpoint;

pub use env::Env;
pub use handler::{handle, Clients, Clock, Output, Tuning, QUEUED_TTL_SECONDS};
