//! The feeder against moto over HTTP: the campaign ledger (DynamoDB, with its sparse indexes),
//! the lanes' queue (SQS), the ActiveDialing table and the results bucket, for real (locally).
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (`make test` does both).
//! Every test makes its own tables, bucket and queue, so they share one moto server.

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Duration, DurationRound, Utc};
use get_config::{FeedReport, Feeder};
use outbound_core::completion::{contact_pk, rfc3339};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::ledger::schedule::{self, CampaignSchedule};
use outbound_core::ledger::{
    admit, begin_attempt, campaigns, finish, lease, record_placed, AdmitOptions, AttemptBegun,
    AttemptId, CampaignLedger, ContactState, FinalReason, Finished, Finisher, LedgerContact,
    RedialRules,
};
use outbound_core::records::{final_object_key, FinalRecord, Outcome};
use outbound_core::testkit::moto::{self, campaign_ledger, create_queue, drain_queue, sdk, unique};
use std::collections::BTreeMap;

/// Whole milliseconds: what the ledger stores.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap()
}

/// Connect in process (moto has no contacts): `ct-dropped` ended busy 5 minutes ago (its
/// DISCONNECTED event never came); every other contact is still up.
fn connect() -> aws_sdk_connect::Client {
    use aws_sdk_connect::operation::describe_contact::DescribeContactOutput;
    use aws_sdk_connect::types::Contact;
    use aws_smithy_mocks::mock;
    let ended = mock!(aws_sdk_connect::Client::describe_contact)
        .match_requests(|r| r.contact_id() == Some("ct-dropped") && r.instance_id() == Some("i-1"))
        .then_output(|| {
            let at = chrono::Utc::now() - Duration::minutes(5);
            DescribeContactOutput::builder()
                .contact(
                    Contact::builder()
                        .id("ct-dropped")
                        .disconnect_timestamp(aws_smithy_types::DateTime::from_secs(at.timestamp()))
                        .disconnect_reason("TELECOM_BUSY")
                        .build(),
                )
                .build()
        });
    let up = mock!(aws_sdk_connect::Client::describe_contact).then_output(|| {
        DescribeContactOutput::builder()
            .contact(aws_sdk_connect::types::Contact::builder().id("up").build())
            .build()
    });
    outbound_core::mocked!(aws_sdk_connect, [&ended, &up])
}

/// A feeder over fresh tables, bucket and queue, leasing for `lease`.
async fn feeder(lease: Duration) -> Feeder {
    let sdk = sdk().await;
    let attempts = Finisher {
        ledger: campaign_ledger(&sdk, Some(90)).await,
        rules: RedialRules::default(),
    };
    let results = moto::ledger(&sdk).await.with_finisher(attempts.clone());
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = create_queue(&sqs, &unique("it-feed")).await;
    Feeder {
        attempts,
        results,
        connect: connect(),
        sqs,
        queue_url,
        lease,
        window: None,
        cap: None,
        close_per_feeding: get_config::feeder::CLOSE_PER_FEEDING,
    }
}

fn ledger(f: &Feeder) -> &CampaignLedger {
    &f.attempts.ledger
}

fn contact(campaign: &str, i: u32) -> Contact {
    let key = format!("C-{i}");
    let phone = format!("+4420794601{:02}", i % 100);
    Contact {
        campaign: campaign.into(),
        contact_key: outbound_core::testkit::contact_key(campaign, &key, &phone),
        key,
        phone,
        attempt: 1,
        attributes: BTreeMap::from([("firstName".to_string(), format!("Ann {i}"))]),
        source: ContactSource::Csv {
            object: format!("campaigns/{campaign}/list.csv"),
            line: u64::from(i) + 1,
        },
    }
}

/// Admits contact `i` of `campaign`, due at `due_at` (the campaign is listed first, as the
/// intake does).
async fn admit_due(f: &Feeder, campaign: &str, i: u32, due_at: DateTime<Utc>) -> Contact {
    campaigns::register(ledger(f), campaign, Utc::now())
        .await
        .unwrap();
    let c = contact(campaign, i);
    let options = AdmitOptions {
        due_at,
        rules: None,
        round: None,
        dnc: None,
    };
    admit(ledger(f), &c, &options, due_at).await.unwrap();
    c
}

