//! get-config against moto over HTTP: the SSM read, the run claim and a stale takeover.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).

use aws_sdk_dynamodb::types::AttributeValue;
use get_config::{handle, Clients, Env, Input};
use outbound_core::intake::RetryPolicy;
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

fn endpoint() -> String {
    std::env::var("MOTO_ENDPOINT").expect(
        "MOTO_ENDPOINT must point at a moto server (e.g. http://127.0.0.1:5103) for these tests",
    )
}

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{:x}", nanos & 0xffff_ffff_ffff)
}

struct Stack {
    clients: Clients,
    env: Env,
    state_machine_arn: String,
}

async fn stack(name: &str, concurrent: &str) -> Stack {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ssm::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let clients = Clients {
        ssm: aws_sdk_ssm::Client::new(&sdk),
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
    };
    let id = unique(name);
    let prefix = format!("/connect/blaster/{id}/");
    let table = format!("{id}-active-dialing");
    let params = [
        ("connectid", "11111111-2222-3333-4444-555555555555"),
        ("contactflow", "66666666-7777-8888-9999-000000000000"),
        ("queue", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"),
        ("countrycode", "44"),
        ("isocountrycode", "GB"),
        ("concurrentcalls", concurrent),
        ("timeOut", "90"),
        ("callspersecond", "2"),
        ("ResultsBucket", "results"),
        ("activeBlaster", "True"),
        ("table-activedialing", table.as_str()),
    ];
    for (k, v) in params {
        let secure = k == "connectid";
        clients
            .ssm
            .put_parameter()
            .name(format!("{prefix}{k}"))
            .value(v)
            // One SecureString: the read must decrypt.
            .r#type(if secure {
                aws_sdk_ssm::types::ParameterType::SecureString
            } else {
                aws_sdk_ssm::types::ParameterType::String
            })
            .send()
            .await
            .expect("put parameter");
    }
    // A parameter of a deeper path must not be read (the read is not recursive).
    clients
        .ssm
        .put_parameter()
        .name(format!("{prefix}nested/timeOut"))
        .value("not a number")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    outbound_core::testkit::moto::create_table(&clients.ddb, &table).await;
    let state_machine_arn = clients
        .sfn
        .create_state_machine()
        .name(format!("{id}-dialer"))
        .role_arn("arn:aws:iam::123456789012:role/dialer")
        .definition(json!({"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": true}}}).to_string())
        .send()
        .await
        .expect("create state machine")
        .state_machine_arn()
        .to_string();
    Stack {
        clients,
        env: Env {
            ssm_prefix: prefix,
            table_name: table,
            history_budget: 8_000,
            max_concurrent_calls: 40,
        },
        state_machine_arn,
    }
}

async fn start(s: &Stack, name: &str) -> String {
    s.clients
        .sfn
        .start_execution()
        .state_machine_arn(&s.state_machine_arn)
        .name(name)
        .input("{}")
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_string()
}

fn input(v: serde_json::Value) -> Input {
    serde_json::from_value(v).unwrap()
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn reads_the_configuration_and_claims_then_takes_over_a_stale_claim() {
    let s = stack("gc", "5").await;
    let first = start(&s, "run-a").await;
    let second = start(&s, "run-b").await;
    let policy = RetryPolicy::immediate(3);

    let a = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:00:00Z",
        input(json!({"execution": first})),
    )
    .await
    .unwrap();
    assert!(a.claimed);
    assert_eq!(a.run_id, "run-a");
    assert_eq!(
        a.config.connect_id, "11111111-2222-3333-4444-555555555555",
        "SecureString decrypted"
    );
    assert_eq!(a.config.timeout_seconds, 90);
    assert_eq!(a.config.concurrent_calls, 5);
    assert_eq!(a.lanes.len(), 5);
    assert_eq!(a.lane_budget, 200);
    assert!(a
        .lanes
        .iter()
        .all(|l| l.timeout_seconds == 90 && l.budget == 200 && l.calls == 0));

    // run-a is running: run-b joins it instead of claiming.
    let b = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:01:00Z",
        input(json!({"execution": second})),
    )
    .await
    .unwrap();
    assert!(!b.claimed);
    assert_eq!(b.held_by.as_deref(), Some(first.as_str()));
    assert!(b.lanes.is_empty());

    // run-a dies: its claim is stale and run-b takes it over.
    s.clients
        .sfn
        .stop_execution()
        .execution_arn(&first)
        .send()
        .await
        .unwrap();
    let b = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T09:02:00Z",
        input(json!({"execution": second})),
    )
    .await
    .unwrap();
    assert!(b.claimed);
    assert_eq!(b.took_over.as_deref(), Some(first.as_str()));
    let item = s
        .clients
        .ddb
        .get_item()
        .table_name(&s.env.table_name)
        .key("pk", AttributeValue::S("RUN".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap();
    assert_eq!(item["runId"].as_s().unwrap(), "run-b");
    assert_eq!(item["execution"].as_s().unwrap(), &second);
    assert_eq!(item["claimedAt"].as_s().unwrap(), "2024-05-01T09:02:00Z");

    // The next wave of run-b keeps the run and counts the calls of wave 1.
    let wave2 = start(&s, "run-b-w2").await;
    let next = handle(
        &s.clients,
        &s.env,
        policy,
        "2024-05-01T10:00:00Z",
        input(
            json!({"runId": "run-b", "wave": 2, "laneCalls": [4, 6, 0, 0, 1], "execution": wave2}),
        ),
    )
    .await
    .unwrap();
    assert!(next.claimed);
    assert_eq!(next.wave, 2);
    let dial_index = s
        .clients
        .ssm
        .get_parameter()
        .name(format!("{}dialIndex", s.env.ssm_prefix))
        .send()
        .await
        .unwrap();
    assert_eq!(dial_index.parameter().unwrap().value(), Some("11"));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_missing_parameter_is_a_config_error_and_claims_nothing() {
    let s = stack("gc-missing", "2").await;
    s.clients
        .ssm
        .delete_parameter()
        .name(format!("{}callspersecond", s.env.ssm_prefix))
        .send()
        .await
        .unwrap();
    let exec = start(&s, "run-x").await;
    let err = handle(
        &s.clients,
        &s.env,
        RetryPolicy::immediate(2),
        "2024-05-01T09:00:00Z",
        input(json!({"execution": exec})),
    )
    .await
    .unwrap_err();
    assert_eq!(err.name, outbound_core::error::ErrorName::ConfigError);
    assert!(err.message.contains("callspersecond"), "{}", err.message);
    let item = s
        .clients
        .ddb
        .get_item()
        .table_name(&s.env.table_name)
        .key("pk", AttributeValue::S("RUN".into()))
        .send()
        .await
        .unwrap();
    assert!(item.item().is_none());
}
