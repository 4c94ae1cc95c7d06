//! caller-id: chooses the outbound caller ID of a Connect call by the number being called.
//!
//! The binary (`main.rs`) only wires the environment ([`env`]) and the S3 client; everything
//! else is in [`handler`]: [`CallerId`] is built from the routing cache it is given.

pub mod env;
pub mod handler;

pub use env::Env;
pub use handler::{read_event, CallerId, CallerIdAnswer, ContactFields};
