//! The `outbound` binary against moto over HTTP: each subcommand run as the operator runs it
//! (the real binary, `AWS_ENDPOINT_URL` at moto, the deployment's names from an outputs file),
//! and its effect read back from moto.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).
//! Every test makes its own tables, buckets, queue, key and parameters.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Utc;
use outbound_core::contact_key::ContactKeyer;
use outbound_core::ledger::{admit, AdmitOptions, CampaignLedger};
use outbound_core::testkit::moto::{
    self, create_bucket, create_ledger_table, create_queue, sdk, unique,
};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Output;

/// One deployment in moto, as the dialer module makes it (only what the tool touches).
struct Deployment {
    sdk: aws_config::SdkConfig,
    dir: tempfile::TempDir,
    outputs: PathBuf,
    input_bucket: String,
    results_bucket: String,
    ledger: CampaignLedger,
    prefix: String,
    state_machine_arn: String,
    kms_key_arn: String,
}

impl Deployment {
    async fn new() -> Deployment {
        let sdk = sdk().await;
        let id = unique("cli");
        let s3 = moto::s3(&sdk);
        let input_bucket = format!("{id}-in");
        let results_bucket = format!("{id}-results");
        create_bucket(&s3, &input_bucket).await;
        create_bucket(&s3, &results_bucket).await;
        let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
        let table = format!("{id}-ledger");
        create_ledger_table(&dynamodb, &table).await;
        let queue_url = create_queue(&aws_sdk_sqs::Client::new(&sdk), &format!("{id}-q")).await;
        let prefix = format!("/connect/blaster/{id}/");
        let ssm = aws_sdk_ssm::Client::new(&sdk);
        for (k, v) in [("activeBlaster", "True"), ("isocountrycode", "GB")] {
            ssm.put_parameter()
                .name(format!("{prefix}{k}"))
                .value(v)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .send()
                .await
                .expect("put parameter");
        }
        let state_machine_arn = aws_sdk_sfn::Client::new(&sdk)
            .create_state_machine()
            .name(format!("{id}-dialer"))
            .role_arn("arn:aws:iam::123456789012:role/dialer")
            .definition(
                json!({"StartAt": "Done", "States": {"Done": {"Type": "Pass", "End": true}}})
                    .to_string(),
            )
            .send()
            .await
            .expect("create state machine")
            .state_machine_arn()
            .to_string();
        let kms_key_arn = moto::hmac_key(&sdk).await;
        let dir = tempfile::tempdir().unwrap();
        // As `terraform output -json` writes them.
        let outputs = dir.path().join("outputs.json");
        let o = |v: &str| json!({"value": v, "type": "string", "sensitive": false});
        std::fs::write(
            &outputs,
            json!({
                "input_bucket_name": o(&input_bucket),
                "results_bucket_name": o(&results_bucket),
                "campaign_ledger_table_name": o(&table),
                "queue_url": o(&queue_url),
                "state_machine_arn": o(&state_machine_arn),
                "ssm_prefix": o(&prefix),
                "contact_key_kms_key_arn": o(&kms_key_arn),
            })
            .to_string(),
        )
        .unwrap();
        Deployment {
            ledger: CampaignLedger {
                dynamodb,
                table_name: table,
                final_retention: None,
            },
            sdk,
            dir,
            outputs,
            input_bucket,
            results_bucket,
            prefix,
            state_machine_arn,
            kms_key_arn,
        }
    }

