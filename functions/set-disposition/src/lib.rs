//! `set-disposition` Lambda, invoked from the agent's step-by-step guide flow: records the
//! disposition code (and the flow's other parameters) against the dialed contact, and schedules
//! the callback the agent promised (`callbackAt`, `callbackInMinutes`) in the campaign ledger. The logic is
//! [`disposition`]; the answer is always a flat string map.

pub mod disposition;
pub mod env;
pub mod handler;

pub use env::Env;
pub use handler::handle;
