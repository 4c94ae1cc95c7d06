//! `dial` Lambda: a lane's per-contact task. The steps are in [`dialing`]; what the lanes share,
//! the calls-per-second limit ([`rate_limit`]) and the wave's call budget ([`wave_budget`]), are
//! counts that never pass their limit ([`bounded_count`]); the dial that takes a wave's last
//! call starts the next wave ([`next_wave`]), whose lanes take over from this wave's lanes one
//! by one ([`lane_handover`]); [`amd`] is the opt-in answering
//! machine detection; [`env`] is the environment,
//! [`handler`] adapts the answer, and `main.rs` builds the clients once.

pub mod amd;
pub mod bounded_count;
pub mod dialing;
pub mod env;
pub mod handler;
pub mod lane_handover;
pub mod next_wave;
pub mod rate_limit;
pub mod wave_budget;

pub use env::Env;
pub use handler::handle;
