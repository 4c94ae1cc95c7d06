//! connect-sim: an Amazon Connect simulator for the local stack.
//!
//! TEST INFRASTRUCTURE ONLY: it is never deployed and has nothing to do with production
//! traffic. Amazon Connect has no emulator, so the functions' Connect calls
//! (`AWS_ENDPOINT_URL_CONNECT`) land here, the simulated calls end after seeded, compressible
//! durations, and their contact events go to moto's EventBridge with `PutEvents`, where the
//! deployed rule and target take them to `process-contact-events`.

pub mod config;
pub mod events;
pub mod hours;
pub mod quota;
pub mod rng;
pub mod server;
pub mod sim;
