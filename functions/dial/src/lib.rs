//! `dial` Lambda: a lane's per-contact task. The steps are in [`dialing`], the shared
//! calls-per-second limit in [`rate_limit`]; [`handler`] reads the environment and adapts the
//! answer, and `main.rs` builds the clients once.

pub mod dialing;
pub mod handler;
pub mod rate_limit;

pub use handler::{handle, Env};
