//! A count in the ActiveDialing table that never passes its limit, shared by every lane.
//!
//! Lanes run in separate Lambda invocations, so what they share lives in one table item,
//! incremented with a conditional `ADD n :one` that only succeeds while `n < :limit`. DynamoDB
//! applies conditional updates to one item one at a time, so no two lanes can both take the
//! last unit. Items carry `expiresAt` (TTL) and disappear on their own. Used by the
//! calls-per-second windows ([`crate::rate_limit`]) and the wave's call budget
//! ([`crate::wave_budget`]).

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use outbound_core::error::{classify_sdk_error, FunctionError};

/// One unit of the count in item `key`. `Some(count)` (the count with this unit) when taken,
/// `None` when the count had reached `limit`. `expires_at` (epoch seconds) is the item's TTL.
/// `what` names the count in an error message.
pub async fn take_one(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    key: String,
    limit: u64,
    expires_at: u64,
    what: &str,
) -> Result<Option<u64>, FunctionError> {
    let result = dynamodb
        .update_item()
        .table_name(table_name)
        .key("pk", AttributeValue::S(key))
        .update_expression("SET expiresAt = :ttl ADD n :one")
        .condition_expression("attribute_not_exists(n) OR n < :limit")
        .expression_attribute_values(":one", AttributeValue::N("1".into()))
        .expression_attribute_values(":limit", AttributeValue::N(limit.to_string()))
        .expression_attribute_values(":ttl", AttributeValue::N(expires_at.to_string()))
        .return_values(ReturnValue::UpdatedNew)
        .send()
        .await;
    match result {
        Ok(out) => Ok(Some(
            out.attributes()
                .and_then(|a| a.get("n"))
                .and_then(|v| v.as_n().ok())
                .and_then(|n| n.parse().ok())
                .unwrap_or(limit),
        )),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_conditional_check_failed_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(FunctionError::new(
            classify_sdk_error(&e),
            format!(
                "{what} UpdateItem failed: {}",
                e.as_service_error()
                    .and_then(ProvideErrorMetadata::code)
                    .unwrap_or("transport error")
            ),
        )),
    }
}
