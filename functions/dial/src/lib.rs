//! `dial` Lambda: a lane's per-contact task. The steps are in [`dialing`]; what the lanes share,
//! the calls-per-second limit ([`rate_limit`]) and the wave's call budget ([`wave_budget`]), are
//! counts that never pass their limit ([`bounded_count`]); [`amd`] is the opt-in answering
//! machine detection; [`env`] is the environment,
//! [`handler`] adapts the answer, and `main.rs` builds the clients once.

pub mod amd;
pub mod bounded_count;
pub mod dialing;
pub mod env;
pub mod handler;
pub mod rate_limit;
pub mod wave_budget;

pub use env::Env;
pub use handler::handle;