    /// Runs `outbound <args>` against moto, as an operator would with the local stack.
    fn run(&self, args: &[&str]) -> Output {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_outbound"))
            .arg("--outputs")
            .arg(&self.outputs)
            .args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", moto::endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-2")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run outbound");
        eprintln!(
            "outbound {args:?} → {:?}\n{}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Starts `outbound <args>` against moto without waiting for it.
    fn spawn(&self, args: &[&str]) -> std::process::Child {
        std::process::Command::new(env!("CARGO_BIN_EXE_outbound"))
            .arg("--outputs")
            .arg(&self.outputs)
            .args(args)
            .current_dir(self.dir.path())
            .env("AWS_ENDPOINT_URL", moto::endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "eu-west-2")
            .env_remove("AWS_PROFILE")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start outbound")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    async fn put(&self, key: &str, body: String) {
        moto::s3(&self.sdk)
            .put_object()
            .bucket(&self.results_bucket)
            .key(key)
            .body(body.into_bytes().into())
            .send()
            .await
            .expect("put object");
    }

    async fn parameter(&self, name: &str) -> String {
        aws_sdk_ssm::Client::new(&self.sdk)
            .get_parameter()
            .name(format!("{}{name}", self.prefix))
            .send()
            .await
            .unwrap()
            .parameter
            .unwrap()
            .value
            .unwrap()
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}
fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn result_record(
    campaign: &str,
    key: &str,
    attempt: u32,
    outcome: &str,
    caller: Option<&str>,
    at: &str,
) -> serde_json::Value {
    json!({
        "campaign": campaign, "run_id": "run-1", "contact_key": key, "customer_key": format!("C-{key}"),
        "phone_masked": "+44*******001", "attempt": attempt, "contact_id": format!("ct-{key}-{attempt}"),
        "outcome": outcome, "disposition": null, "lane": 1, "caller_id": caller,
        "dialed_at": at, "disconnected_at": at, "completed_at": at,
        "source": {"kind": "csv", "object": "campaigns/c/list.csv", "line": 2}
    })
}

/// Three calls to two contacts, a final record each and a reject report, as the functions lay
/// them out.
async fn campaign_records(d: &Deployment, campaign: &str) -> Vec<serde_json::Value> {
    let records = vec![
        result_record(campaign, "k1", 1, "busy", None, "2026-12-07T09:10:00Z"),
        result_record(
            campaign,
            "k1",
            2,
            "connected",
            Some("+442079460100"),
            "2026-12-07T10:20:00Z",
        ),
        result_record(
            campaign,
            "k2",
            1,
            "no_answer",
            Some("+442079460100"),
            "2026-12-07T09:40:00Z",
        ),
    ];
    for r in &records {
        let rec: outbound_core::records::ResultRecord = serde_json::from_value(r.clone()).unwrap();
        d.put(&rec.object_key(), format!("{r}\n")).await;
    }
    for (key, reason) in [("k1", "connected"), ("k2", "attempts_exhausted")] {
        d.put(
            &outbound_core::records::final_object_key(campaign, key),
            format!(
                "{}\n",
                json!({"campaign": campaign, "contact_key": key, "customer_key": "C", "phone_masked": "+44*",
                       "attempts": 2, "final_reason": reason, "last_outcome": null, "contact_id": null,
                       "final_at": "2026-12-07T10:30:00Z", "source": {}})
            ),
        )
        .await;
    }
    d.put(
        &outbound_core::records::reject_object_key(campaign, "campaigns/c/list.csv"),
        format!(
            "{}\n",
            json!({"line": 3, "reason": "not a phone number", "customer_key": "C-9", "phone_masked": null, "source": "campaigns/c/list.csv"})
        ),
    )
    .await;
    records
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn upload_checks_with_the_intakes_parser_then_uploads_under_the_campaign_prefix() {
    let d = Deployment::new().await;
    let list = d.path("renewals.csv");
    std::fs::write(
        &list,
        "custID,phone\nC-1,020 7946 0001\nC-2,12\nC-3,+12025550123\nC-4,+442079460002\n",
    )
    .unwrap();
    let s3 = moto::s3(&d.sdk);
    let key = "campaigns/spring/renewals.csv";
    let exists = |s3: aws_sdk_s3::Client, bucket: String| async move {
        s3.head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .is_ok()
    };

    let dry = d.run(&[
        "upload",
        list.to_str().unwrap(),
        "--campaign",
        "spring",
        "--dry-run",
        "--allowed-countries",
        "GB",
    ]);
    assert_eq!(dry.status.code(), Some(0));
    let out = stdout(&dry);
    // Line 3: too short; line 4: a US number, not an allowed destination. The national number
    // of line 2 takes the deployment's isocountrycode (GB).
    assert!(out.contains("4 rows, 2 accepted, 2 rejected"), "{out}");
    assert!(
        out.contains("line      3") && out.contains("line      4"),
        "{out}"
    );
    assert!(
        !exists(s3.clone(), d.input_bucket.clone()).await,
        "a dry run uploads nothing"
    );

    let up = d.run(&[
        "upload",
        list.to_str().unwrap(),
        "--campaign",
        "spring",
        "--allowed-countries",
        "GB",
    ]);
    assert_eq!(up.status.code(), Some(0));
    let body = s3
        .get_object()
        .bucket(&d.input_bucket)
        .key(key)
        .send()
        .await
        .expect("uploaded");
    let bytes = body.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.as_ref(), std::fs::read(&list).unwrap().as_slice());

    let png = d.path("logo.png");
    std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let bad = d.run(&[
        "upload",
        png.to_str().unwrap(),
        "--campaign",
        "spring",
        "--allowed-countries",
        "GB",
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("custID and phone"),
        "{}",
        stderr(&bad)
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn status_counts_the_ledger_by_state_and_reason() {
    let d = Deployment::new().await;
    let keyer = ContactKeyer::from_secret(vec![7u8; 32]);
    let now = Utc::now();
    let mut pks = Vec::new();
    for i in 0..6 {
        let mut c = moto::contact();
        c.campaign = "autumn".into();
        c.key = format!("C-{i}");
        c.phone = format!("+44207946000{i}");
        c.contact_key = keyer.key("autumn", &c.key, &c.phone);
        admit(
            &d.ledger,
            &c,
            &AdmitOptions {
                due_at: now - chrono::Duration::minutes(1),
                rules: None,
                round: None,
                dnc: None,
            },
            now,
        )
        .await
        .expect("admit");
        pks.push(format!("CONTACT#autumn#{}", c.contact_key));
    }
    let s = |v: &str| AttributeValue::S(v.into());
    let n = |v: i64| AttributeValue::N(v.to_string());
    // 0, 1: due now; 2: due in an hour after two deferrals; 3: dialing; 4, 5: final.
    let later = (now + chrono::Duration::hours(1)).timestamp_millis();
    moto::set_ledger_attributes(
        &d.ledger,
        &pks[2],
        &[("dueAt", n(later)), ("deferrals", n(2))],
    )
    .await;
    moto::set_ledger_attributes(&d.ledger, &pks[3], &[("state", s("dialing"))]).await;
    moto::set_ledger_attributes(
        &d.ledger,
        &pks[4],
        &[("state", s("final")), ("finalReason", s("connected"))],
    )
    .await;
    moto::set_ledger_attributes(
        &d.ledger,
        &pks[5],
        &[("state", s("final")), ("finalReason", s("dnc"))],
    )
    .await;
    // Another campaign, not counted in autumn's.
    let mut other = moto::contact();
    other.campaign = "winter".into();
    admit(
        &d.ledger,
        &other,
        &AdmitOptions {
            due_at: now,
            rules: None,
            round: None,
            dnc: None,
        },
        now,
    )
    .await
    .unwrap();
    // Two calls just now: the pace.
    campaign_records(&d, "autumn").await;

    let out = d.run(&["status", "--campaign", "autumn", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value =
        serde_json::from_str(stdout(&out).trim()).expect("one JSON document");
    let c = &v["campaigns"][0];
    assert_eq!(v["campaigns"].as_array().unwrap().len(), 1);
    assert_eq!(c["campaign"], "autumn");
    assert_eq!(
        (
            &c["loaded"],
            &c["due_now"],
            &c["due_later"],
            &c["deferred"],
            &c["dialing"],
            &c["final_total"]
        ),
        (
            &json!(6),
            &json!(2),
            &json!(1),
            &json!(1),
            &json!(1),
            &json!(2)
        )
    );
    assert_eq!(c["final_by_reason"], json!({"connected": 1, "dnc": 1}));
    assert_eq!(c["calls"], 3, "the results objects of the campaign");
    assert!(
        c["calls_per_minute"].as_f64().unwrap() > 0.0,
        "written just now: {c}"
    );
    assert!(c["estimated_finish"].is_string());
    assert_eq!(v["queue"]["waiting"], 0);

    let table = d.run(&["status"]);
    assert_eq!(table.status.code(), Some(0));
    assert!(
        stdout(&table).contains("campaign autumn") && stdout(&table).contains("campaign winter")
    );

    // --watch redraws until every contact is final: a finished campaign draws once and ends.
    let mut done = moto::contact();
    done.campaign = "done".into();
    admit(
        &d.ledger,
        &done,
        &AdmitOptions {
            due_at: now,
            rules: None,
            round: None,
            dnc: None,
        },
        now,
    )
    .await
    .unwrap();
    let done_pk = format!("CONTACT#done#{}", done.contact_key);
    moto::set_ledger_attributes(
        &d.ledger,
        &done_pk,
        &[("state", s("final")), ("finalReason", s("connected"))],
    )
    .await;
    let watch = d.run(&["status", "--campaign", "done", "--watch", "--interval", "1"]);
    assert_eq!(watch.status.code(), Some(0));
    assert!(
        stdout(&watch).contains("[##############################] 100%  1 of 1 final"),
        "{}",
        stdout(&watch)
    );

    let missing = d.run(&["status", "--campaign", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("campaign 'nope' not found"),
        "{}",
        stderr(&missing)
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn stop_and_resume_switch_active_blaster_and_resume_starts_a_run() {
    let d = Deployment::new().await;
    let stop = d.run(&["stop"]);
    assert_eq!(stop.status.code(), Some(0));
    assert_eq!(d.parameter("activeBlaster").await, "False");

    let sfn = aws_sdk_sfn::Client::new(&d.sdk);
    let executions = || async {
        sfn.list_executions()
            .state_machine_arn(&d.state_machine_arn)
            .send()
            .await
            .unwrap()
            .executions()
            .len()
    };
    assert_eq!(executions().await, 0);
    let resume = d.run(&["resume"]);
    assert_eq!(resume.status.code(), Some(0));
    assert_eq!(d.parameter("activeBlaster").await, "True");
    assert_eq!(
        executions().await,
        1,
        "no run was in progress: resume starts one"
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn results_merges_the_campaigns_records_as_json_lines_or_csv() {
    let d = Deployment::new().await;
    let records = campaign_records(&d, "spring").await;
    campaign_records(&d, "other").await;

    let jsonl = d.path("spring.jsonl");
    let out = d.run(&[
        "results",
        "--campaign",
        "spring",
        "-o",
        jsonl.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&jsonl)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // In completion order: k1#1 09:10, k2#1 09:40, k1#2 10:20.
    let expected = [records[0].clone(), records[2].clone(), records[1].clone()];
    let strip_nulls = |v: &serde_json::Value| -> serde_json::Value {
        v.as_object()
            .unwrap()
            .iter()
            .filter(|(_, x)| !x.is_null())
            .map(|(k, x)| (k.clone(), x.clone()))
            .collect()
    };
    assert_eq!(
        lines.iter().map(strip_nulls).collect::<Vec<_>>(),
        expected.iter().map(strip_nulls).collect::<Vec<_>>()
    );

    let csv_out = d.run(&["results", "--campaign", "spring", "--csv"]);
    assert_eq!(csv_out.status.code(), Some(0));
    let mut r = csv::Reader::from_reader(csv_out.stdout.as_slice());
    let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[2][7], "connected");

    let none = d.run(&["results", "--campaign", "nope"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("has no results"),
        "{}",
        stderr(&none)
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn report_is_one_html_file_with_the_campaigns_figures() {
    let d = Deployment::new().await;
    campaign_records(&d, "spring").await;
    let html_path = d.path("spring.html");
    let out = d.run(&[
        "report",
        "--campaign",
        "spring",
        "-o",
        html_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out).trim(),
        html_path.to_str().unwrap(),
        "prints the report's path"
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    for (figure, value) in [
        ("calls", "3"),
        ("contacts", "2"),
        ("answered", "1"),
        ("finals", "2"),
        ("rejects", "1"),
    ] {
        assert!(
            html.contains(&format!(r#"data-figure="{figure}">{value}<"#)),
            "{figure} {value}"
        );
    }
    assert!(html.contains("attempts_exhausted") && html.contains("not a phone number"));
    assert!(!html.contains("<script"), "no script");
    assert_eq!(
        html.matches("http").count(),
        html.matches("http://www.w3.org/2000/svg").count() + 1,
        "nothing fetched: the only URLs are the SVG namespace and the http-equiv of the CSP"
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn dnc_lists_checks_and_removes_by_the_deployments_key() {
    let d = Deployment::new().await;
    // The key the functions compute: the same KMS derivation, the normalised number.
    let keyer = ContactKeyer::from_kms(&aws_sdk_kms::Client::new(&d.sdk), &d.kms_key_arn)
        .await
        .unwrap();
    let pk = format!("DNC#{}", keyer.do_not_call_key("+442079460001"));

    let add = d.run(&["dnc", "add", "020 7946 0001"]);
    assert_eq!(add.status.code(), Some(0));
    let item = moto::ledger_item(&d.ledger, &pk)
        .await
        .expect("listed under its do-not-call key");
    assert_eq!(item["source"].as_s().unwrap(), "operator");
    assert!(
        !format!("{item:?}").contains("7946"),
        "the number is never stored"
    );

    let check = d.run(&["dnc", "check", "+442079460001", "+442079460002"]);
    assert_eq!(check.status.code(), Some(0));
    assert_eq!(
        stdout(&check),
        "+442079460001: listed\n+442079460002: not listed\n"
    );

    let file = d.path("dnc.csv");
    std::fs::write(&file, "phone\n+442079460002\nnonsense\n").unwrap();
    let from_file = d.run(&["dnc", "add", "--file", file.to_str().unwrap()]);
    // No load-list function in this deployment's outputs: the allowed countries are unknown.
    assert_eq!(from_file.status.code(), Some(1));
    assert!(
        stderr(&from_file).contains("--allowed-countries"),
        "{}",
        stderr(&from_file)
    );
    let from_file = d.run(&[
        "dnc",
        "add",
        "--file",
        file.to_str().unwrap(),
        "--allowed-countries",
        "GB",
    ]);
    assert_eq!(from_file.status.code(), Some(0));
    assert!(
        stdout(&from_file).contains("line      3"),
        "the rejected row and its line"
    );
    assert!(stdout(&from_file).contains("1 numbers listed, 0 already listed"));
    let listed_from_file = format!("DNC#{}", keyer.do_not_call_key("+442079460002"));
    let item = moto::ledger_item(&d.ledger, &listed_from_file)
        .await
        .expect("listed from the file");
    assert_eq!(item["source"].as_s().unwrap(), "operator:dnc.csv:2");

    let remove = d.run(&["dnc", "remove", "+442079460001"]);
    assert_eq!(remove.status.code(), Some(0));
    assert!(moto::ledger_item(&d.ledger, &pk).await.is_none());
    let again = d.run(&["dnc", "check", "+442079460001"]);
    assert_eq!(stdout(&again), "+442079460001: not listed\n");

    let bad = d.run(&["dnc", "check", "not-a-number"]);
    assert_eq!(bad.status.code(), Some(2));
}

/// Runs the binary with no deployment and no credentials at all (never reaches AWS).
fn bare(args: &[&str], dir: &Path) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_outbound"))
        .args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", dir)
        .env("AWS_CONFIG_FILE", dir.join("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .output()
        .expect("run outbound")
}

#[test]
fn without_a_deployment_or_credentials_the_message_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let none = bare(&["status"], dir.path());
    assert_eq!(none.status.code(), Some(1));
    assert!(
        stderr(&none).contains("no deployment found"),
        "{}",
        stderr(&none)
    );

    let outputs = dir.path().join("o.json");
    std::fs::write(
        &outputs,
        r#"{"campaign_ledger_table_name": "t", "ssm_prefix": "/p/"}"#,
    )
    .unwrap();
    let no_region = bare(
        &["--outputs", outputs.to_str().unwrap(), "status"],
        dir.path(),
    );
    assert_eq!(no_region.status.code(), Some(1));
    assert!(
        stderr(&no_region).contains("no AWS region"),
        "{}",
        stderr(&no_region)
    );

    let no_creds = bare(
        &[
            "--outputs",
            outputs.to_str().unwrap(),
            "--region",
            "eu-west-2",
            "stop",
        ],
        dir.path(),
    );
    assert_eq!(no_creds.status.code(), Some(1));
    assert!(
        stderr(&no_creds).contains("no AWS credentials"),
        "{}",
        stderr(&no_creds)
    );

    let not_json = dir.path().join("bad.json");
    std::fs::write(&not_json, "custID,phone\n").unwrap();
    let bad = bare(
        &["--outputs", not_json.to_str().unwrap(), "status"],
        dir.path(),
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("terraform output -json"),
        "{}",
        stderr(&bad)
    );

    let usage = bare(&["frobnicate"], dir.path());
    assert_eq!(usage.status.code(), Some(2), "clap's usage errors");
    let help = bare(&["--help"], dir.path());
    let text = stdout(&help);
    for sub in [
        "upload", "status", "stop", "resume", "results", "report", "dnc",
    ] {
        assert!(text.contains(sub), "--help lists {sub}: {text}");
    }
}

#[test]
fn a_dry_run_with_both_settings_needs_no_aws() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("l.csv");
    std::fs::write(&list, "custID,phone\nC-1,020 7946 0001\nC-2,\n").unwrap();
    let out = bare(
        &[
            "upload",
            list.to_str().unwrap(),
            "--campaign",
            "x",
            "--dry-run",
            "--allowed-countries",
            "GB",
            "--default-region",
            "GB",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("2 rows, 1 accepted, 1 rejected"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("line      3"), "{}", stdout(&out));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT and --include-ignored"]
async fn schedule_shows_sets_keeps_the_other_bound_and_clears_and_status_shows_it() {
    use outbound_core::ledger::schedule;
    let d = Deployment::new().await;
    let now = Utc::now();
    let mut c = moto::contact();
    c.campaign = "winter".into();
    c.contact_key = ContactKeyer::from_secret(vec![7u8; 32]).key("winter", &c.key, &c.phone);
    admit(
        &d.ledger,
        &c,
        &AdmitOptions {
            due_at: now,
            rules: None,
            round: None,
            dnc: None,
        },
        now,
    )
    .await
    .expect("admit");
    let rfc = |t: chrono::DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let stored = || async {
        schedule::read(&d.ledger, "winter")
            .await
            .expect("read the schedule")
    };

    let none = d.run(&["schedule", "winter"]);
    assert_eq!(none.status.code(), Some(0), "{}", stderr(&none));
    assert!(stdout(&none).contains("no schedule"), "{}", stdout(&none));

    let start = (now + chrono::Duration::days(1))
        .with_timezone(&chrono::FixedOffset::west_opt(5 * 3600).unwrap());
    let end = now + chrono::Duration::days(2);
    let set = d.run(&[
        "schedule",
        "winter",
        "--start",
        &start.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
        "--end",
        &rfc(end),
    ]);
    assert_eq!(set.status.code(), Some(0), "{}", stderr(&set));
    assert!(stdout(&set).contains("not started"), "{}", stdout(&set));
    let s = stored().await.expect("a schedule is stored");
    assert_eq!(s.source, "operator");
    assert_eq!(
        s.schedule.start.map(rfc),
        Some(rfc(start.with_timezone(&Utc)))
    );
    assert_eq!(s.schedule.end.map(rfc), Some(rfc(end)));

    // Only the end given: the start is kept.
    let later = now + chrono::Duration::days(3);
    let moved = d.run(&["schedule", "winter", "--end", &rfc(later)]);
    assert_eq!(moved.status.code(), Some(0), "{}", stderr(&moved));
    let s = stored().await.unwrap();
    assert_eq!(
        s.schedule.start.map(rfc),
        Some(rfc(start.with_timezone(&Utc)))
    );
    assert_eq!(s.schedule.end.map(rfc), Some(rfc(later)));

    // `status` shows it with the campaign's counts.
    let status = d.run(&["status", "--campaign", "winter", "--json"]);
    assert_eq!(status.status.code(), Some(0), "{}", stderr(&status));
    let json: serde_json::Value = serde_json::from_str(stdout(&status).trim()).unwrap();
    let shown = &json["campaigns"][0]["schedule"];
    assert_eq!(shown["phase"], "not_started", "{json}");
    assert_eq!(shown["end"], rfc(later));
    let table = d.run(&["status", "--campaign", "winter"]);
    assert!(stdout(&table).contains("schedule "), "{}", stdout(&table));
    assert!(stdout(&table).contains("not started"), "{}", stdout(&table));

    // Refused, saying why, and nothing changed.
    for (args, why) in [
        (vec!["--end", "2020-01-01T00:00:00Z"], "must come after"),
        (vec!["--start", "tomorrow"], "RFC 3339"),
        (vec!["--start", "2026-12-08T09:00:00"], "RFC 3339"),
        (vec!["--start", "none", "--end", "none"], "--clear"),
    ] {
        let mut all = vec!["schedule", "winter"];
        all.extend(args.iter());
        let out = d.run(&all);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(why), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stored().await.unwrap().schedule.end.map(rfc),
            Some(rfc(later))
        );
    }
    let bad_campaign = d.run(&["schedule", "no/such", "--end", &rfc(later)]);
    assert_eq!(bad_campaign.status.code(), Some(2));

    // The start removed and the end in the past: ended.
    let ended_at = now - chrono::Duration::minutes(1);
    let ended = d.run(&[
        "schedule",
        "winter",
        "--start",
        "none",
        "--end",
        &rfc(ended_at),
    ]);
    assert_eq!(ended.status.code(), Some(0), "{}", stderr(&ended));
    let shown = d.run(&["schedule", "winter", "--json"]);
    let json: serde_json::Value = serde_json::from_str(stdout(&shown).trim()).unwrap();
    assert_eq!(json["schedule"]["phase"], "ended", "{json}");
    assert_eq!(json["schedule"]["start"], serde_json::Value::Null);
    assert_eq!(json["schedule"]["source"], "operator");

    // A change starts a run when none is running, so it applies now.
    let executions = aws_sdk_sfn::Client::new(&d.sdk)
        .list_executions()
        .state_machine_arn(&d.state_machine_arn)
        .send()
        .await
        .unwrap()
        .executions()
        .len();
    assert!(executions >= 1, "no run started");

    let cleared = d.run(&["schedule", "winter", "--clear"]);
    assert_eq!(cleared.status.code(), Some(0), "{}", stderr(&cleared));
    assert!(stdout(&cleared).contains("schedule removed"));
    assert!(stored().await.is_none());
    let conflict = d.run(&["schedule", "winter", "--clear", "--end", &rfc(later)]);
    assert_eq!(
        conflict.status.code(),
        Some(2),
        "--clear with a bound is refused"
    );
}

/// A plan as load-list writes it for `object` (JSON and text), from load-list's own module.
fn sample_plan(campaign: &str, object: &str, dry_run: bool) -> load_list::plan::Plan {
    use load_list::plan::{Capacity, Check, FileCounts, Plan, PlanInput, PlanTally};
    let now = chrono::DateTime::parse_from_rfc3339("2026-12-08T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut tally = PlanTally::default();
    tally.record(Check::DoNotCall);
    tally.record(Check::Open { at: now });
    tally.record(Check::Deferred {
        opens_at: now + chrono::Duration::hours(4),
    });
    Plan::compute(
        &tally,
        FileCounts {
            loaded: 3,
            rejected: 1,
            duplicates: 0,
        },
        &PlanInput {
            campaign,
            file: object,
            dry_run,
            now,
            capacity: Capacity {
                lanes: 2,
                calls_per_second: 2.0,
                assumed_handle_seconds: 120,
            },
            frequency_cap: None,
        },
    )
}

async fn put_plan(d: &Deployment, plan: &load_list::plan::Plan) {
    use outbound_core::records::plan_object_key;
    d.put(
        &plan_object_key(&plan.campaign, &plan.file, "txt"),
        plan.to_text(),
    )
    .await;
    d.put(
        &plan_object_key(&plan.campaign, &plan.file, "json"),
        serde_json::to_string_pretty(plan).unwrap(),
    )
    .await;
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn plan_prints_the_latest_plan_or_the_files_as_text_or_json() {
    let d = Deployment::new().await;
    let none = d.run(&["plan", "spring"]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("has no plan"), "{}", stderr(&none));

    let week1 = sample_plan("spring", "campaigns/spring/week1.csv", false);
    put_plan(&d, &week1).await;
    // S3's modification times are whole seconds: the second plan is the later one.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let week2 = load_list::plan::Plan {
        loaded: 7,
        ..sample_plan("spring", "campaigns/spring/week2.csv", false)
    };
    put_plan(&d, &week2).await;

    let latest = d.run(&["plan", "spring"]);
    assert_eq!(latest.status.code(), Some(0));
    assert_eq!(stdout(&latest), week2.to_text());
    let named = d.run(&["plan", "spring", "--file", "week1.csv"]);
    assert_eq!(stdout(&named), week1.to_text());
    let by_key = d.run(&[
        "plan",
        "spring",
        "--file",
        "campaigns/spring/week1.csv",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&by_key)).unwrap();
    assert_eq!(json, serde_json::to_value(&week1).unwrap());
    assert_eq!(json["dncHits"], 1);
    assert_eq!(json["deferred"], 1);
    let missing = d.run(&["plan", "spring", "--file", "week3.csv"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        stderr(&missing).contains("campaigns_spring_week1.csv"),
        "the plans there are named: {}",
        stderr(&missing)
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn upload_plan_only_uploads_a_dry_run_and_prints_its_plan_once_written() {
    let d = Deployment::new().await;
    let list = d.path("renewals.csv");
    std::fs::write(
        &list,
        "custID,phone\nC-1,020 7946 0001\nC-2,+442079460002\n",
    )
    .unwrap();
    let key = "campaigns/spring/renewals.csv";
    // A plan from an earlier upload of the same file is not taken for the new one.
    let old = load_list::plan::Plan {
        loaded: 99,
        ..sample_plan("spring", key, false)
    };
    put_plan(&d, &old).await;
    let child = d.spawn(&[
        "upload",
        list.to_str().unwrap(),
        "--campaign",
        "spring",
        "--allowed-countries",
        "GB",
        "--plan-only",
        "--wait",
        "60",
    ]);
    // load-list's part: the object arrives with dry-run metadata, and its plan is written.
    let s3 = moto::s3(&d.sdk);
    let mut metadata = None;
    for _ in 0..100 {
        if let Ok(o) = s3
            .head_object()
            .bucket(&d.input_bucket)
            .key(key)
            .send()
            .await
        {
            metadata = o.metadata().cloned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let metadata = metadata.expect("the file is uploaded");
    assert_eq!(metadata.get("dry-run").map(String::as_str), Some("true"));
    // Not at once: the command waits for it.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let plan = sample_plan("spring", key, true);
    put_plan(&d, &plan).await;
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let printed = stdout(&out);
    assert!(printed.ends_with(&plan.to_text()), "{printed}");
    assert!(printed.contains("Plan (DRY RUN"), "{printed}");
    assert!(
        stderr(&out).contains("waiting up to 60 s"),
        "{}",
        stderr(&out)
    );

    // No plan within the wait: a clear failure.
    let other = d.path("other.csv");
    std::fs::write(&other, "custID,phone\nC-9,+442079460009\n").unwrap();
    let timeout = d.run(&[
        "upload",
        other.to_str().unwrap(),
        "--campaign",
        "spring",
        "--allowed-countries",
        "GB",
        "--plan-only",
        "--wait",
        "1",
    ]);
    assert_eq!(timeout.status.code(), Some(1));
    let err = stderr(&timeout);
    assert!(
        err.contains("no plan at s3://") && err.contains("after 1 s"),
        "{err}"
    );
    assert!(err.contains("outbound plan spring --file"), "{err}");
}
