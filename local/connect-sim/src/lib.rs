//! connect-sim: an Amazon Connect simulator for the local stack.
//!
//! TEST INFRASTRUCTURE ONLY: it is never deployed and has nothing to do with production
//! traffic. Amazon Connect has no emulator, so the functions' Connect calls
//! (`AWS_ENDPOINT_URL_CONNECT`) land here, the simulated calls end after seeded, compressible
//! durations, and their contact events go to moto's EventBridge with `PutEvents`, where the
//! deployed rule and target take them to `process-contact-events`.
//!
//! The simulator is only as true as its sources: every Connect behaviour it mimics cites, in a
//! comment next to the code, the AWS documentation page (docs.aws.amazon.com) it follows. A
//! behaviour the documentation does not settle is marked `Assumed (not documented)`, and one
//! that knowingly departs from it `Differs from the documentation`. What only a real account
//! can confirm, and the item that confirms each assumption, is listed in
//! `docs/aws-verification.md` (section 13 and "Behaviour that may disagree with the AWS
//! documentation").

pub mod config;
pub mod events;
pub mod hours;
pub mod quota;
pub mod rng;
pub mod server;
pub mod sim;
