//! Error names shared by every function and the state machine.
//!
//! Step Functions matches a failed Lambda task by the `errorType` the runtime reports. These
//! names are the only ones the ASL `Retry`/`Catch` blocks know, so the mapping from Rust errors
//! to names lives here and nowhere else.

use lambda_runtime::Diagnostic;
use std::fmt;

/// The error names a function may report (see `docs/architecture.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorName {
    /// Transient failure: AWS 5xx, network, timeouts. Retried with backoff and jitter.
    Retryable,
    /// A quota said "too many requests" after in-function backoff. Retried, longer backoff.
    Throttled,
    /// The event cannot be understood. Not retried.
    InvalidInput,
    /// An SSM parameter is missing or invalid. Not retried: the run ends and is released.
    ConfigError,
    /// No contact left in the queue: the lane ends.
    QueueEmpty,
    /// The stop switch (`activeBlaster`) is off: the lane ends, the run stops.
    CampaignStopped,
    /// The Connect queue is disabled or outside its hours: the lane ends, the run pauses.
    QueueClosed,
    /// The lane placed its bounded number of calls for this wave.
    LaneBudgetExhausted,
}

impl ErrorName {
    /// Every name, in the order the ASL lists them.
    pub const ALL: [ErrorName; 8] = [
        ErrorName::Retryable,
        ErrorName::Throttled,
        ErrorName::InvalidInput,
        ErrorName::ConfigError,
        ErrorName::QueueEmpty,
        ErrorName::CampaignStopped,
        ErrorName::QueueClosed,
        ErrorName::LaneBudgetExhausted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::Retryable => "Retryable",
            ErrorName::Throttled => "Throttled",
            ErrorName::InvalidInput => "InvalidInput",
            ErrorName::ConfigError => "ConfigError",
            ErrorName::QueueEmpty => "QueueEmpty",
            ErrorName::CampaignStopped => "CampaignStopped",
            ErrorName::QueueClosed => "QueueClosed",
            ErrorName::LaneBudgetExhausted => "LaneBudgetExhausted",
        }
    }
}

impl fmt::Display for ErrorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error a handler returns: a name the state machine can match and a message for people.
///
/// Messages must never hold a phone number in clear, a task token or a whole event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name}: {message}")]
pub struct FunctionError {
    pub name: ErrorName,
    pub message: String,
}

impl FunctionError {
    pub fn new(name: ErrorName, message: impl Into<String>) -> Self {
        Self {
            name,
            message: message.into(),
        }
    }
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorName::Retryable, message)
    }
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::new(ErrorName::Throttled, message)
    }
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorName::InvalidInput, message)
    }
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorName::ConfigError, message)
    }
}

impl From<FunctionError> for Diagnostic {
    fn from(err: FunctionError) -> Self {
        Diagnostic {
            error_type: err.name.as_str().to_string(),
            error_message: err.message,
        }
    }
}

/// Classifies an AWS SDK error: throttling, retryable (any 5xx answer or service-fault code,
/// I/O, timeouts) or not.
///
/// Used by every function so that "the service is busy" is never read as "the list is over".
pub fn classify_sdk_error<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> ErrorName
where
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            ErrorName::Retryable
        }
        SdkError::ServiceError(service) => {
            let code = service.err().code().unwrap_or_default();
            if is_throttling_code(code) {
                ErrorName::Throttled
            } else if is_transient_code(code) || service.raw().status().is_server_error() {
                ErrorName::Retryable
            } else {
                ErrorName::InvalidInput
            }
        }
        _ => ErrorName::Retryable,
    }
}

/// Error codes of a service-side failure worth retrying: S3's `InternalError`, SQS's
/// `InternalFailure`, DynamoDB's `InternalServerError`, 503s and request timeouts. An error
/// without a code is a 5xx whose body could not be read: retryable too, never "invalid input".
pub fn is_transient_code(code: &str) -> bool {
    code.is_empty()
        || code.starts_with("Internal")
        || code.starts_with("ServiceUnavailable")
        || code.starts_with("RequestTimeout")
        || code == "Unavailable"
}

/// Error codes the AWS services use for "slow down".
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "TooManyRequestsException"
            | "ThrottlingException"
            | "Throttling"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "ProvisionedThroughputExceededException"
            | "LimitExceededException"
            | "SlowDown"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_asl_names() {
        let names: Vec<&str> = ErrorName::ALL.iter().map(|n| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "Retryable",
                "Throttled",
                "InvalidInput",
                "ConfigError",
                "QueueEmpty",
                "CampaignStopped",
                "QueueClosed",
                "LaneBudgetExhausted"
            ]
        );
    }

    #[test]
    fn diagnostic_carries_the_name_as_error_type() {
        let d: Diagnostic = FunctionError::throttled("StartOutboundVoiceContact quota").into();
        assert_eq!(d.error_type, "Throttled");
        assert_eq!(d.error_message, "StartOutboundVoiceContact quota");
    }

    #[test]
    fn service_faults_are_retryable_never_invalid_input() {
        for code in [
            "InternalError",
            "InternalFailure",
            "InternalServerError",
            "ServiceUnavailable",
            "ServiceUnavailableException",
            "RequestTimeout",
            "",
        ] {
            assert!(is_transient_code(code), "{code:?}");
        }
        for code in [
            "InvalidParameterException",
            "ResourceNotFoundException",
            "AccessDenied",
        ] {
            assert!(!is_transient_code(code), "{code:?}");
        }
    }

    #[test]
    fn throttling_codes() {
        assert!(is_throttling_code("TooManyRequestsException"));
        assert!(is_throttling_code("ThrottlingException"));
        assert!(!is_throttling_code("InvalidParameterException"));
    }
}
