//! queue-contacts: the Pinpoint custom channel's Lambda. A campaign's endpoints become contacts
//! in the dialer's queue, exactly once per activity (see [`handler`]).

pub mod handler;
pub mod pinpoint;

pub use handler::{handle, Clients, Clock, Env, Output, Tuning, QUEUED_TTL_SECONDS};
