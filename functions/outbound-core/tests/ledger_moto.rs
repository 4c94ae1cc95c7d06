//! The campaign ledger against moto over HTTP: real conditional writes, real sparse indexes.
//!
//! Ignored unless run with `--include-ignored` and `MOTO_ENDPOINT` (see `make test`).

use chrono::{DateTime, Duration, DurationRound, Utc};
use outbound_core::contact::{Contact, ContactSource};
use outbound_core::ledger::{
    self, admit, admit_all, begin_attempt, defer, expire_leases, extend_attempt, finish, lease,
    lease_due, overdue_attempts, record_placed, recover, schedule_callback, settle, Admission,
    AdmitOptions, AttemptBegun, AttemptId, CallbackScheduled, CampaignLedger, ContactState,
    Decision, FinalReason, Finished, Placed, Recovery, RedialRules,
};
use outbound_core::records::Outcome;
use outbound_core::testkit::moto::{campaign_ledger, sdk};
use std::collections::BTreeMap;

/// Whole milliseconds: what the ledger stores.
fn now() -> DateTime<Utc> {
    Utc::now()
        .duration_trunc(Duration::milliseconds(1))
        .unwrap()
}

fn contact(campaign: &str, i: usize) -> Contact {
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
            object: format!("campaigns/{campaign}/week1.csv"),
            line: i as u64 + 2,
        },
    }
}

fn due_now(at: DateTime<Utc>) -> AdmitOptions<'static> {
    AdmitOptions {
        due_at: at,
        rules: None,
        round: None,
        dnc: None,
    }
}

async fn fresh() -> CampaignLedger {
    campaign_ledger(&sdk().await, Some(90)).await
}

async fn state_of(ledger: &CampaignLedger, c: &Contact) -> ledger::LedgerContact {
    ledger::read_contact(ledger, &c.campaign, &c.contact_key)
        .await
        .unwrap()
        .expect("the contact is in the ledger")
}

