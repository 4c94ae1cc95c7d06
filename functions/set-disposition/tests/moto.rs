//! set-disposition against moto over HTTP: the disposition rewrites the result record the
//! completion wrote, at the same key.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use chrono::Utc;
use outbound_core::completion::record_disconnect;
use outbound_core::records::Outcome;
use outbound_core::testkit::moto::{
    end, lane, ledger, parse_record, result_objects, sdk, sfn, store_token,
};
use set_disposition::disposition::set_disposition;

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn result_records_are_written_once_and_rewritten_in_place() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, _) = sfn();
    store_token(&ledger, "c-c", "T-c", &lane("r-c", 1), None).await;
    record_disconnect(&ledger, &sfn, "c-c", &end(Outcome::Connected), Utc::now())
        .await
        .unwrap();
    for _ in 0..3 {
        record_disconnect(&ledger, &sfn, "c-c", &end(Outcome::Connected), Utc::now())
            .await
            .unwrap();
    }
    // The agent's disposition after the call replaces the record at the same key.
    let event = serde_json::json!({"Details": {"ContactData": {"ContactId": "c-c"},
                                               "Parameters": {"disposition": "SALE", "note": "x"}}});
    let answer = set_disposition(&ledger, &event, Utc::now()).await.unwrap();
    assert_eq!(answer["status"], "recorded");
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1, "{objects:?}");
    let record = parse_record(&objects[0].1);
    assert_eq!(record.disposition.as_deref(), Some("SALE"));
    assert_eq!(record.outcome, Outcome::Connected);
}
