//! One invocation of dial: the documented steps, with the clients and configuration passed
//! in (`main.rs` builds them once).

use crate::dialing::{Dialer, SourceNumberChooser};
use outbound_core::error::FunctionError;
use serde_json::Value;

/// One invocation: the lane state plus `taskToken` in, `{"status","contactId"}` out.
pub async fn handle<C: SourceNumberChooser>(
    dialer: &Dialer<C>,
    event: Value,
) -> Result<Value, FunctionError> {
    let output = dialer.handle(event).await?;
    serde_json::to_value(output).map_err(|e| FunctionError::retryable(format!("output: {e}")))
}
