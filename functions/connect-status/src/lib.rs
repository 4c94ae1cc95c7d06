//! `connect-status` Lambda, two actions of the state machine:
//!
//! - `{"action":"hours"}` → `{"open","status","reason","nextOpening"}`: the queue's status
//!   (`DescribeQueue`) and its effective hours of operation (`GetEffectiveHoursOfOperations`,
//!   holidays and other overrides applied; the weekly `DescribeHoursOfOperation` when Connect
//!   refuses that call) evaluated now (`outbound_core::hours`). Asked once per wave, so no
//!   cache.
//! - `{"action":"reconcile", ...lane state}` → the lane's next state, after its `dial` task
//!   timed out (`outbound_core::completion::reconcile`).

pub mod env;
pub mod handler;

pub use env::Env;
pub use handler::{handle, Status};
