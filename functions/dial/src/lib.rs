//! `dial` Lambda: a lane's per-contact task. The steps are in [`dialing`], the shared
//! calls-per-second limit in [`rate_limit`]; [`env`] is the environment, [`handler`] adapts the
//! answer, and `main.rs` builds the clients once.

pub mod dialing;
pub mod env;
pub mod handler;
pub mod rate_limit;

pub use env::Env;
pub use handler::handle;
