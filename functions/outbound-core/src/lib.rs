//! Shared logic of the outbound voice functions.
//!
//! Every Lambda in `functions/` is a thin binary over this library: the handlers take their
//! AWS clients as arguments so they can be unit tested with faked clients, and the binaries only
//! build those clients once and hand them over. The contracts between the functions, the state
//! machine and Terraform are written down in `docs/architecture.md`.

pub mod calling_window;
pub mod clients;
pub mod completion;
pub mod config;
pub mod contact;
pub mod contact_key;
pub mod destinations;
pub mod dnc;
pub mod effective_hours;
pub mod env;
pub mod error;
pub mod events;
pub mod frequency_cap;
pub mod hours;
pub mod intake;
pub mod ledger;
pub mod mask;
pub mod phone;
pub mod records;
pub mod routing;
pub mod routing_cache;
pub mod telemetry;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;
pub mod trust_roots;
