//! `process-contact-events` Lambda: the disconnect side of the completion race.
//!
//! EventBridge delivers `Amazon Connect Contact Event`s for the instance. A `DISCONNECTED`
//! event of a voice contact the dialer may have placed is recorded
//! (`outbound_core::completion::record_disconnect`), which wakes the lane when `dial` already
//! stored its token. Every such event is recorded, also for a contact the table does not know
//! yet, because the event may arrive before `dial` stored the token; a contact the dialer never
//! placed expires after a day (see `UNKNOWN_CONTACT_TTL_SECONDS`). Duplicate deliveries are
//! harmless (conditional writes). Other event types, other channels and inbound calls are
//! answered `ignored`; a malformed event is `InvalidInput`.

pub mod contact_event;
pub mod env;
pub mod handler;

pub use env::Env;
pub use handler::handle;
