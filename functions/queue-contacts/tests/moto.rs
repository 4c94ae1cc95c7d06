//! queue-contacts against moto over HTTP: a Pinpoint batch delivered twice is queued once.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).

use aws_sdk_dynamodb::types::AttributeValue;
use outbound_core::contact::Contact;
use outbound_core::intake::RetryPolicy;
use queue_contacts::{handle, Clients, Clock, Env, Tuning};
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

/// The sample segment (`sample-files/pinpoint-segment.csv`) as Pinpoint would deliver it.
fn batch(activity: &str) -> serde_json::Value {
    let csv = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../sample-files/pinpoint-segment.csv"
    ))
    .unwrap();
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut endpoints = serde_json::Map::new();
    for line in lines {
        let row: std::collections::HashMap<&str, &str> =
            header.iter().copied().zip(line.split(',')).collect();
        endpoints.insert(
            row["Id"].to_string(),
            json!({
                "ChannelType": row["ChannelType"], "Address": row["Address"], "OptOut": row["OptOut"],
                "EndpointStatus": row["EndpointStatus"],
                "Attributes": {"Plan": [row["Attributes.Plan"]]},
                "Location": {"Country": row["Location.Country"]},
                "User": {"UserId": row["User.UserId"], "UserAttributes": {
                    "FirstName": [row["User.UserAttributes.FirstName"]],
                    "LastName": [row["User.UserAttributes.LastName"]],
                    "PreferredLanguage": [row["User.UserAttributes.PreferredLanguage"]]}}
            }),
        );
    }
    json!({
        "Message": {},
        "Data": "{\"greeting\":\"Hello {{User.UserAttributes.FirstName}}\",\"plan\":\"{{Attributes.Plan}}\"}",
        "ApplicationId": "app-1", "CampaignId": "camp-1", "TreatmentId": "0", "ActivityId": activity,
        "ScheduledTime": "2024-05-01T09:00:00.000Z",
        "Endpoints": endpoints
    })
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_batch_delivered_twice_is_queued_once() {
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "moto",
        ))
        .load()
        .await;
    let clients = Clients {
        sqs: aws_sdk_sqs::Client::new(&sdk),
        ddb: aws_sdk_dynamodb::Client::new(&sdk),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        ),
        ssm: aws_sdk_ssm::Client::new(&sdk),
        sfn: aws_sdk_sfn::Client::new(&sdk),
        keyer: outbound_core::testkit::moto::contact_keyer(&sdk).await,
    };
    let id = unique("qc");
    let table = format!("{id}-active-dialing");
    outbound_core::testkit::moto::create_table(&clients.ddb, &table).await;
    let queue_url = clients
        .sqs
        .create_queue()
        .queue_name(format!("{id}-contacts"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    clients
        .s3
        .create_bucket()
        .bucket(format!("{id}-results"))
        .send()
        .await
        .unwrap();
    let prefix = format!("/connect/blaster/{id}/");
    clients
        .ssm
        .put_parameter()
        .name(format!("{prefix}isocountrycode"))
        .value("GB")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let state_machine_arn = clients
        .sfn
        .create_state_machine()
        .name(format!("{id}-dialer"))
        .role_arn("arn:aws:iam::123456789012:role/dialer")
        .definition(json!({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}).to_string())
        .send()
        .await
        .unwrap()
        .state_machine_arn()
        .to_string();
    let env = Env {
        queue_url: queue_url.clone(),
        table_name: table.clone(),
        results_bucket: format!("{id}-results"),
        state_machine_arn: state_machine_arn.clone(),
        ssm_prefix: prefix.clone(),
        destinations: outbound_core::destinations::DestinationRules::parse("GB,US,CA,AU").unwrap(),
        // Read only by main; the clients above carry the keyer derived from moto's KMS.
        contact_key_kms_key_arn:
            "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555".into(),
    };
    let tuning = Tuning {
        policy: RetryPolicy::immediate(3),
        ..Tuning::default()
    };
    let clock = Clock {
        now: 1_714_554_000,
        deadline: 1_714_554_060,
    };

    let first = handle(&clients, &env, &tuning, clock, batch("act-1"))
        .await
        .unwrap();
    assert_eq!(first.queued, 4);
    assert_eq!(first.skipped.get("opted_out"), Some(&1));
    assert_eq!(first.skipped.get("inactive"), Some(&1));
    assert_eq!((first.rejected, first.duplicates), (0, 0));

    // Pinpoint delivers the same batch again.
    let second = handle(&clients, &env, &tuning, clock, batch("act-1"))
        .await
        .unwrap();
    assert_eq!((second.queued, second.duplicates), (0, 4));

    let mut queued: Vec<Contact> = Vec::new();
    loop {
        let page = clients
            .sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if page.messages().is_empty() {
            break;
        }
        queued.extend(
            page.messages()
                .iter()
                .map(|m| serde_json::from_str::<Contact>(m.body().unwrap()).unwrap()),
        );
    }
    queued.sort_by(|a, b| a.key.cmp(&b.key));
    let got: Vec<(&str, &str)> = queued
        .iter()
        .map(|c| (c.key.as_str(), c.phone.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("C-1001", "+442079460101"),
            ("C-1003", "+12125550102"),
            ("C-1004", "+14165550105"),
            ("C-1005", "+61491570157"),
        ]
    );
    assert_eq!(queued[0].attributes["greeting"], "Hello Ann");
    assert_eq!(queued[0].attributes["plan"], "gold");
    assert_eq!(queued[0].attributes["PinpointCampaignId"], "camp-1");

    // Each queued contact's claim is QUEUED, with its TTL.
    for c in &queued {
        let item = clients
            .ddb
            .get_item()
            .table_name(&table)
            .key(
                "pk",
                AttributeValue::S(format!("QUEUED#camp-1#{}", c.contact_key)),
            )
            .send()
            .await
            .unwrap()
            .item()
            .cloned()
            .expect("claim recorded");
        assert_eq!(item["state"].as_s().unwrap(), "QUEUED");
        assert!(!item.contains_key("pendingUntil"));
        assert_eq!(
            item["expiresAt"].as_n().unwrap(),
            &(clock.now + queue_contacts::QUEUED_TTL_SECONDS).to_string()
        );
    }

    // Next week's activity of the same campaign queues the contacts again.
    let next_week = handle(&clients, &env, &tuning, clock, batch("act-2"))
        .await
        .unwrap();
    assert_eq!(next_week.queued, 4);

    let total = clients
        .ssm
        .get_parameter()
        .name(format!("{prefix}totalRecords"))
        .send()
        .await
        .unwrap();
    assert_eq!(total.parameter().unwrap().value(), Some("8"));
    let executions = clients
        .sfn
        .list_executions()
        .state_machine_arn(&state_machine_arn)
        .send()
        .await
        .unwrap();
    // act-1 (started, then joined by the redelivery) and act-2.
    assert_eq!(executions.executions().len(), 2);
}
