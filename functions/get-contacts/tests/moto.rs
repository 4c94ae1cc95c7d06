//! get-contacts against moto over HTTP: real counts, and an unreachable queue is an error.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).

use get_contacts::{handle, Env};
use outbound_core::error::ErrorName;
use std::time::{SystemTime, UNIX_EPOCH};

fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT must point at a moto server (e.g. http://127.0.0.1:5103) for these tests",
    )
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn counts_a_real_queue_and_refuses_to_call_a_missing_one_empty() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let id = format!(
        "gcn-{:x}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            & 0xffff_ffff_ffff
    );
    let url = sqs
        .create_queue()
        .queue_name(format!("{id}-contacts"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let dlq = sqs
        .create_queue()
        .queue_name(format!("{id}-dlq"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    for i in 0..3 {
        sqs.send_message()
            .queue_url(&url)
            .message_body(format!("{{\"n\":{i}}}"))
            .send()
            .await
            .unwrap();
    }
    sqs.send_message()
        .queue_url(&dlq)
        .message_body("{}")
        .send()
        .await
        .unwrap();
    // One contact is being dialed (received, not deleted).
    sqs.receive_message()
        .queue_url(&url)
        .max_number_of_messages(1)
        .send()
        .await
        .unwrap();

    let env = Env {
        queue_url: url.clone(),
        dead_letter_queue_url: Some(dlq),
    };
    let counts = handle(&sqs, &env).await.unwrap();
    assert_eq!(
        (
            counts.available,
            counts.in_flight,
            counts.delayed,
            counts.dead_lettered
        ),
        (2, 1, 0, 1)
    );
    assert!(counts.more);

    let missing = Env {
        queue_url: format!("{url}-missing"),
        dead_letter_queue_url: None,
    };
    let err = handle(&sqs, &missing).await.unwrap_err();
    assert_eq!(err.name, ErrorName::Retryable, "{}", err.message);
}
