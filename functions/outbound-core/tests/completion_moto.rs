//! The completion ledger against moto over HTTP: real DynamoDB conditional writes and S3, with
//! Step Functions faked in process so the tests can assert which lane was woken.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use chrono::Utc;
use outbound_core::completion::{
    complete, record_disconnect, Completion, DisconnectRecorded, TokenRecorded,
};
use outbound_core::records::Outcome;
use outbound_core::testkit::moto::{
    end, lane, ledger, parse_record, result_objects, sdk, sfn, store_token,
};

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn race_token_first_with_real_conditional_writes() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let next = lane("r-a", 1);
    assert_eq!(
        store_token(&ledger, "c-a", "T-a", &next, Some("+12125550142")).await,
        TokenRecorded::Waiting
    );
    let status = record_disconnect(&ledger, &sfn, "c-a", &end(Outcome::Connected), Utc::now())
        .await
        .unwrap();
    assert_eq!(status, DisconnectRecorded::Completed);
    let dup = record_disconnect(&ledger, &sfn, "c-a", &end(Outcome::Connected), Utc::now())
        .await
        .unwrap();
    assert_eq!(dup, DisconnectRecorded::Duplicate);
    assert_eq!(
        sent.lock().unwrap().clone(),
        vec![("T-a".to_string(), serde_json::to_string(&next).unwrap())]
    );
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1);
    let record = parse_record(&objects[0].1);
    assert_eq!(record.outcome, Outcome::Connected);
    assert_eq!(record.caller_id.as_deref(), Some("+12125550142"));
    assert_eq!(objects[0].0, record.object_key());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_placement_again_with_the_queue_number_forgets_the_routed_caller_id() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let next = lane("r-d", 2);
    store_token(&ledger, "c-d", "T-d1", &next, Some("+442079460100")).await;
    // The message came back and the contact was placed again (same ClientToken, same contact),
    // this time without a routed number: the takeover write removes the first one's.
    assert_eq!(
        store_token(&ledger, "c-d", "T-d2", &next, None).await,
        TokenRecorded::Waiting
    );
    record_disconnect(&ledger, &sfn, "c-d", &end(Outcome::Busy), Utc::now())
        .await
        .unwrap();
    assert_eq!(sent.lock().unwrap()[0].0, "T-d2");
    let objects = result_objects(&ledger).await;
    let record = objects
        .iter()
        .map(|(_, body)| parse_record(body))
        .find(|r| r.run_id == "r-d")
        .expect("r-d's record");
    assert_eq!(record.outcome, Outcome::Busy);
    assert_eq!(record.caller_id, None);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn race_disconnect_first_with_real_conditional_writes() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let (sfn, sent) = sfn();
    let status = record_disconnect(&ledger, &sfn, "c-b", &end(Outcome::NoAnswer), Utc::now())
        .await
        .unwrap();
    assert_eq!(status, DisconnectRecorded::Recorded);
    // EventBridge delivers at least once: the duplicate changes nothing.
    let dup = record_disconnect(&ledger, &sfn, "c-b", &end(Outcome::NoAnswer), Utc::now())
        .await
        .unwrap();
    assert_eq!(dup, DisconnectRecorded::Duplicate);
    assert!(sent.lock().unwrap().is_empty());
    let next = lane("r-b", 4);
    let TokenRecorded::DisconnectSeen(item) = store_token(&ledger, "c-b", "T-b", &next, None).await
    else {
        panic!("the token side must see the stored disconnect");
    };
    assert_eq!(
        complete(&ledger, &sfn, &item, Utc::now()).await.unwrap(),
        Completion::Completed
    );
    // A second completer (a retried dial, a late duplicate) loses the claim.
    assert_eq!(
        complete(&ledger, &sfn, &item, Utc::now()).await.unwrap(),
        Completion::AlreadyCompleted
    );
    assert_eq!(sent.lock().unwrap().len(), 1);
    assert_eq!(sent.lock().unwrap()[0].0, "T-b");
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1);
    assert_eq!(parse_record(&objects[0].1).outcome, Outcome::NoAnswer);
    assert_eq!(parse_record(&objects[0].1).caller_id, None);
}
