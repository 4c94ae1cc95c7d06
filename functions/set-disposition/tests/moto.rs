//! set-disposition against moto over HTTP: the disposition rewrites the result record the
//! completion wrote, at the same key.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use chrono::{Duration, DurationRound, Utc};
use outbound_core::completion::record_disconnect;
use outbound_core::ledger::ops::{admit, begin_attempt, lease, AdmitOptions};
use outbound_core::ledger::{AttemptId, ContactState, Finisher, RedialRules};
use outbound_core::records::Outcome;
use outbound_core::testkit::moto::{
    campaign_ledger, contact, end, lane, ledger, parse_record, result_objects, sdk, sfn,
    store_token,
};
use set_disposition::disposition::{set_disposition, Callbacks};

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn result_records_are_written_once_and_rewritten_in_place() {
    let sdk = sdk().await;
    let ledger = ledger(&sdk).await;
    let callbacks = Callbacks {
        ledger: campaign_ledger(&sdk, Some(90)).await,
        max_days: 30,
    };
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
    let answer = set_disposition(&ledger, &callbacks, &event, Utc::now())
        .await
        .unwrap();
    assert_eq!(answer["status"], "recorded");
    let objects = result_objects(&ledger).await;
    assert_eq!(objects.len(), 1, "{objects:?}");
    let record = parse_record(&objects[0].1);
    assert_eq!(record.disposition.as_deref(), Some("SALE"));
    assert_eq!(record.outcome, Outcome::Connected);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_callback_reopens_the_final_contact_in_the_due_index_at_its_time() {
    let sdk = sdk().await;
    let campaign = campaign_ledger(&sdk, Some(90)).await;
    let ledger = ledger(&sdk).await.with_finisher(Finisher {
        ledger: campaign.clone(),
        rules: RedialRules::default(),
    });
    let callbacks = Callbacks {
        ledger: campaign.clone(),
        max_days: 30,
    };
    let (sfn, _) = sfn();
    // Whole milliseconds: what the ledger stores.
    let now = Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap();
    let c = contact();
    let options = AdmitOptions {
        due_at: now,
        rules: None,
        round: None,
        dnc: None,
    };
    admit(&campaign, &c, &options, now).await.unwrap();
    lease(
        &campaign,
        "spring",
        &c.contact_key,
        now,
        now + Duration::minutes(15),
        "f",
    )
    .await
    .unwrap()
    .unwrap();
    let id = AttemptId::new("spring", &c.contact_key, 1);
    begin_attempt(&campaign, &id, now + Duration::minutes(5), now)
        .await
        .unwrap();
    store_token(&ledger, "c-cb", "T-cb", &lane("r-cb", 1), None).await;
    // Connected: final under the default rules, with its final record.
    record_disconnect(&ledger, &sfn, "c-cb", &end(Outcome::Connected), now)
        .await
        .unwrap();
    let item = outbound_core::ledger::read_contact(&campaign, "spring", &c.contact_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(item.state, ContactState::Final);

    // As after the feeder retired the finished campaign: not listed.
    let listed = || async {
        outbound_core::ledger::campaigns::active(&campaign)
            .await
            .unwrap()
            .contains_key("spring")
    };
    assert!(!listed().await);

    let event = serde_json::json!({"Details": {"ContactData": {"ContactId": "c-cb"},
        "Parameters": {"disposition": "Call back later", "callbackInMinutes": "45"}}});
    let answer = set_disposition(&ledger, &callbacks, &event, now)
        .await
        .unwrap();
    assert_eq!(answer["status"], "recorded", "{answer:?}");
    assert!(
        listed().await,
        "the campaign is listed again, or no feeder looks at the reopened contact"
    );
    let at = now + Duration::minutes(45);
    let item = outbound_core::ledger::read_contact(&campaign, "spring", &c.contact_key)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((item.state, item.attempt), (ContactState::Due, 2));
    assert_eq!(item.due_at, at);
    // In the due index: leased at the callback time, not a millisecond before.
    assert!(lease(
        &campaign,
        "spring",
        &c.contact_key,
        at - Duration::milliseconds(1),
        at,
        "f"
    )
    .await
    .unwrap()
    .is_none());
    let leased = outbound_core::ledger::lease_due(
        &campaign,
        "spring",
        at,
        10,
        at + Duration::minutes(15),
        "f",
    )
    .await
    .unwrap();
    assert_eq!(leased.leased.len(), 1, "{leased:?}");
    assert_eq!(leased.leased[0].attempt, 2);
    // The attempt's record carries the callback, rewritten in place.
    let objects = result_objects(&ledger).await;
    let results: Vec<_> = objects
        .iter()
        .filter(|(k, _)| k.starts_with("results/"))
        .collect();
    assert_eq!(results.len(), 1, "{objects:?}");
    let record = parse_record(&results[0].1);
    assert_eq!(
        record.callback_at.as_deref(),
        Some(outbound_core::completion::rfc3339(at).as_str())
    );
    // A late repeat for attempt 1 once attempt 2 is dialing: too late, nothing moves.
    begin_attempt(
        &campaign,
        &AttemptId::new("spring", &c.contact_key, 2),
        at + Duration::minutes(5),
        at,
    )
    .await
    .unwrap();
    let answer = set_disposition(&ledger, &callbacks, &event, now)
        .await
        .unwrap();
    assert_eq!(answer["status"], "callback_too_late", "{answer:?}");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn do_not_call_lists_the_number_by_its_key_once() {
    let sdk = sdk().await;
    let campaign = campaign_ledger(&sdk, Some(90)).await;
    let ledger = ledger(&sdk).await.with_finisher(Finisher {
        ledger: campaign.clone(),
        rules: RedialRules::default(),
    });
    let callbacks = Callbacks {
        ledger: campaign.clone(),
        max_days: 30,
    };
    let (sfn, _) = sfn();
    let now = Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap();
    let keyer = outbound_core::testkit::contact_keyer();
    // Admitted with its do-not-call key (as the intake does), called, answered.
    let c = contact();
    let options = AdmitOptions {
        due_at: now,
        rules: None,
        round: None,
        dnc: Some(&keyer),
    };
    admit(&campaign, &c, &options, now).await.unwrap();
    lease(
        &campaign,
        "spring",
        &c.contact_key,
        now,
        now + Duration::minutes(15),
        "f",
    )
    .await
    .unwrap()
    .unwrap();
    let id = AttemptId::new("spring", &c.contact_key, 1);
    begin_attempt(&campaign, &id, now + Duration::minutes(5), now)
        .await
        .unwrap();
    store_token(&ledger, "c-dnc", "T-dnc", &lane("r-dnc", 1), None).await;
    record_disconnect(&ledger, &sfn, "c-dnc", &end(Outcome::Connected), now)
        .await
        .unwrap();
    let key = keyer.do_not_call_key(&c.phone);
    assert!(!outbound_core::dnc::is_listed(&campaign, &key)
        .await
        .unwrap());

    let event = serde_json::json!({"Details": {"ContactData": {"ContactId": "c-dnc"},
        "Parameters": {"disposition": "Asked not to be called", "doNotCall": "true"}}});
    let answer = set_disposition(&ledger, &callbacks, &event, now)
        .await
        .unwrap();
    assert_eq!(answer["status"], "recorded", "{answer:?}");
    assert_eq!(answer["doNotCall"], "listed", "{answer:?}");
    assert!(outbound_core::dnc::is_listed(&campaign, &key)
        .await
        .unwrap());
    // The flow repeating itself lists nothing twice.
    let again = set_disposition(&ledger, &callbacks, &event, now)
        .await
        .unwrap();
    assert_eq!(again["doNotCall"], "already_listed", "{again:?}");
    // The disposition is kept without the parameter among its attributes.
    let objects = result_objects(&ledger).await;
    let (_, body) = objects
        .iter()
        .find(|(k, _)| k.starts_with("results/"))
        .expect("the attempt's result record");
    let record = parse_record(body);
    assert_eq!(
        record.disposition.as_deref(),
        Some("Asked not to be called")
    );
    assert!(!body.contains(&c.phone), "no number in clear: {body}");
}
