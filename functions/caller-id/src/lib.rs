//! caller-id: chooses the outbound caller ID of a Connect call by the number being called.
//!
//! The binary (`main.rs`) only wires the environment and the S3 client; everything else is in
//! [`handler`], which takes the routing cache as an argument.

pub mod handler;

pub use handler::{handle, read_event, CallerIdAnswer, ContactFields};
