//! `dial` Lambda: a lane's per-contact task. The logic is `outbound_core::dialing`; this crate
//! reads the environment (once, in `main`) and adapts the answer.

pub mod handler;

pub use handler::{handle, Env};
