//! The tool's errors: one line that says what went wrong and what to do, and the exit code.

use aws_smithy_types::error::display::DisplayErrorContext;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The command line or a given file is wrong (exit 2).
    #[error("{0}")]
    Usage(String),
    /// Something failed (exit 1).
    #[error("{0}")]
    Failure(String),
}

impl CliError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Usage(_) => 2,
            CliError::Failure(_) => 1,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        CliError::Usage(message.into())
    }

    pub fn failure(message: impl Into<String>) -> Self {
        CliError::Failure(message.into())
    }
}

pub type Result<T> = std::result::Result<T, CliError>;

/// An AWS call that failed, told as what the operator can do about it. The SDK's own message
/// for a missing credential or an unreachable endpoint is several nested lines; the cause is
/// found in it and said in one.
pub fn aws(what: &str, err: &(impl std::error::Error + 'static)) -> CliError {
    let detail = DisplayErrorContext(err).to_string();
    let lower = detail.to_ascii_lowercase();
    let message = if lower.contains("no credentials")
        || lower.contains("credentials provider")
        || lower.contains("failed to load credentials")
        || lower.contains("provideerror")
    {
        "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`".to_string()
    } else if lower.contains("unrecognizedclientexception")
        || lower.contains("invalidclienttokenid")
        || lower.contains("expiredtoken")
        || lower.contains("invalidaccesskeyid")
        || lower.contains("signaturedoesnotmatch")
    {
        format!("{what}: the AWS credentials were refused (expired or for another account): refresh them (`aws sso login`) and try again")
    } else if lower.contains("resourcenotfoundexception")
        || lower.contains("nosuchbucket")
        || lower.contains("nonexistentqueue")
        || lower.contains("statemachinedoesnotexist")
    {
        format!("{what}: not found in this account and region: check the region (--region or AWS_REGION) and the deployment's outputs (--terraform-dir, --outputs)")
    } else if lower.contains("accessdenied") {
        format!("{what}: access denied: the credentials' role needs this permission (see cli/outbound/README.md)")
    } else if lower.contains("dispatch failure")
        || lower.contains("connection refused")
        || lower.contains("dns error")
    {
        format!("{what}: the AWS endpoint could not be reached: check the network, the region and --endpoint-url")
    } else if (lower.contains("region") && lower.contains("not set")) || lower.contains("no region")
    {
        "no AWS region: pass --region or set AWS_REGION".to_string()
    } else {
        format!("{what} failed: {detail}")
    };
    CliError::Failure(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn told(detail: &str) -> String {
        aws(
            "reading the campaign ledger t",
            &std::io::Error::other(detail.to_string()),
        )
        .to_string()
    }

    #[test]
    fn the_sdks_causes_become_one_line_saying_what_to_do() {
        assert!(told("dispatch failure: no credentials in the chain")
            .starts_with("no AWS credentials found"));
        assert!(
            told("ResourceNotFoundException: Requested resource not found")
                .contains("check the region")
        );
        assert!(
            told("UnrecognizedClientException: The security token is invalid")
                .contains("refresh them")
        );
        assert!(told("AccessDeniedException: not authorized").contains("access denied"));
        let other = told("ThrottlingException: slow down");
        assert!(
            other.starts_with("reading the campaign ledger t failed: ")
                && other.contains("slow down"),
            "{other}"
        );
        assert_eq!(aws("x", &std::io::Error::other("y")).exit_code(), 1);
    }
}
