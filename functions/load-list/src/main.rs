//! load-list Lambda entry point: reads the environment and builds the clients once, then hands
//! every S3 event (or continuation of a big file) to [`load_list::handle_until`] with the
//! invocation's deadline.

use aws_config::BehaviorVersion;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use load_list::{Clients, Env, LambdaHandover, Tuning};
use outbound_core::contact_key::ContactKeyer;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The invocation's deadline (milliseconds since the epoch in the context) as an `Instant`.
fn deadline_of(deadline_ms: u64) -> Instant {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let left = Duration::from_millis(deadline_ms).saturating_sub(now);
    Instant::now() + left
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    outbound_core::telemetry::init();
    let env: Env = outbound_core::env::load()?;
    let sdk = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let tuning = Tuning {
        handover_margin: env.handover_margin,
        ..Tuning::default()
    };
    let clients = Clients {
        s3: outbound_core::clients::s3_client(&sdk),
        ledger: outbound_core::ledger::CampaignLedger::new(
            &sdk,
            &env.ledger,
            env.final_retention_days,
        ),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        keyer: ContactKeyer::from_kms(
            &aws_sdk_kms::Client::new(&sdk),
            &env.contact_key_kms_key_arn,
        )
        .await?,
        // A big file's next segment is this function again (set by the Lambda runtime).
        handover: Arc::new(LambdaHandover {
            lambda: aws_sdk_lambda::Client::new(&sdk),
            function_name: std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default(),
            policy: tuning.policy,
        }),
    };
    let (clients, env, tuning) = (&clients, &env, &tuning);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        let deadline = deadline_of(event.context.deadline);
        load_list::handle_until(clients, env, tuning, event.payload, Some(deadline))
            .await
            .inspect_err(|e| {
                tracing::error!(error_type = e.name.as_str(), error = %e.message, "load-list failed")
            })
    }))
    .await
}
