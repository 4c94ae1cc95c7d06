//! get-config: reads the dialer's SSM configuration, claims the run and returns the wave's lane
//! states (see [`handler`]); once the run is claimed, it feeds the lanes' queue from the
//! campaign ledger (see [`feeder`]).

pub mod env;
pub mod feeder;
pub mod handler;

pub use env::Env;
pub use feeder::{FeedReport, Feeder};
pub use handler::{execution_name, handle, new_run_id, Clients, Input, Output, MAX_RUN_ID_LEN};
