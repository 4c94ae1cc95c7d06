//! Logging set-up shared by every binary.

/// Initialises `tracing` once per process.
///
/// Lambda's advanced logging controls set `AWS_LAMBDA_LOG_FORMAT=JSON` when the function's log
/// format is JSON (Terraform sets it), and `AWS_LAMBDA_LOG_LEVEL`; the format follows them
/// instead of being chosen in code. `RUST_LOG` still wins when set, for local runs.
pub fn init() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .unwrap_or_else(|_| "INFO".to_string())
        .to_lowercase();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT")
        .map(|v| v.eq_ignore_ascii_case("json"))
        .unwrap_or(false);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .without_time();
    // try_init: a second call (tests, benches) is harmless.
    if json {
        let _ = builder.json().with_current_span(false).try_init();
    } else {
        let _ = builder.with_ansi(false).try_init();
    }
}