/// Admits `c` and takes it to `dialing` attempt 1.
async fn dialing(ledger: &CampaignLedger, c: &Contact, t: DateTime<Utc>) -> AttemptId {
    admit(ledger, c, &due_now(t), t).await.unwrap();
    lease(
        ledger,
        &c.campaign,
        &c.contact_key,
        t,
        t + Duration::minutes(15),
        "feeder-1",
    )
    .await
    .unwrap()
    .expect("due contact leased");
    let id = AttemptId::new(&c.campaign, &c.contact_key, 1);
    match begin_attempt(ledger, &id, t + Duration::minutes(5), t)
        .await
        .unwrap()
    {
        AttemptBegun::Begun(item) => assert_eq!(item.state, ContactState::Dialing),
        other => panic!("{other:?}"),
    }
    id
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_same_contact_twice_is_admitted_once_and_never_reset() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    assert_eq!(
        admit(&ledger, &c, &due_now(t), t).await.unwrap(),
        Admission::Admitted
    );
    assert_eq!(
        admit(&ledger, &c, &due_now(t), t).await.unwrap(),
        Admission::AlreadyPresent {
            state: Some(ContactState::Due)
        }
    );
    // Leased, then the same file comes again: still leased, still attempt 1.
    lease(
        &ledger,
        "spring",
        &c.contact_key,
        t,
        t + Duration::minutes(5),
        "f",
    )
    .await
    .unwrap()
    .unwrap();
    let later = t + Duration::hours(1);
    assert_eq!(
        admit(&ledger, &c, &due_now(later), later).await.unwrap(),
        Admission::AlreadyPresent {
            state: Some(ContactState::Leased)
        }
    );
    let item = state_of(&ledger, &c).await;
    assert_eq!(item.state, ContactState::Leased);
    assert_eq!(item.attempt, 1);
    assert_eq!(item.due_at, t);
    assert_eq!(item.to_contact(), c);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_file_loaded_twice_adds_nothing_the_second_time() {
    let ledger = fresh().await;
    let t = now();
    let mut file: Vec<Contact> = (0..40).map(|i| contact("spring", i)).collect();
    // A row repeated inside the file.
    file.push(contact("spring", 7));
    let first = admit_all(&ledger, &file, &due_now(t), t).await;
    let admitted = first
        .iter()
        .filter(|r| matches!(r, Ok(Admission::Admitted)))
        .count();
    assert_eq!(admitted, 40);
    assert_eq!(
        first
            .iter()
            .filter(|r| matches!(r, Ok(Admission::AlreadyPresent { .. })))
            .count(),
        1
    );
    let second = admit_all(&ledger, &file, &due_now(t), t).await;
    assert!(second.iter().all(|r| matches!(
        r,
        Ok(Admission::AlreadyPresent {
            state: Some(ContactState::Due)
        })
    )));
    // The same contact in another campaign is another contact.
    assert_eq!(
        admit(&ledger, &contact("summer", 7), &due_now(t), t)
            .await
            .unwrap(),
        Admission::Admitted
    );
    // 40 due in spring, whatever the limit asks beyond that.
    let batch = lease_due(&ledger, "spring", t, 100, t + Duration::minutes(5), "f")
        .await
        .unwrap();
    assert_eq!(batch.leased.len(), 40);
    assert!(batch.leased.iter().all(|c| c.campaign == "spring"));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn lease_due_takes_the_oldest_due_contacts_and_only_once() {
    let ledger = fresh().await;
    let t = now();
    // Ten contacts due a minute apart, the last five in the future.
    for i in 0..10 {
        let at = t + Duration::minutes(i as i64 - 4);
        admit(&ledger, &contact("spring", i), &due_now(at), t)
            .await
            .unwrap();
    }
    let until = t + Duration::minutes(10);
    let first = lease_due(&ledger, "spring", t, 3, until, "feeder-1")
        .await
        .unwrap();
    let keys = |b: &ledger::LeasedBatch| -> Vec<String> {
        b.leased.iter().map(|c| c.key.clone()).collect()
    };
    assert_eq!(keys(&first), ["C-0", "C-1", "C-2"]);
    assert_eq!(first.contended, 0);
    for c in &first.leased {
        assert_eq!(c.state, ContactState::Leased);
        assert_eq!(c.lease_until, Some(until));
        assert_eq!(c.leased_by.as_deref(), Some("feeder-1"));
    }
    // Leased contacts left the due index: the next call gets the rest of what is due now.
    let second = lease_due(&ledger, "spring", t, 10, until, "feeder-2")
        .await
        .unwrap();
    assert_eq!(keys(&second), ["C-3", "C-4"]);
    // Nothing else is due yet.
    let none = lease_due(&ledger, "spring", t, 10, until, "feeder-2")
        .await
        .unwrap();
    assert!(none.leased.is_empty());
    // Later, the future ones come due.
    let later = lease_due(&ledger, "spring", t + Duration::minutes(6), 10, until, "f")
        .await
        .unwrap();
    assert_eq!(later.leased.len(), 5);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_contact_already_leased_cannot_be_leased_again() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    admit(&ledger, &c, &due_now(t), t).await.unwrap();
    let until = t + Duration::minutes(5);
    assert!(lease(&ledger, "spring", &c.contact_key, t, until, "a")
        .await
        .unwrap()
        .is_some());
    assert!(lease(&ledger, "spring", &c.contact_key, t, until, "b")
        .await
        .unwrap()
        .is_none());
    assert_eq!(
        state_of(&ledger, &c).await.leased_by.as_deref(),
        Some("a"),
        "the losing lease wrote nothing"
    );
    // Not due yet, or not there at all: no lease either.
    let future = contact("spring", 2);
    admit(&ledger, &future, &due_now(t + Duration::hours(1)), t)
        .await
        .unwrap();
    assert!(lease(&ledger, "spring", &future.contact_key, t, until, "a")
        .await
        .unwrap()
        .is_none());
    assert!(
        lease(&ledger, "spring", "f".repeat(32).as_str(), t, until, "a")
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_deferred_contact_waits_in_the_due_index_until_its_time_and_is_never_lost() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    admit(&ledger, &c, &due_now(t), t).await.unwrap();
    let until = t + Duration::minutes(10);
    lease(&ledger, "spring", &c.contact_key, t, until, "feeder-1")
        .await
        .unwrap()
        .expect("leased");
    let opens = t + Duration::hours(3);
    // Another attempt's deferral does not touch it.
    assert!(defer(
        &ledger,
        "spring",
        &c.contact_key,
        2,
        opens,
        "calling_window"
    )
    .await
    .unwrap()
    .is_none());
    let deferred = defer(
        &ledger,
        "spring",
        &c.contact_key,
        1,
        opens,
        "calling_window",
    )
    .await
    .unwrap()
    .expect("a leased contact is deferred");
    assert_eq!(deferred.state, ContactState::Due);
    assert_eq!(deferred.due_at, opens);
    assert_eq!(deferred.attempt, 1, "a deferral is not an attempt");
    assert_eq!(deferred.deferrals, 1);
    assert_eq!(deferred.deferred_by.as_deref(), Some("calling_window"));
    assert_eq!(deferred.lease_until, None);
    assert_eq!(deferred.leased_by, None);
    // Not due before its time, due at it, through the index.
    assert!(lease_due(
        &ledger,
        "spring",
        opens - Duration::seconds(1),
        10,
        until,
        "f"
    )
    .await
    .unwrap()
    .leased
    .is_empty());
    let later = lease_due(
        &ledger,
        "spring",
        opens,
        10,
        opens + Duration::minutes(10),
        "f",
    )
    .await
    .unwrap();
    assert_eq!(later.leased.len(), 1);
    assert_eq!(later.leased[0].key, c.key);
    // Once its attempt began it can no longer be deferred: the call is under way.
    let id = AttemptId::new("spring", &c.contact_key, 1);
    assert!(matches!(
        begin_attempt(&ledger, &id, opens + Duration::minutes(5), opens)
            .await
            .unwrap(),
        AttemptBegun::Begun(_)
    ));
    assert!(defer(
        &ledger,
        "spring",
        &c.contact_key,
        1,
        opens,
        "calling_window"
    )
    .await
    .unwrap()
    .is_none());
    assert_eq!(state_of(&ledger, &c).await.state, ContactState::Dialing);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn the_do_not_call_list_holds_keys_once_and_a_listed_contact_is_suppressed_uncalled() {
    use outbound_core::dnc::{self, DncSource};
    let ledger = fresh().await;
    let t = now();
    let keyer = outbound_core::testkit::contact_keyer();
    // 250 numbers, every fifth listed: the lookup spans three BatchGetItem requests.
    let phones: Vec<String> = (0..250).map(|i| format!("+4420794610{i:02}")).collect();
    let keys: Vec<String> = phones.iter().map(|p| keyer.do_not_call_key(p)).collect();
    let source = DncSource::List {
        object: "dnc/registry.csv",
        line: 2,
    };
    for key in keys.iter().step_by(5) {
        assert!(dnc::add(&ledger, key, &source, t).await.unwrap(), "new");
    }
    // Listing again changes nothing and says so.
    let agent = DncSource::Agent { contact_id: "c-1" };
    assert!(!dnc::add(&ledger, &keys[0], &agent, t).await.unwrap());
    let mut asked: Vec<&str> = keys.iter().map(String::as_str).collect();
    asked.push(keys[0].as_str()); // a key asked twice is asked once
    let found = dnc::listed(&ledger, &asked).await.unwrap();
    let expected: std::collections::HashSet<String> = keys.iter().step_by(5).cloned().collect();
    assert_eq!(found, expected);
    assert!(dnc::is_listed(&ledger, &keys[5]).await.unwrap());
    assert!(!dnc::is_listed(&ledger, &keys[6]).await.unwrap());
    // The list holds no number: only the key, its source and time.
    let item = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(dnc::dnc_pk(&keys[0])),
        )
        .send()
        .await
        .unwrap();
    let text = format!("{:?}", item.item().expect("listed"));
    assert!(text.contains("list:dnc/registry.csv:2"), "{text}");
    assert!(
        !text.contains(&phones[0]) && !text.contains("2079461000"),
        "{text}"
    );

    // A contact admitted with its do-not-call key, leased, then suppressed: final `dnc`, no
    // attempt counted, out of both indexes.
    let c = contact("summer", 1);
    let options = AdmitOptions {
        dnc: Some(&keyer),
        ..due_now(t)
    };
    admit(&ledger, &c, &options, t).await.unwrap();
    let admitted = state_of(&ledger, &c).await;
    assert_eq!(
        admitted.dnc_key.as_deref(),
        Some(keyer.do_not_call_key(&c.phone).as_str())
    );
    lease(
        &ledger,
        "summer",
        &c.contact_key,
        t,
        t + Duration::minutes(10),
        "f",
    )
    .await
    .unwrap()
    .expect("leased");
    // Another attempt's suppression does not touch it.
    assert!(ledger::suppress(
        &ledger,
        "summer",
        &c.contact_key,
        2,
        FinalReason::DoNotCall,
        t
    )
    .await
    .unwrap()
    .is_none());
    let suppressed = ledger::suppress(
        &ledger,
        "summer",
        &c.contact_key,
        1,
        FinalReason::DoNotCall,
        t,
    )
    .await
    .unwrap()
    .expect("a leased contact is suppressed");
    assert_eq!(suppressed.state, ContactState::Final);
    assert_eq!(suppressed.final_reason, Some(FinalReason::DoNotCall));
    assert_eq!(suppressed.attempt, 0, "no call was made");
    // Its final record is owed until the writer confirms it (`unrecorded_finals`).
    assert_eq!(suppressed.lease_until, Some(t + ledger::ops::RECORD_GRACE));
    assert!(
        lease_due(&ledger, "summer", t + Duration::days(30), 10, t, "f")
            .await
            .unwrap()
            .leased
            .is_empty()
    );
    // Suppressed once: a second try finds it final and changes nothing.
    assert!(ledger::suppress(
        &ledger,
        "summer",
        &c.contact_key,
        1,
        FinalReason::DoNotCall,
        t
    )
    .await
    .unwrap()
    .is_none());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_frequency_cap_counts_each_call_once_across_campaigns_and_says_when_it_frees() {
    use outbound_core::frequency_cap::{self, CapVerdict, FrequencyCap};
    let ledger = fresh().await;
    let t = now();
    let cap = FrequencyCap {
        max_calls: 2,
        period: Duration::hours(24),
    };
    let key = outbound_core::testkit::contact_keyer().do_not_call_key("+442079460123");
    let other = outbound_core::testkit::contact_keyer().do_not_call_key("+442079460124");
    // Two calls from two campaigns' attempts, an hour apart.
    for (token, at) in [("spring-a-1", t), ("summer-b-1", t + Duration::hours(1))] {
        assert_eq!(
            frequency_cap::record_call(&ledger, &cap, &key, token, at)
                .await
                .unwrap(),
            CapVerdict::Allowed
        );
    }
    // The same attempt placed again is the same call.
    assert_eq!(
        frequency_cap::record_call(&ledger, &cap, &key, "summer-b-1", t + Duration::hours(2))
            .await
            .unwrap(),
        CapVerdict::Allowed
    );
    // A third is refused until the first call leaves the period, and nothing is recorded.
    let later = t + Duration::hours(3);
    let capped = CapVerdict::Capped {
        until: t + Duration::hours(24),
    };
    assert_eq!(
        frequency_cap::record_call(&ledger, &cap, &key, "autumn-c-1", later)
            .await
            .unwrap(),
        capped
    );
    let found = frequency_cap::capped(&ledger, &cap, &[key.as_str(), other.as_str()], later)
        .await
        .unwrap();
    assert_eq!(
        found,
        std::collections::HashMap::from([(key.clone(), t + Duration::hours(24))])
    );
    // Once the first call is a period old, a place is free again.
    assert_eq!(
        frequency_cap::record_call(&ledger, &cap, &key, "autumn-c-1", t + Duration::hours(24))
            .await
            .unwrap(),
        CapVerdict::Allowed
    );
    // The item names no number, and expires a period after its last call.
    let item = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(frequency_cap::cap_pk(&key)),
        )
        .send()
        .await
        .unwrap()
        .item
        .unwrap();
    let calls = item["calls"].as_m().unwrap();
    assert_eq!(
        calls.len(),
        2,
        "the call a period old was dropped: {calls:?}"
    );
    assert_eq!(
        item["expiresAt"].as_n().unwrap(),
        &(t + Duration::hours(48)).timestamp().to_string()
    );
    assert!(!format!("{item:?}").contains("2079460123"));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_attempt_begun_but_not_placed_can_be_given_back_or_suppressed_a_placed_one_cannot() {
    use outbound_core::ledger::{defer_held, suppress_held, Held};
    let ledger = fresh().await;
    let t = now();
    let a = contact("autumn", 1);
    let b = contact("autumn", 2);
    let id_a = dialing(&ledger, &a, t).await;
    let id_b = dialing(&ledger, &b, t).await;
    let until = t + Duration::hours(5);
    // Held by a lease it is not: the lease form refuses.
    assert!(defer_held(
        &ledger,
        "autumn",
        &a.contact_key,
        1,
        until,
        "frequency_cap",
        Held::Lease
    )
    .await
    .unwrap()
    .is_none());
    let back = defer_held(
        &ledger,
        "autumn",
        &a.contact_key,
        1,
        until,
        "frequency_cap",
        Held::UnplacedAttempt,
    )
    .await
    .unwrap()
    .expect("an unplaced attempt is given back");
    assert_eq!(
        (back.state, back.attempt, back.due_at),
        (ContactState::Due, 1, until)
    );
    assert_eq!(back.deferred_by.as_deref(), Some("frequency_cap"));
    assert_eq!(back.lease_until, None);
    assert_eq!(back.attempt_started_at, None);
    // Leased again later, its attempt 1 begins afresh.
    lease(
        &ledger,
        "autumn",
        &a.contact_key,
        until,
        until + Duration::minutes(10),
        "f",
    )
    .await
    .unwrap()
    .expect("due at its time");
    assert!(matches!(
        begin_attempt(&ledger, &id_a, until + Duration::minutes(5), until)
            .await
            .unwrap(),
        AttemptBegun::Begun(_)
    ));
    // A placed call is under way: neither form touches it.
    assert!(matches!(
        record_placed(&ledger, &id_b, "ct-b").await.unwrap(),
        Placed::Recorded(_)
    ));
    assert!(suppress_held(
        &ledger,
        "autumn",
        &b.contact_key,
        1,
        FinalReason::DoNotCall,
        t,
        Held::UnplacedAttempt
    )
    .await
    .unwrap()
    .is_none());
    assert_eq!(state_of(&ledger, &b).await.state, ContactState::Dialing);
}

// Two feeders at once are not tested here: moto's threaded server checks a condition and
// writes without a lock (the local stack adds one, local/moto_fixes.py), so a race test would
// test moto. The guarantee comes from DynamoDB's conditional write, shown above on one item; this
// shows that feeders working one after the other on stale index reads share the contacts out.
#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn feeders_share_the_due_contacts_out_without_overlap() {
    let ledger = fresh().await;
    let t = now();
    let file: Vec<Contact> = (0..30).map(|i| contact("spring", i)).collect();
    admit_all(&ledger, &file, &due_now(t), t).await;
    let until = t + Duration::minutes(5);
    let a = lease_due(&ledger, "spring", t, 20, until, "a")
        .await
        .unwrap();
    // Feeder b read the index before a leased (a stale index view): its leases of a's
    // contacts fail their condition and count as contended.
    let mut stale = 0;
    for c in &a.leased {
        if lease(&ledger, "spring", &c.contact_key, t, until, "b")
            .await
            .unwrap()
            .is_none()
        {
            stale += 1;
        }
    }
    assert_eq!(stale, 20);
    let b = lease_due(&ledger, "spring", t, 20, until, "b")
        .await
        .unwrap();
    let mut keys: Vec<String> = a
        .leased
        .iter()
        .chain(b.leased.iter())
        .map(|c| c.key.clone())
        .collect();
    let total = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), total, "a contact was leased twice");
    assert_eq!((a.leased.len(), b.leased.len()), (20, 10));
    assert!(b.leased.iter().all(|c| c.leased_by.as_deref() == Some("b")));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_expired_lease_makes_the_contact_due_again_in_its_place() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    admit(&ledger, &c, &due_now(t), t).await.unwrap();
    let until = t + Duration::minutes(5);
    lease(&ledger, "spring", &c.contact_key, t, until, "a")
        .await
        .unwrap()
        .unwrap();
    // Not yet expired.
    let early = expire_leases(&ledger, "spring", until, 10).await.unwrap();
    assert!(early.expired.is_empty());
    // Expired.
    let late = until + Duration::seconds(1);
    let expired = expire_leases(&ledger, "spring", late, 10).await.unwrap();
    assert_eq!(expired.expired.len(), 1);
    let item = &expired.expired[0];
    assert_eq!(item.state, ContactState::Due);
    assert_eq!(item.lease_expiries, 1);
    assert_eq!(item.lease_until, None);
    assert_eq!(item.due_at, t, "back at its original place in line");
    // Once only.
    assert!(expire_leases(&ledger, "spring", late, 10)
        .await
        .unwrap()
        .expired
        .is_empty());
    // Due again: leased again, and the count goes on.
    let again = lease_due(
        &ledger,
        "spring",
        late,
        10,
        late + Duration::minutes(5),
        "b",
    )
    .await
    .unwrap();
    assert_eq!(again.leased.len(), 1);
    let expired = expire_leases(&ledger, "spring", late + Duration::minutes(6), 10)
        .await
        .unwrap();
    assert_eq!(expired.expired[0].lease_expiries, 2);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_attempt_begins_once_and_a_lease_that_moved_on_is_stale() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    let id = AttemptId::new("spring", &c.contact_key, 1);
    // Not leased yet: stale.
    admit(&ledger, &c, &due_now(t), t).await.unwrap();
    assert!(matches!(
        begin_attempt(&ledger, &id, t + Duration::minutes(5), t)
            .await
            .unwrap(),
        AttemptBegun::Stale(Some(item)) if item.state == ContactState::Due
    ));
    lease(
        &ledger,
        "spring",
        &c.contact_key,
        t,
        t + Duration::minutes(5),
        "a",
    )
    .await
    .unwrap()
    .unwrap();
    // Another attempt number: stale.
    let wrong = AttemptId::new("spring", &c.contact_key, 2);
    assert!(matches!(
        begin_attempt(&ledger, &wrong, t + Duration::minutes(5), t)
            .await
            .unwrap(),
        AttemptBegun::Stale(Some(_))
    ));
    let deadline = t + Duration::minutes(5);
    let begun = match begin_attempt(&ledger, &id, deadline, t).await.unwrap() {
        AttemptBegun::Begun(item) => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(begun.state, ContactState::Dialing);
    assert_eq!(begun.client_token, Some(id.client_token()));
    assert_eq!(begun.attempt_started_at, Some(t));
    assert_eq!(begun.lease_until, Some(deadline));
    // The same attempt again (a second copy of the message): already dialing, and the item
    // tells how to recover it.
    let again = match begin_attempt(&ledger, &id, deadline, t + Duration::seconds(30))
        .await
        .unwrap()
    {
        AttemptBegun::AlreadyDialing(item) => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        recover(&again, 1, t + Duration::seconds(30)),
        Recovery::Replay {
            client_token: id.client_token()
        }
    );
    // Placed: from now on, reconciled, never placed again.
    assert!(matches!(
        record_placed(&ledger, &id, "contact-1").await.unwrap(),
        Placed::Recorded(item) if item.contact_id.as_deref() == Some("contact-1")
    ));
    assert!(matches!(
        record_placed(&ledger, &id, "contact-1").await.unwrap(),
        Placed::Recorded(_)
    ));
    assert!(matches!(
        record_placed(&ledger, &id, "contact-2").await.unwrap(),
        Placed::Refused(Some(item)) if item.contact_id.as_deref() == Some("contact-1")
    ));
    let item = state_of(&ledger, &c).await;
    assert_eq!(
        recover(&item, 1, t + Duration::minutes(1)),
        Recovery::Reconcile {
            contact_id: "contact-1".into()
        }
    );
    // A contact not in the ledger: stale, nothing created.
    let ghost = AttemptId::new("spring", "0".repeat(32), 1);
    assert_eq!(
        begin_attempt(&ledger, &ghost, deadline, t).await.unwrap(),
        AttemptBegun::Stale(None)
    );
    assert!(ledger::read_contact(&ledger, "spring", &"0".repeat(32))
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        record_placed(&ledger, &ghost, "x").await.unwrap(),
        Placed::Refused(None)
    ));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn busy_redials_after_its_delay_and_a_repeated_finish_changes_nothing() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    let id = dialing(&ledger, &c, t).await;
    record_placed(&ledger, &id, "contact-1").await.unwrap();
    let rules = RedialRules::default();
    let redialed = match finish(&ledger, &id, Outcome::Busy, &rules, t)
        .await
        .unwrap()
    {
        Finished::Redialed(item) => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(redialed.state, ContactState::Due);
    assert_eq!(redialed.attempt, 2);
    assert_eq!(redialed.due_at, t + Duration::minutes(10));
    assert_eq!(redialed.last_outcome, Some(Outcome::Busy));
    assert_eq!(redialed.client_token, None);
    assert_eq!(redialed.contact_id, None);
    assert_eq!(redialed.lease_until, None);
    // The same event again: already finished, nothing written.
    assert!(matches!(
        finish(&ledger, &id, Outcome::Busy, &rules, t).await.unwrap(),
        Finished::AlreadyFinished(item) if item.attempt == 2
    ));
    // Not before its dueAt.
    assert!(lease_due(
        &ledger,
        "spring",
        t + Duration::minutes(9),
        10,
        t + Duration::hours(1),
        "f"
    )
    .await
    .unwrap()
    .leased
    .is_empty());
    let ten = t + Duration::minutes(10);
    let batch = lease_due(&ledger, "spring", ten, 10, ten + Duration::minutes(5), "f")
        .await
        .unwrap();
    assert_eq!(batch.leased.len(), 1);
    assert_eq!(batch.leased[0].to_contact().attempt, 2);
    // Attempt 2 has its own token.
    let second = AttemptId::new("spring", &c.contact_key, 2);
    assert_ne!(second.client_token(), id.client_token());
    match begin_attempt(&ledger, &second, ten + Duration::minutes(5), ten)
        .await
        .unwrap()
    {
        AttemptBegun::Begun(item) => assert_eq!(item.client_token, Some(second.client_token())),
        other => panic!("{other:?}"),
    }
    // A late finish of attempt 1 cannot touch attempt 2.
    assert!(matches!(
        finish(&ledger, &id, Outcome::Connected, &rules, ten).await.unwrap(),
        Finished::AlreadyFinished(item) if item.state == ContactState::Dialing && item.attempt == 2
    ));
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn connected_is_final_with_its_reason_and_expiry() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    let id = dialing(&ledger, &c, t).await;
    let item = match finish(&ledger, &id, Outcome::Connected, &RedialRules::default(), t)
        .await
        .unwrap()
    {
        Finished::Final(item) => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(item.state, ContactState::Final);
    assert_eq!(
        item.final_reason,
        Some(FinalReason::Outcome(Outcome::Connected))
    );
    assert_eq!(item.final_at, Some(t));
    assert_eq!(item.attempt, 1);
    assert_eq!(item.lease_until, None);
    let raw = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(item.pk()))
        .send()
        .await
        .unwrap();
    let raw = raw.item().unwrap();
    assert_eq!(
        raw["expiresAt"].as_n().unwrap(),
        &(t + Duration::days(90)).timestamp().to_string()
    );
    assert!(!raw.contains_key("dueShard") && !raw.contains_key("heldShard"));
    // Final is final: no lease, no attempt, no second finish, no re-admission.
    assert!(lease(&ledger, "spring", &c.contact_key, t, t, "f")
        .await
        .unwrap()
        .is_none());
    assert!(matches!(
        begin_attempt(&ledger, &id, t, t).await.unwrap(),
        AttemptBegun::Stale(Some(_))
    ));
    assert!(matches!(
        finish(&ledger, &id, Outcome::Busy, &RedialRules::default(), t)
            .await
            .unwrap(),
        Finished::AlreadyFinished(_)
    ));
    assert_eq!(
        admit(&ledger, &c, &due_now(t), t).await.unwrap(),
        Admission::AlreadyPresent {
            state: Some(ContactState::Final)
        }
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_finish_from_the_wrong_state_is_refused_and_writes_nothing() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("spring", 1);
    let id = AttemptId::new("spring", &c.contact_key, 1);
    admit(&ledger, &c, &due_now(t), t).await.unwrap();
    let rules = RedialRules::default();
    assert!(matches!(
        finish(&ledger, &id, Outcome::Busy, &rules, t).await.unwrap(),
        Finished::Refused(Some(item)) if item.state == ContactState::Due
    ));
    lease(
        &ledger,
        "spring",
        &c.contact_key,
        t,
        t + Duration::minutes(5),
        "a",
    )
    .await
    .unwrap()
    .unwrap();
    assert!(matches!(
        finish(&ledger, &id, Outcome::Busy, &rules, t).await.unwrap(),
        Finished::Refused(Some(item)) if item.state == ContactState::Leased
    ));
    // The conditional write itself refuses too (settle writes without reading first).
    assert!(matches!(
        settle(&ledger, &id, Decision::Final(FinalReason::Rejected), None, t)
            .await
            .unwrap(),
        Finished::Refused(Some(item)) if item.state == ContactState::Leased
    ));
    let item = state_of(&ledger, &c).await;
    assert_eq!(item.state, ContactState::Leased);
    assert_eq!(item.attempt, 1);
    assert_eq!(item.final_reason, None);
    assert_eq!(
        finish(
            &ledger,
            &AttemptId::new("spring", "e".repeat(32), 1),
            Outcome::Busy,
            &rules,
            t
        )
        .await
        .unwrap(),
        Finished::Refused(None)
    );
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn attempts_run_out_and_a_files_override_is_followed() {
    let ledger = fresh().await;
    let mut t = now();
    let deployment = RedialRules::default();
    let override_rules = deployment
        .overridden_by(r#"{"max_attempts":2,"delay_minutes":{"no_answer":1}}"#)
        .unwrap();
    let c = contact("spring", 1);
    let options = AdmitOptions {
        due_at: t,
        rules: Some(&override_rules),
        round: None,
        dnc: None,
    };
    admit(&ledger, &c, &options, t).await.unwrap();
    for attempt in 1..=2u32 {
        let batch = lease_due(&ledger, "spring", t, 10, t + Duration::minutes(5), "f")
            .await
            .unwrap();
        assert_eq!(batch.leased.len(), 1, "attempt {attempt}");
        let id = AttemptId::of(&batch.leased[0]);
        assert_eq!(id.attempt, attempt);
        begin_attempt(&ledger, &id, t + Duration::minutes(5), t)
            .await
            .unwrap();
        let finished = finish(&ledger, &id, Outcome::NoAnswer, &deployment, t)
            .await
            .unwrap();
        if attempt == 1 {
            // The file's delay (1 min), not the deployment's (120).
            assert!(matches!(
                &finished,
                Finished::Redialed(item) if item.due_at == t + Duration::minutes(1)
            ));
            t += Duration::minutes(1);
        } else {
            // The file's maximum (2), not the deployment's (3).
            assert!(matches!(
                &finished,
                Finished::Final(item)
                    if item.final_reason == Some(FinalReason::AttemptsExhausted)
                        && item.last_outcome == Some(Outcome::NoAnswer)
                        && item.attempt == 2
            ));
        }
    }
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn an_attempt_past_its_deadline_is_found_for_recovery() {
    let ledger = fresh().await;
    let t = now();
    let placed = contact("spring", 1);
    let unknown = contact("spring", 2);
    let on_time = contact("spring", 3);
    let placed_id = dialing(&ledger, &placed, t).await;
    record_placed(&ledger, &placed_id, "contact-1")
        .await
        .unwrap();
    dialing(&ledger, &unknown, t).await;
    // This one's deadline is later.
    admit(&ledger, &on_time, &due_now(t), t).await.unwrap();
    lease(
        &ledger,
        "spring",
        &on_time.contact_key,
        t,
        t + Duration::minutes(15),
        "f",
    )
    .await
    .unwrap()
    .unwrap();
    begin_attempt(
        &ledger,
        &AttemptId::new("spring", &on_time.contact_key, 1),
        t + Duration::hours(1),
        t,
    )
    .await
    .unwrap();
    let later = t + Duration::minutes(6);
    let mut overdue = overdue_attempts(&ledger, "spring", later, 10)
        .await
        .unwrap();
    overdue.sort_by(|a, b| a.key.cmp(&b.key));
    let keys: Vec<&str> = overdue.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["C-1", "C-2"]);
    assert_eq!(
        recover(&overdue[0], 1, later),
        Recovery::Reconcile {
            contact_id: "contact-1".into()
        }
    );
    assert!(matches!(
        recover(&overdue[1], 1, later),
        Recovery::Replay { .. }
    ));
    // Leases of dialing contacts are not "expired": an attempt is never made due blindly.
    assert!(expire_leases(&ledger, "spring", later, 10)
        .await
        .unwrap()
        .expired
        .is_empty());
    // Abandoned beyond the token window: finished as failed, redialed under the rules.
    let id = AttemptId::of(&overdue[1]);
    assert!(matches!(
        finish(&ledger, &id, Outcome::Failed, &RedialRules::default(), later)
            .await
            .unwrap(),
        Finished::Redialed(item) if item.attempt == 2
    ));
    let still = overdue_attempts(&ledger, "spring", later, 10)
        .await
        .unwrap();
    assert_eq!(still.len(), 1);
    // The placed call is still up (the reconcile path asked Connect): its deadline moves on.
    assert!(
        extend_attempt(&ledger, &placed_id, later + Duration::minutes(10))
            .await
            .unwrap()
    );
    assert!(overdue_attempts(&ledger, "spring", later, 10)
        .await
        .unwrap()
        .is_empty());
    // An attempt that is no longer dialing is not extended.
    assert!(!extend_attempt(&ledger, &id, later + Duration::minutes(10))
        .await
        .unwrap());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_callback_set_during_the_call_wins_over_the_rules_and_the_due_index_has_it() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("cb", 1);
    let id = dialing(&ledger, &c, t).await;
    let at = t + Duration::hours(20);
    assert!(matches!(
        schedule_callback(&ledger, &id, at).await.unwrap(),
        CallbackScheduled::Pending(ref i) if i.callback_at == Some(at)
    ));
    // A late disposition of an attempt never made does nothing.
    assert!(matches!(
        schedule_callback(&ledger, &AttemptId::new("cb", &c.contact_key, 0), at)
            .await
            .unwrap(),
        CallbackScheduled::TooLate(_)
    ));
    // Connected is final under the default rules: the callback wins.
    match finish(&ledger, &id, Outcome::Connected, &RedialRules::default(), t)
        .await
        .unwrap()
    {
        Finished::CallbackDue(item) => {
            assert_eq!(
                (item.state, item.attempt, item.due_at),
                (ContactState::Due, 2, at)
            );
            assert_eq!(item.callback_at, None);
        }
        other => panic!("{other:?}"),
    }
    // Through the due index: nothing before the callback, the contact at it.
    let early = lease_due(&ledger, "cb", at - Duration::seconds(1), 10, at, "f")
        .await
        .unwrap();
    assert!(early.leased.is_empty(), "{early:?}");
    let due = lease_due(&ledger, "cb", at, 10, at + Duration::minutes(5), "f")
        .await
        .unwrap();
    assert_eq!(due.leased.len(), 1);
    assert_eq!(due.leased[0].attempt, 2);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_campaign_schedule_is_stored_replaced_read_in_batches_and_cleared() {
    use outbound_core::ledger::schedule::{self, CampaignSchedule};
    let ledger = fresh().await;
    let t = now();
    let first = CampaignSchedule {
        start: Some(t + Duration::hours(1)),
        end: Some(t + Duration::days(3)),
    };
    schedule::write(&ledger, "spring", &first, "file:campaigns/spring/a.csv", t)
        .await
        .unwrap();
    let stored = schedule::read(&ledger, "spring").await.unwrap().unwrap();
    assert_eq!(stored.schedule, first);
    assert_eq!(stored.source, "file:campaigns/spring/a.csv");
    assert_eq!(stored.updated_at, Some(t));
    // The latest write wins whole: a schedule without a start drops the old start.
    let later = CampaignSchedule {
        start: None,
        end: Some(t + Duration::days(5)),
    };
    schedule::write(&ledger, "spring", &later, "operator", t)
        .await
        .unwrap();
    assert_eq!(
        schedule::read(&ledger, "spring")
            .await
            .unwrap()
            .unwrap()
            .schedule,
        later
    );
    // A schedule without a bound is refused before anything is written.
    let err = schedule::write(
        &ledger,
        "spring",
        &CampaignSchedule::default(),
        "operator",
        t,
    )
    .await
    .unwrap_err();
    assert!(err.message.contains("start"), "{}", err.message);
    // 150 campaigns, every third scheduled: two BatchGetItem requests, unscheduled ones absent.
    let names: Vec<String> = (0..150).map(|i| format!("c{i:03}")).collect();
    for name in names.iter().step_by(3) {
        schedule::write(&ledger, name, &first, "operator", t)
            .await
            .unwrap();
    }
    let asked: Vec<&str> = names.iter().map(String::as_str).collect();
    let found = schedule::read_many(&ledger, &asked).await.unwrap();
    assert_eq!(found.len(), 50);
    assert!(found.values().all(|s| *s == first));
    assert!(found.contains_key("c000") && !found.contains_key("c001"));
    assert!(schedule::clear(&ledger, "spring").await.unwrap());
    assert!(!schedule::clear(&ledger, "spring").await.unwrap(), "gone");
    assert!(schedule::read(&ledger, "spring").await.unwrap().is_none());
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_due_contact_is_suppressed_at_intake_once_and_never_leased() {
    let ledger = fresh().await;
    let t = now();
    let c = contact("intake-dnc", 1);
    admit(&ledger, &c, &due_now(t), t).await.unwrap();
    let suppressed = ledger::suppress_due(
        &ledger,
        "intake-dnc",
        &c.contact_key,
        FinalReason::DoNotCall,
        t,
    )
    .await
    .unwrap()
    .expect("a due contact is suppressed");
    assert_eq!(suppressed.state, ContactState::Final);
    assert_eq!(suppressed.final_reason, Some(FinalReason::DoNotCall));
    assert_eq!(suppressed.attempt, 0, "no call was made");
    assert_eq!(suppressed.final_at, Some(t));
    let item = ledger
        .dynamodb
        .get_item()
        .table_name(&ledger.table_name)
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "CONTACT#intake-dnc#{}",
                c.contact_key
            )),
        )
        .send()
        .await
        .unwrap();
    let item = item.item().unwrap();
    assert!(!item.contains_key("dueShard"), "out of the due index");
    assert_eq!(
        item["expiresAt"].as_n().unwrap(),
        &(t + Duration::days(90)).timestamp().to_string()
    );
    // Out of the due index: never leased.
    assert!(
        lease_due(&ledger, "intake-dnc", t + Duration::days(30), 10, t, "f")
            .await
            .unwrap()
            .leased
            .is_empty()
    );
    // A second suppression (the same file again) finds it final: no second winner, so no
    // second final record.
    assert!(ledger::suppress_due(
        &ledger,
        "intake-dnc",
        &c.contact_key,
        FinalReason::DoNotCall,
        t
    )
    .await
    .unwrap()
    .is_none());
    // A leased contact is the feeder's to check: the intake does not touch it.
    let d = contact("intake-dnc", 2);
    admit(&ledger, &d, &due_now(t), t).await.unwrap();
    lease(
        &ledger,
        "intake-dnc",
        &d.contact_key,
        t,
        t + Duration::minutes(10),
        "f",
    )
    .await
    .unwrap()
    .expect("leased");
    assert!(ledger::suppress_due(
        &ledger,
        "intake-dnc",
        &d.contact_key,
        FinalReason::DoNotCall,
        t
    )
    .await
    .unwrap()
    .is_none());
    assert_eq!(state_of(&ledger, &d).await.state, ContactState::Leased);
}

#[tokio::test]
#[ignore = "needs moto: MOTO_ENDPOINT, run by make test"]
async fn a_final_record_owed_by_a_suppression_or_a_close_is_found_until_confirmed() {
    use outbound_core::ledger::ops::{
        close_due, confirm_recorded, unrecorded_finals, RECORD_GRACE,
    };
    let ledger = fresh().await;
    let t = now();
    // Three contacts made final without a call, one by each transition that owes a record:
    // suppressed at intake (due), suppressed at lease (leased), closed at the campaign's end.
    let (at_intake, at_lease, at_close) =
        (contact("owed", 1), contact("owed", 2), contact("owed", 3));
    for c in [&at_intake, &at_lease, &at_close] {
        admit(&ledger, c, &due_now(t), t).await.unwrap();
    }
    // An ordinary contact of the same campaign, final after its call: it owes nothing here
    // (its contact event is delivered again until its record is written).
    let called = contact("owed", 4);
    let id = dialing(&ledger, &called, t).await;
    finish(&ledger, &id, Outcome::Connected, &RedialRules::default(), t)
        .await
        .unwrap();

    let intake = ledger::suppress_due(
        &ledger,
        "owed",
        &at_intake.contact_key,
        FinalReason::DoNotCall,
        t,
    )
    .await
    .unwrap()
    .expect("suppressed at intake");
    lease(
        &ledger,
        "owed",
        &at_lease.contact_key,
        t,
        t + Duration::minutes(10),
        "f",
    )
    .await
    .unwrap()
    .expect("leased");
    let leased = ledger::suppress(
        &ledger,
        "owed",
        &at_lease.contact_key,
        1,
        FinalReason::DoNotCall,
        t,
    )
    .await
    .unwrap()
    .expect("suppressed at lease");
    let closed = close_due(&ledger, "owed", FinalReason::CampaignEnded, t, 10)
        .await
        .unwrap();
    assert_eq!(closed.closed.len(), 1, "only the due contact is closed");
    assert_eq!(closed.closed[0].contact_key, at_close.contact_key);
    for item in [&intake, &leased, &closed.closed[0]] {
        assert_eq!(item.state, ContactState::Final);
        assert_eq!(item.lease_until, Some(t + RECORD_GRACE));
    }

    // Within the grace the writers are trusted: nothing is owed yet.
    let soon = t + RECORD_GRACE - Duration::seconds(1);
    assert!(unrecorded_finals(&ledger, "owed", soon, 10)
        .await
        .unwrap()
        .is_empty());
    // The campaign stays listed while a record is owed, even with nothing due or held.
    assert!(ledger::campaigns::any_held(&ledger, "owed").await.unwrap());

    // The writer of the intake's suppression confirmed its record; the other two died.
    confirm_recorded(&ledger, &intake).await.unwrap();
    confirm_recorded(&ledger, &intake).await.unwrap(); // a second confirmation changes nothing
    assert_eq!(state_of(&ledger, &at_intake).await.lease_until, None);
    let later = t + RECORD_GRACE + Duration::seconds(1);
    let mut owed: Vec<String> = unrecorded_finals(&ledger, "owed", later, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.contact_key)
        .collect();
    owed.sort();
    let mut expected = vec![at_lease.contact_key.clone(), at_close.contact_key.clone()];
    expected.sort();
    assert_eq!(owed, expected, "the unconfirmed records, and only those");

    // Confirmed, they leave the index, and the campaign may retire.
    for item in [&leased, &closed.closed[0]] {
        confirm_recorded(&ledger, item).await.unwrap();
    }
    assert!(unrecorded_finals(&ledger, "owed", later, 10)
        .await
        .unwrap()
        .is_empty());
    assert!(!ledger::campaigns::any_held(&ledger, "owed").await.unwrap());
    for c in [&at_intake, &at_lease, &at_close] {
        let item = state_of(&ledger, c).await;
        assert_eq!(item.state, ContactState::Final);
        assert_eq!(item.attempt, 0, "no call was made");
    }
}
