//! get-config: reads the dialer's SSM configuration, claims the run and returns the wave's lane
//! states (see [`handler`]).

pub mod env;
pub mod handler;

pub use env::Env;
pub use handler::{execution_name, handle, new_run_id, Clients, Input, Output, MAX_RUN_ID_LEN};