/// Takes `c` (due) to `dialing` attempt 1, begun at `started` with its deadline at `deadline`.
async fn dialing(
    f: &Feeder,
    c: &Contact,
    started: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> AttemptId {
    lease(
        ledger(f),
        &c.campaign,
        &c.contact_key,
        started,
        started + Duration::minutes(5),
        "dead-run",
    )
    .await
    .unwrap()
    .expect("due contact leased");
    let id = AttemptId::new(&c.campaign, &c.contact_key, 1);
    assert!(matches!(
        begin_attempt(ledger(f), &id, deadline, started)
            .await
            .unwrap(),
        AttemptBegun::Begun(_)
    ));
    id
}

async fn item(f: &Feeder, c: &Contact) -> LedgerContact {
    outbound_core::ledger::read_contact(ledger(f), &c.campaign, &c.contact_key)
        .await
        .unwrap()
        .expect("the contact is in the ledger")
}

/// The contact messages the queue holds now (received and deleted), by customer key; bodies
/// that are not contact messages are left out.
async fn queued(f: &Feeder) -> Vec<Contact> {
    let mut contacts: Vec<Contact> = drain_queue(&f.sqs, &f.queue_url)
        .await
        .iter()
        .filter_map(|body| serde_json::from_str(body).ok())
        .collect();
    contacts.sort_by(|a, b| a.key.cmp(&b.key));
    contacts
}

/// Records in the ActiveDialing table how the call `contact_id` ended, as the contact event
/// processor does.
async fn record_end(f: &Feeder, contact_id: &str, outcome: Outcome, at: DateTime<Utc>) {
    f.results
        .dynamodb
        .put_item()
        .table_name(&f.results.table_name)
        .item("pk", AttributeValue::S(contact_pk(contact_id)))
        .item("disconnectedAt", AttributeValue::S(rfc3339(at)))
        .item("outcome", AttributeValue::S(outcome.as_str().into()))
        .send()
        .await
        .unwrap();
}

/// The final record of a contact in the results bucket, if there is one.
async fn final_record(f: &Feeder, c: &Contact) -> Option<FinalRecord> {
    let object = f
        .results
        .s3
        .get_object()
        .bucket(&f.results.results_bucket)
        .key(final_object_key(&c.campaign, &c.contact_key))
        .send()
        .await
        .ok()?;
    let body = object.body.collect().await.unwrap().into_bytes();
    let text = String::from_utf8(body.to_vec()).unwrap();
    assert_eq!(text.matches('\n').count(), 1, "one JSON line: {text}");
    Some(serde_json::from_str(text.trim_end()).unwrap())
}

fn report(fed: u64, buffered: u64, expired: u64, recovered: u64, campaigns: u64) -> FeedReport {
    FeedReport {
        fed,
        buffered,
        expired,
        recovered,
        campaigns,
        deferred: 0,
        suppressed: 0,
        closed: 0,
        recorded: 0,
    }
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn contacts_outside_their_calling_window_wait_for_it_and_leave_room_to_the_others() {
    use chrono::TimeZone;
    use outbound_core::calling_window::CallingWindow;
    // Leases longer than the test's two hours: the fed contacts stay leased.
    let mut f = feeder(Duration::hours(6)).await;
    // 08:00-21:00 every day.
    f.window = CallingWindow::from_json("{}").unwrap();
    // Wednesday 14:00 UTC: 14:00 in London, 06:00 in Los Angeles, 23:00 in Tokyo.
    let t = Utc.with_ymd_and_hms(2026, 12, 9, 14, 0, 0).unwrap();
    campaigns::register(ledger(&f), "zones", Utc::now())
        .await
        .unwrap();
    let zone_of = [None, Some("America/Los_Angeles"), None, Some("Asia/Tokyo")];
    let mut contacts = Vec::new();
    for (i, zone) in zone_of.iter().enumerate() {
        let mut c = contact("zones", i as u32);
        if let Some(zone) = zone {
            c.attributes.insert("timezone".into(), (*zone).into());
        }
        let options = AdmitOptions {
            due_at: t - Duration::minutes(10),
            rules: None,
            round: None,
            dnc: None,
        };
        admit(ledger(&f), &c, &options, t).await.unwrap();
        contacts.push(c);
    }
    let fed = f.feed("run-1", "i-1", 1, 3, t).await.unwrap();
    assert_eq!(
        (fed.fed, fed.deferred),
        (2, 2),
        "the two London contacts are fed, the others deferred: {fed:?}"
    );
    let keys: Vec<String> = queued(&f).await.into_iter().map(|c| c.key).collect();
    assert_eq!(keys, ["C-0", "C-2"]);
    let la = item(&f, &contacts[1]).await;
    assert_eq!(la.state, ContactState::Due);
    assert_eq!(
        la.due_at,
        Utc.with_ymd_and_hms(2026, 12, 9, 16, 0, 0).unwrap(),
        "08:00 in Los Angeles"
    );
    assert_eq!(
        (la.deferrals, la.deferred_by.as_deref()),
        (1, Some("calling_window"))
    );
    assert_eq!(la.attempt, 1, "a deferral is not an attempt");
    let tokyo = item(&f, &contacts[3]).await;
    assert_eq!(
        tokyo.due_at,
        Utc.with_ymd_and_hms(2026, 12, 9, 23, 0, 0).unwrap(),
        "08:00 in Tokyo"
    );
    // Nothing is fed again before its window opens; at 16:00 Los Angeles is fed, Tokyo waits.
    let early = f
        .feed("run-1", "i-1", 1, 3, t + Duration::minutes(30))
        .await
        .unwrap();
    assert_eq!((early.fed, early.deferred), (0, 0));
    let at_opening = t + Duration::hours(2);
    let opened = f.feed("run-1", "i-1", 1, 3, at_opening).await.unwrap();
    assert_eq!((opened.fed, opened.deferred), (1, 0));
    let keys: Vec<String> = queued(&f).await.into_iter().map(|c| c.key).collect();
    assert_eq!(keys, ["C-1"]);
    assert_eq!(item(&f, &contacts[3]).await.state, ContactState::Due);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_contact_on_the_do_not_call_list_is_made_final_uncalled_and_leaves_room_to_the_others() {
    use outbound_core::dnc::{self, DncSource};
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    campaigns::register(ledger(&f), "quiet", Utc::now())
        .await
        .unwrap();
    let keyer = outbound_core::testkit::contact_keyer();
    let mut contacts = Vec::new();
    for i in 0..4 {
        let c = contact("quiet", i);
        let options = AdmitOptions {
            due_at: t - Duration::minutes(10 - i64::from(i)),
            rules: None,
            round: None,
            dnc: Some(&keyer),
        };
        admit(ledger(&f), &c, &options, t).await.unwrap();
        contacts.push(c);
    }
    // The second contact's number is listed after its admission.
    let listed = DncSource::List {
        object: "dnc/registry.csv",
        line: 7,
    };
    let key = keyer.do_not_call_key(&contacts[1].phone);
    assert!(dnc::add(ledger(&f), &key, &listed, t).await.unwrap());

    // Room for 3: the listed contact does not take one of them.
    let fed = f.feed("run-1", "i-1", 1, 3, t).await.unwrap();
    assert_eq!((fed.fed, fed.suppressed), (3, 1), "{fed:?}");
    let keys: Vec<String> = queued(&f).await.into_iter().map(|c| c.key).collect();
    assert_eq!(keys, ["C-0", "C-2", "C-3"]);
    let suppressed = item(&f, &contacts[1]).await;
    assert_eq!(suppressed.state, ContactState::Final);
    assert_eq!(suppressed.final_reason, Some(FinalReason::DoNotCall));
    assert_eq!(suppressed.attempt, 0);
    let record = final_record(&f, &contacts[1])
        .await
        .expect("a final record for the suppressed contact");
    assert_eq!(record.final_reason, "dnc");
    assert_eq!(record.attempts, 0);
    assert_eq!(record.contact_id, None);
    // Nothing more to feed, nothing suppressed twice.
    let again = f.feed("run-1", "i-1", 1, 3, t).await.unwrap();
    assert_eq!((again.fed, again.suppressed), (0, 0));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_number_at_its_frequency_cap_waits_and_leaves_room_to_the_others() {
    use outbound_core::frequency_cap::{self, CapVerdict, FrequencyCap};
    let mut f = feeder(Duration::minutes(60)).await;
    let cap = FrequencyCap {
        max_calls: 1,
        period: Duration::hours(24),
    };
    f.cap = Some(cap);
    let t = now();
    campaigns::register(ledger(&f), "capped", Utc::now())
        .await
        .unwrap();
    let keyer = outbound_core::testkit::contact_keyer();
    let mut contacts = Vec::new();
    for i in 0..3 {
        let c = contact("capped", i);
        let options = AdmitOptions {
            due_at: t - Duration::minutes(10 - i64::from(i)),
            rules: None,
            round: None,
            dnc: Some(&keyer),
        };
        admit(ledger(&f), &c, &options, t).await.unwrap();
        contacts.push(c);
    }
    // C-0's number was called two hours ago by another campaign.
    let called_at = t - Duration::hours(2);
    let key = keyer.do_not_call_key(&contacts[0].phone);
    assert_eq!(
        frequency_cap::record_call(ledger(&f), &cap, &key, "other-campaign-1", called_at)
            .await
            .unwrap(),
        CapVerdict::Allowed
    );
    let fed = f.feed("run-1", "i-1", 1, 2, t).await.unwrap();
    assert_eq!((fed.fed, fed.deferred), (2, 1), "{fed:?}");
    let keys: Vec<String> = queued(&f).await.into_iter().map(|c| c.key).collect();
    assert_eq!(keys, ["C-1", "C-2"]);
    let held = item(&f, &contacts[0]).await;
    assert_eq!((held.state, held.attempt), (ContactState::Due, 1));
    assert_eq!(held.due_at, called_at + Duration::hours(24));
    assert_eq!(held.deferred_by.as_deref(), Some("frequency_cap"));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn due_contacts_are_leased_and_queued_up_to_the_room_the_lanes_have() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    // Six contacts due a minute apart, oldest first, and one due tomorrow.
    let mut due = Vec::new();
    for i in 0..6 {
        due.push(admit_due(&f, "spring", i, t - Duration::minutes(10 - i64::from(i))).await);
    }
    let tomorrow = admit_due(&f, "spring", 9, t + Duration::days(1)).await;
    // A message of the previous wave is still being dialed.
    f.sqs
        .send_message()
        .queue_url(&f.queue_url)
        .message_body("{\"previous\":\"wave\"}")
        .send()
        .await
        .unwrap();

    // 2 lanes of 2 calls: room for 4, less the 1 the queue holds.
    let first = f.feed("run-1", "i-1", 2, 2, t).await.unwrap();
    assert_eq!(first, report(3, 1, 0, 0, 1));
    let leased: Vec<LedgerContact> = {
        let mut items = Vec::new();
        for c in &due {
            items.push(item(&f, c).await);
        }
        items
    };
    let states: Vec<ContactState> = leased.iter().map(|c| c.state).collect();
    use ContactState::{Due, Leased};
    assert_eq!(
        states,
        [Leased, Leased, Leased, Due, Due, Due],
        "oldest first"
    );
    for c in &leased[..3] {
        assert_eq!(c.leased_by.as_deref(), Some("run-1"));
        assert_eq!(c.lease_until, Some(t + Duration::minutes(60)));
        assert_eq!(c.attempt, 1);
    }
    assert_eq!(item(&f, &tomorrow).await.state, Due);

    // The queue is full: nothing more this time.
    let full = f.feed("run-1", "i-1", 2, 2, t).await.unwrap();
    assert_eq!(full, report(0, 4, 0, 0, 1));

    // The lanes dialed what was queued: each message is the contract's contact message of the
    // contact's current attempt.
    let messages = queued(&f).await;
    assert_eq!(messages, due[..3].to_vec());
    assert!(messages.iter().all(|m| m.attempt == 1));

    // C-0 was not answered: its redial (attempt 2) came due an hour ago and is fed first, with
    // its attempt.
    let id = AttemptId::new("spring", &due[0].contact_key, 1);
    let three_hours_ago = t - Duration::hours(3);
    begin_attempt(ledger(&f), &id, t, three_hours_ago)
        .await
        .unwrap();
    let redialed = finish(
        ledger(&f),
        &id,
        Outcome::NoAnswer,
        &RedialRules::default(),
        three_hours_ago,
    )
    .await
    .unwrap();
    assert!(matches!(redialed, Finished::Redialed(ref c) if c.attempt == 2));
    let second = f.feed("run-1", "i-1", 10, 10, t).await.unwrap();
    assert_eq!(second, report(4, 0, 0, 0, 1), "C-0 again, and C-3 to C-5");
    let messages = queued(&f).await;
    let got: Vec<(&str, u32)> = messages
        .iter()
        .map(|m| (m.key.as_str(), m.attempt))
        .collect();
    assert_eq!(got, [("C-0", 2), ("C-3", 1), ("C-4", 1), ("C-5", 1)]);
    let c0 = item(&f, &due[0]).await;
    assert_eq!((c0.state, c0.attempt), (Leased, 2));
    assert_eq!(messages[0], c0.to_contact());
    // Tomorrow's contact waits for its time.
    assert_eq!(item(&f, &tomorrow).await.state, Due);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_room_of_a_wave_is_shared_by_every_campaign() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    for i in 0..3 {
        admit_due(&f, "alpha", i, t - Duration::minutes(1)).await;
        admit_due(&f, "beta", i, t - Duration::minutes(1)).await;
    }
    let fed = f.feed("run-1", "i-1", 1, 4, t).await.unwrap();
    assert_eq!(fed, report(4, 0, 0, 0, 2));
    let messages = queued(&f).await;
    assert_eq!(messages.len(), 4, "one wave's room, over both campaigns");
    let per_campaign = |messages: &[Contact], campaign: &str| {
        messages.iter().filter(|c| c.campaign == campaign).count()
    };
    assert_eq!(
        (
            per_campaign(&messages, "alpha"),
            per_campaign(&messages, "beta")
        ),
        (2, 2),
        "an even share each, not the first campaign first"
    );
    let leased = moto::ledger_contacts(ledger(&f))
        .await
        .into_iter()
        .filter(|c| c.state == ContactState::Leased)
        .count();
    assert_eq!(leased, 4, "exactly what was queued is leased");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_campaign_needing_less_than_its_share_leaves_the_rest_to_the_others() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    admit_due(&f, "small", 0, t - Duration::minutes(1)).await;
    for i in 0..5 {
        admit_due(&f, "large", i, t - Duration::minutes(1)).await;
    }
    // A contact of a third campaign due later takes no room now.
    admit_due(&f, "later", 0, t + Duration::hours(1)).await;
    let fed = f.feed("run-1", "i-1", 2, 3, t).await.unwrap();
    assert_eq!(fed, report(6, 0, 0, 0, 3));
    let messages = queued(&f).await;
    let count = |campaign: &str| messages.iter().filter(|c| c.campaign == campaign).count();
    assert_eq!(
        (count("small"), count("large"), count("later")),
        (1, 5, 0),
        "room 6: small takes its 1, large the 5 it has, later nothing before its time"
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_expired_lease_makes_the_contact_due_again_and_it_is_fed_again() {
    let f = feeder(Duration::minutes(1)).await;
    let t = now();
    let c = admit_due(&f, "spring", 1, t).await;
    assert_eq!(
        f.feed("run-1", "i-1", 1, 10, t).await.unwrap(),
        report(1, 0, 0, 0, 1)
    );
    // The message is lost (dead-lettered, or its run stopped): the queue is empty again.
    assert_eq!(queued(&f).await, vec![c.clone()]);

    // Within the lease: the contact stays leased and nothing is fed.
    assert_eq!(
        f.feed("run-2", "i-1", 1, 10, t + Duration::seconds(30))
            .await
            .unwrap(),
        report(0, 0, 0, 0, 1)
    );
    assert_eq!(item(&f, &c).await.state, ContactState::Leased);

    // The lease ran out: due again at its place in line, and fed again in the same wave.
    let later = t + Duration::seconds(61);
    assert_eq!(
        f.feed("run-2", "i-1", 1, 10, later).await.unwrap(),
        report(1, 0, 1, 0, 1)
    );
    let again = item(&f, &c).await;
    assert_eq!(again.state, ContactState::Leased);
    assert_eq!(again.leased_by.as_deref(), Some("run-2"));
    assert_eq!(again.lease_until, Some(later + Duration::minutes(1)));
    assert_eq!(again.lease_expiries, 1);
    assert_eq!(again.due_at, t, "its original place in line");
    assert_eq!(again.attempt, 1, "an expired lease is not an attempt");
    assert_eq!(queued(&f).await, vec![c]);

    // A lease set in the past through the item (a run that died long ago) comes back too.
    let d = admit_due(&f, "spring", 2, t).await;
    lease(
        ledger(&f),
        "spring",
        &d.contact_key,
        t,
        t - Duration::seconds(1),
        "dead-run",
    )
    .await
    .unwrap()
    .unwrap();
    let fed = f.feed("run-3", "i-1", 1, 10, t).await.unwrap();
    assert_eq!(fed, report(1, 0, 1, 0, 1));
    assert_eq!(item(&f, &d).await.leased_by.as_deref(), Some("run-3"));
    assert_eq!(queued(&f).await, vec![d]);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn overdue_attempts_are_queued_again_finished_or_given_time() {
    let lease_for = Duration::minutes(60);
    let f = feeder(lease_for).await;
    let t = now();
    let rules = RedialRules::default();

    // A: placement of unknown outcome, begun 10 minutes ago: dial replays it with its token.
    let a = admit_due(&f, "spring", 1, t - Duration::minutes(20)).await;
    let a_id = dialing(&f, &a, t - Duration::minutes(10), t - Duration::minutes(1)).await;
    // B: placement of unknown outcome begun 8 days ago, beyond Connect's token window.
    let b = admit_due(&f, "spring", 2, t - Duration::days(9)).await;
    dialing(
        &f,
        &b,
        t - Duration::days(8),
        t - Duration::days(8) + Duration::minutes(5),
    )
    .await;
    // C: placed, and its contact event recorded the end: connected.
    let c = admit_due(&f, "spring", 3, t - Duration::minutes(20)).await;
    let c_id = dialing(&f, &c, t - Duration::minutes(10), t - Duration::minutes(1)).await;
    record_placed(ledger(&f), &c_id, "ct-connected")
        .await
        .unwrap();
    record_end(
        &f,
        "ct-connected",
        Outcome::Connected,
        t - Duration::minutes(8),
    )
    .await;
    // D: placed, and not answered.
    let d = admit_due(&f, "spring", 4, t - Duration::minutes(20)).await;
    let d_id = dialing(&f, &d, t - Duration::minutes(10), t - Duration::minutes(1)).await;
    record_placed(ledger(&f), &d_id, "ct-no-answer")
        .await
        .unwrap();
    record_end(
        &f,
        "ct-no-answer",
        Outcome::NoAnswer,
        t - Duration::minutes(9),
    )
    .await;
    // E: placed 10 minutes ago, its end not known yet.
    let e = admit_due(&f, "spring", 5, t - Duration::minutes(20)).await;
    let e_id = dialing(&f, &e, t - Duration::minutes(10), t - Duration::minutes(1)).await;
    record_placed(ledger(&f), &e_id, "ct-unknown")
        .await
        .unwrap();
    // F: placed two days ago, and no end ever recorded.
    let g = admit_due(&f, "spring", 6, t - Duration::days(3)).await;
    let g_id = dialing(
        &f,
        &g,
        t - Duration::days(2),
        t - Duration::days(2) + Duration::minutes(5),
    )
    .await;
    record_placed(ledger(&f), &g_id, "ct-lost").await.unwrap();
    // G: placed 10 minutes ago and busy, but its DISCONNECTED event never came (and its run
    // died with its lane): DescribeContact tells the end.
    let dropped = admit_due(&f, "spring", 8, t - Duration::minutes(20)).await;
    let dropped_id = dialing(
        &f,
        &dropped,
        t - Duration::minutes(10),
        t - Duration::minutes(1),
    )
    .await;
    record_placed(ledger(&f), &dropped_id, "ct-dropped")
        .await
        .unwrap();
    // An attempt still within its deadline is none of the feeder's business.
    let h = admit_due(&f, "spring", 7, t - Duration::minutes(20)).await;
    dialing(&f, &h, t - Duration::minutes(1), t + Duration::minutes(4)).await;
    let h_before = item(&f, &h).await;

    let fed = f.feed("run-2", "i-1", 10, 10, t).await.unwrap();
    assert_eq!(
        fed,
        report(1, 0, 0, 7, 1),
        "A queued again; seven overdue attempts dealt with"
    );

    // A: still dialing the same attempt with the same token, deadline moved, message queued.
    let a_now = item(&f, &a).await;
    assert_eq!((a_now.state, a_now.attempt), (ContactState::Dialing, 1));
    assert_eq!(a_now.client_token, Some(a_id.client_token()));
    assert_eq!(a_now.lease_until, Some(t + lease_for));
    assert_eq!(a_now.contact_id, None);
    assert_eq!(queued(&f).await, vec![a.clone()]);

    // B: finished as failed; the rules redial it (attempt 2) after the failed delay.
    let b_now = item(&f, &b).await;
    assert_eq!((b_now.state, b_now.attempt), (ContactState::Due, 2));
    assert_eq!(b_now.last_outcome, Some(Outcome::Failed));
    assert_eq!(
        b_now.due_at,
        t + Duration::minutes(i64::from(rules.delay_minutes.failed))
    );
    assert_eq!(b_now.client_token, None);
    assert!(
        final_record(&f, &b).await.is_none(),
        "not final: no final record"
    );

    // C: final with the recorded outcome, and its final record written.
    let c_now = item(&f, &c).await;
    assert_eq!(c_now.state, ContactState::Final);
    assert_eq!(
        c_now.final_reason,
        Some(FinalReason::Outcome(Outcome::Connected))
    );
    assert_eq!(c_now.last_outcome, Some(Outcome::Connected));
    assert!(c_now.final_at.is_some());
    let record = final_record(&f, &c).await.expect("C's final record");
    assert_eq!(record.campaign, "spring");
    assert_eq!(record.contact_key, c.contact_key);
    assert_eq!(record.customer_key, "C-3");
    assert_eq!(record.final_reason, "connected");
    assert_eq!(record.last_outcome, Some(Outcome::Connected));
    assert_eq!(record.attempts, 1);
    assert_eq!(record.contact_id.as_deref(), Some("ct-connected"));
    assert_eq!(record.phone_masked, "+44*******103");
    assert!(!serde_json::to_string(&record).unwrap().contains(&c.phone));

    // D: no answer is not final: redialed after its delay, no final record.
    let d_now = item(&f, &d).await;
    assert_eq!((d_now.state, d_now.attempt), (ContactState::Due, 2));
    assert_eq!(d_now.last_outcome, Some(Outcome::NoAnswer));
    assert_eq!(
        d_now.due_at,
        t + Duration::minutes(i64::from(rules.delay_minutes.no_answer))
    );
    assert_eq!(d_now.contact_id, None);
    assert!(final_record(&f, &d).await.is_none());

    // E: the call may still be up: more time, never placed again.
    let e_now = item(&f, &e).await;
    assert_eq!((e_now.state, e_now.attempt), (ContactState::Dialing, 1));
    assert_eq!(e_now.contact_id.as_deref(), Some("ct-unknown"));
    assert_eq!(e_now.lease_until, Some(t + lease_for));

    // G: busy according to Connect: redialed under the rules (not final), its disconnect
    // recorded for the results.
    let dropped_now = item(&f, &dropped).await;
    assert_eq!(
        (dropped_now.state, dropped_now.attempt),
        (ContactState::Due, 2)
    );
    assert_eq!(dropped_now.last_outcome, Some(Outcome::Busy));
    let recorded = outbound_core::completion::get_contact(&f.results, "ct-dropped")
        .await
        .unwrap()
        .expect("the disconnect is recorded");
    assert_eq!(recorded.outcome, Some(Outcome::Busy));
    assert!(recorded.completed_at.is_some() && recorded.notified_at.is_some());

    // F: no end in two days: finished as timeout, a final outcome.
    let g_now = item(&f, &g).await;
    assert_eq!(g_now.state, ContactState::Final);
    assert_eq!(
        g_now.final_reason,
        Some(FinalReason::Outcome(Outcome::Timeout))
    );
    assert_eq!(
        final_record(&f, &g).await.map(|r| r.final_reason),
        Some("timeout".to_string())
    );

    // The attempt within its deadline is untouched.
    assert_eq!(item(&f, &h).await, h_before);

    // The next wave finds nothing overdue: A and E have new deadlines, the rest moved on.
    assert_eq!(
        f.feed("run-2", "i-1", 10, 10, t + Duration::minutes(1))
            .await
            .unwrap(),
        report(0, 0, 0, 0, 1)
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_campaign_with_nothing_left_is_retired_after_its_grace() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    let old = t - Duration::minutes(11);
    let ledger = ledger(&f);
    // Every contact final, last admission 11 minutes ago: retired.
    let done = admit_due(&f, "done", 1, t - Duration::minutes(30)).await;
    let id = dialing(&f, &done, t - Duration::minutes(20), t).await;
    finish(ledger, &id, Outcome::Connected, &RedialRules::default(), t)
        .await
        .unwrap();
    campaigns::register(ledger, "done", old).await.unwrap();
    // Listed, never admitted anything (a refused file), 11 minutes ago: retired.
    campaigns::register(ledger, "empty", old).await.unwrap();
    // Listed a minute ago with nothing yet (a file still being read): kept.
    campaigns::register(ledger, "fresh", t - Duration::minutes(1))
        .await
        .unwrap();
    // A contact leased to the lanes: kept.
    let held = admit_due(&f, "held", 1, t - Duration::minutes(30)).await;
    lease(
        ledger,
        "held",
        &held.contact_key,
        t,
        t + Duration::minutes(30),
        "run-1",
    )
    .await
    .unwrap()
    .unwrap();
    campaigns::register(ledger, "held", old).await.unwrap();
    // A redial due tomorrow: kept.
    admit_due(&f, "later", 1, t + Duration::days(1)).await;
    campaigns::register(ledger, "later", old).await.unwrap();
    let before = campaigns::active(ledger).await.unwrap();
    assert_eq!(before.len(), 5);

    let fed = f.feed("run-2", "i-1", 1, 1, t).await.unwrap();
    assert_eq!(fed, report(0, 0, 0, 0, 3));
    let after = campaigns::active(ledger).await.unwrap();
    assert_eq!(
        after.keys().map(String::as_str).collect::<Vec<_>>(),
        ["fresh", "held", "later"]
    );
    // The kept ones keep their stamps.
    for (campaign, stamp) in &after {
        assert_eq!(Some(stamp), before.get(campaign));
    }
    // Retiring removes the listing only: the final contact stays in the ledger.
    assert_eq!(item(&f, &done).await.state, ContactState::Final);

    // A later file of a retired campaign lists it again.
    campaigns::register(ledger, "done", t).await.unwrap();
    assert!(campaigns::active(ledger)
        .await
        .unwrap()
        .contains_key("done"));
}

/// Sets `campaign`'s schedule as the operator would.
async fn set_schedule(
    f: &Feeder,
    campaign: &str,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
) {
    schedule::write(
        ledger(f),
        campaign,
        &CampaignSchedule { start, end },
        "operator",
        Utc::now(),
    )
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_campaign_not_started_leases_nothing_and_stays_listed_while_an_open_one_is_fed() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    let old = t - Duration::minutes(11);
    let early: Vec<Contact> = {
        let mut v = Vec::new();
        for i in 0..2 {
            v.push(admit_due(&f, "early", i, t - Duration::minutes(5)).await);
        }
        v
    };
    let open = admit_due(&f, "open", 0, t - Duration::minutes(5)).await;
    set_schedule(&f, "early", Some(t + Duration::days(1)), None).await;
    set_schedule(
        &f,
        "open",
        Some(t - Duration::hours(1)),
        Some(t + Duration::days(1)),
    )
    .await;
    // Their last admissions long ago: nothing but their due contacts keeps them listed.
    campaigns::register(ledger(&f), "early", old).await.unwrap();
    campaigns::register(ledger(&f), "open", old).await.unwrap();

    let fed = f.feed("run-1", "i-1", 2, 10, t).await.unwrap();
    assert_eq!(fed, report(1, 0, 0, 0, 2), "only the open campaign is fed");
    let keys: Vec<(String, String)> = queued(&f)
        .await
        .into_iter()
        .map(|c| (c.campaign, c.key))
        .collect();
    assert_eq!(keys, [("open".to_string(), open.key.clone())]);
    for c in &early {
        let held = item(&f, c).await;
        assert_eq!(held.state, ContactState::Due, "waits for the start");
        assert_eq!(
            held.due_at,
            t - Duration::minutes(5),
            "at its place in line"
        );
    }
    assert!(
        campaigns::active(ledger(&f))
            .await
            .unwrap()
            .contains_key("early"),
        "not retired while it has due contacts"
    );

    // Started (the operator moved the start): fed at the next feeding.
    set_schedule(&f, "early", Some(t - Duration::minutes(1)), None).await;
    let fed = f.feed("run-1", "i-1", 2, 10, t).await.unwrap();
    assert_eq!(fed.fed, 2, "{fed:?}");
    assert_eq!(queued(&f).await.len(), 2);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_ended_campaign_s_due_contacts_become_final_whatever_their_time_and_a_call_is_not_cut() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    // Due now.
    let now_due = admit_due(&f, "over", 0, t - Duration::minutes(30)).await;
    // Called once without an answer: its redial is due next week.
    let redial = admit_due(&f, "over", 1, t - Duration::hours(2)).await;
    let id = dialing(&f, &redial, t - Duration::hours(2), t + Duration::hours(1)).await;
    let mut rules = RedialRules::default();
    rules.delay_minutes.no_answer = 7 * 24 * 60;
    let redialed = finish(
        ledger(&f),
        &id,
        Outcome::NoAnswer,
        &rules,
        t - Duration::hours(1),
    )
    .await
    .unwrap();
    assert!(
        matches!(redialed, Finished::Redialed(ref c) if c.attempt == 2 && c.due_at > t + Duration::days(6))
    );
    // A call up right now.
    let on_call = admit_due(&f, "over", 2, t - Duration::hours(1)).await;
    dialing(
        &f,
        &on_call,
        t - Duration::minutes(1),
        t + Duration::hours(1),
    )
    .await;
    // Another campaign, open, is fed as usual.
    let other = admit_due(&f, "other", 0, t - Duration::minutes(1)).await;
    set_schedule(&f, "over", None, Some(t - Duration::minutes(1))).await;

    let fed = f.feed("run-1", "i-1", 1, 10, t).await.unwrap();
    assert_eq!(
        (fed.fed, fed.closed, fed.campaigns),
        (1, 2, 2),
        "the open campaign's contact fed, the ended one's due contacts closed: {fed:?}"
    );
    let keys: Vec<String> = queued(&f).await.into_iter().map(|c| c.key).collect();
    assert_eq!(keys, [other.key], "nothing of the ended campaign queued");
    for (c, attempts) in [(&now_due, 0), (&redial, 1)] {
        let closed = item(&f, c).await;
        assert_eq!(closed.state, ContactState::Final, "{}", c.key);
        assert_eq!(closed.final_reason, Some(FinalReason::CampaignEnded));
        assert_eq!(closed.attempt, attempts, "only the calls made count");
        assert_eq!(closed.lease_until, None, "its final record confirmed");
        let record = final_record(&f, c).await.expect("its final record");
        assert_eq!(record.final_reason, "campaign_ended");
        assert_eq!(record.attempts, attempts);
    }
    assert_eq!(
        item(&f, &on_call).await.state,
        ContactState::Dialing,
        "a call placed is never cut"
    );

    // Nothing is closed twice; the call's redial, once due, is closed by the next feeding.
    let again = f.feed("run-1", "i-1", 1, 10, t).await.unwrap();
    assert_eq!(again.closed, 0, "{again:?}");
    let on_call_id = AttemptId::new("over", &on_call.contact_key, 1);
    let ended = finish(ledger(&f), &on_call_id, Outcome::Busy, &rules, t)
        .await
        .unwrap();
    assert!(matches!(ended, Finished::Redialed(_)));
    let after = f.feed("run-1", "i-1", 1, 10, t).await.unwrap();
    assert_eq!((after.fed, after.closed), (0, 1), "{after:?}");
    assert_eq!(
        item(&f, &on_call).await.final_reason,
        Some(FinalReason::CampaignEnded)
    );
    assert_eq!(final_record(&f, &on_call).await.unwrap().attempts, 1);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn closing_is_bounded_per_feeding_and_goes_on_at_the_next() {
    let mut f = feeder(Duration::minutes(60)).await;
    f.close_per_feeding = 2;
    let t = now();
    let mut contacts = Vec::new();
    for i in 0..3 {
        // One due now, two due over the next days: all closed all the same.
        contacts.push(admit_due(&f, "over", i, t + Duration::days(i64::from(i))).await);
    }
    set_schedule(
        &f,
        "over",
        Some(t - Duration::days(2)),
        Some(t - Duration::days(1)),
    )
    .await;
    let first = f.feed("run-1", "i-1", 1, 10, t).await.unwrap();
    assert_eq!((first.fed, first.closed), (0, 2), "{first:?}");
    assert_eq!(first.campaigns, 1, "still listed: one contact is due");
    let second = f.feed("run-1", "i-1", 1, 10, t).await.unwrap();
    assert_eq!((second.fed, second.closed), (0, 1), "{second:?}");
    for c in &contacts {
        assert_eq!(
            item(&f, c).await.final_reason,
            Some(FinalReason::CampaignEnded),
            "{}",
            c.key
        );
        assert!(final_record(&f, c).await.is_some());
    }
    assert!(queued(&f).await.is_empty());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_final_record_its_writer_never_wrote_is_written_by_a_later_feeding() {
    use outbound_core::ledger::ops::{suppress_due, RECORD_GRACE};
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    // Two contacts made final without a call whose writers died before the final record: one
    // suppressed at lease (do-not-call), one whose campaign ended. A third is dialed as usual.
    let listed = admit_due(&f, "lost", 0, t - Duration::minutes(5)).await;
    lease(
        ledger(&f),
        "lost",
        &listed.contact_key,
        t,
        t + Duration::minutes(60),
        "dead-run",
    )
    .await
    .unwrap()
    .expect("leased");
    outbound_core::ledger::suppress(
        ledger(&f),
        "lost",
        &listed.contact_key,
        1,
        FinalReason::DoNotCall,
        t,
    )
    .await
    .unwrap()
    .expect("suppressed");
    let at_intake = admit_due(&f, "lost", 1, t - Duration::minutes(5)).await;
    suppress_due(
        ledger(&f),
        "lost",
        &at_intake.contact_key,
        FinalReason::DoNotCall,
        t,
    )
    .await
    .unwrap()
    .expect("suppressed at intake");
    let waiting = admit_due(&f, "lost", 2, t - Duration::minutes(1)).await;

    // Within the grace the writers are trusted: nothing is written for them.
    let first = f.feed("run-1", "i-1", 1, 10, t).await.unwrap();
    assert_eq!((first.fed, first.recorded), (1, 0), "{first:?}");
    assert!(final_record(&f, &listed).await.is_none());
    assert_eq!(queued(&f).await[0].key, waiting.key);

    // After it, the next feeding writes both records, once, and the campaign stays listed
    // until then even with nothing due.
    let later = t + RECORD_GRACE + Duration::seconds(1);
    let second = f.feed("run-1", "i-1", 1, 10, later).await.unwrap();
    assert_eq!(second.recorded, 2, "{second:?}");
    for c in [&listed, &at_intake] {
        let record = final_record(&f, c).await.expect("its final record");
        assert_eq!(record.final_reason, "dnc");
        assert_eq!(record.attempts, 0);
        assert_eq!(item(&f, c).await.lease_until, None, "confirmed");
    }
    let third = f.feed("run-1", "i-1", 1, 10, later).await.unwrap();
    assert_eq!(third.recorded, 0, "written once: {third:?}");
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn while_stopped_an_ended_campaign_is_closed_and_nothing_is_fed() {
    let f = feeder(Duration::minutes(60)).await;
    let t = now();
    let ended: Vec<Contact> = vec![
        admit_due(&f, "finished", 0, t - Duration::minutes(30)).await,
        admit_due(&f, "finished", 1, t + Duration::days(2)).await,
    ];
    set_schedule(&f, "finished", None, Some(t - Duration::minutes(1))).await;
    let open = admit_due(&f, "running", 0, t - Duration::minutes(1)).await;

    let tidied = f.tidy(t).await.unwrap();
    assert_eq!((tidied.closed, tidied.fed), (2, 0), "{tidied:?}");
    for c in &ended {
        let item = item(&f, c).await;
        assert_eq!(item.final_reason, Some(FinalReason::CampaignEnded));
        assert_eq!(item.lease_until, None, "its final record confirmed");
        assert_eq!(
            final_record(&f, c).await.expect("its record").final_reason,
            "campaign_ended"
        );
    }
    assert_eq!(item(&f, &open).await.state, ContactState::Due, "not leased");
    assert!(queued(&f).await.is_empty(), "nothing queued while stopped");
    assert_eq!(f.tidy(t).await.unwrap().closed, 0, "closed once");
}
