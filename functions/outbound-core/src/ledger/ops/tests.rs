//! The operations' unit tests (the moto tests are in `tests/ledger_moto.rs`).

use super::super::item::new_item;
use super::*;

#[test]
fn expression_names_are_the_attributes_behind_a_hash() {
    let map = names(&["state", "dueAt"]);
    assert_eq!(map.len(), 2);
    assert_eq!(map["#state"], "state");
    assert_eq!(map["#dueAt"], "dueAt");
}

fn contact(state: ContactState, attempt: u32) -> LedgerContact {
    let now = chrono::DateTime::parse_from_rfc3339("2026-03-04T10:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let c = crate::contact::Contact {
        campaign: "spring".into(),
        key: "C-1".into(),
        phone: "+442079460123".into(),
        contact_key: "0123456789abcdef0123456789abcdef".into(),
        attempt: 1,
        attributes: Default::default(),
        source: crate::contact::ContactSource::Csv {
            object: "a.csv".into(),
            line: 2,
        },
    };
    let mut item = LedgerContact::from_item(&new_item(&c, now, None, now).unwrap()).unwrap();
    item.state = state;
    item.attempt = attempt;
    item
}

#[test]
fn a_finish_that_comes_again_is_told_apart_from_one_in_the_wrong_state() {
    use ContactState::*;
    // Redialed already: the item is on a later attempt.
    assert!(matches!(
        classify_not_dialing(Some(contact(Due, 2)), 1),
        Finished::AlreadyFinished(_)
    ));
    assert!(matches!(
        classify_not_dialing(Some(contact(Leased, 3)), 1),
        Finished::AlreadyFinished(_)
    ));
    // Final at this very attempt.
    assert!(matches!(
        classify_not_dialing(Some(contact(Final, 1)), 1),
        Finished::AlreadyFinished(_)
    ));
    // Never begun, or absent: refused.
    assert!(matches!(
        classify_not_dialing(Some(contact(Leased, 1)), 1),
        Finished::Refused(Some(_))
    ));
    assert!(matches!(
        classify_not_dialing(Some(contact(Due, 1)), 1),
        Finished::Refused(Some(_))
    ));
    assert_eq!(classify_not_dialing(None, 1), Finished::Refused(None));
}
// ----- callbacks, against the stateful fake table --------------------------------------

use super::super::item::FinalReason;
use crate::testkit::{FakeTable, Log};

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

const KEY: &str = "0123456789abcdef0123456789abcdef";
const PK: &str = "CONTACT#spring#0123456789abcdef0123456789abcdef";

fn fake() -> (FakeTable, CampaignLedger) {
    let table = FakeTable::new(&Log::default());
    let ledger = CampaignLedger {
        dynamodb: table.client(),
        table_name: "ledger".into(),
        final_retention: Some(Duration::days(90)),
    };
    (table, ledger)
}

fn new_contact() -> Contact {
    Contact {
        campaign: "spring".into(),
        key: "C-1".into(),
        phone: "+442079460123".into(),
        contact_key: KEY.into(),
        attempt: 1,
        attributes: Default::default(),
        source: crate::contact::ContactSource::Csv {
            object: "a.csv".into(),
            line: 2,
        },
    }
}

/// Admits the contact and takes it to `dialing` attempt `attempt` (redialing busy calls).
async fn dialing_at(ledger: &CampaignLedger, attempt: u32, now: DateTime<Utc>) -> AttemptId {
    let options = AdmitOptions {
        due_at: now,
        rules: None,
        round: None,
        dnc: None,
    };
    admit(ledger, &new_contact(), &options, now).await.unwrap();
    let rules = RedialRules {
        max_attempts: 10,
        delay_minutes: super::super::rules::DelayMinutes {
            busy: 1,
            ..Default::default()
        },
        ..RedialRules::default()
    };
    let mut at = now;
    for a in 1..=attempt {
        lease(ledger, "spring", KEY, at, at + Duration::minutes(15), "f")
            .await
            .unwrap()
            .expect("due");
        let id = AttemptId::new("spring", KEY, a);
        assert!(matches!(
            begin_attempt(ledger, &id, at + Duration::minutes(5), at)
                .await
                .unwrap(),
            AttemptBegun::Begun(_)
        ));
        if a < attempt {
            assert!(matches!(
                finish(ledger, &id, Outcome::Busy, &rules, at)
                    .await
                    .unwrap(),
                Finished::Redialed(_)
            ));
            at += Duration::minutes(1);
        }
    }
    AttemptId::new("spring", KEY, attempt)
}

fn attr(table: &FakeTable, name: &str) -> Option<AttributeValue> {
    table.get(PK).unwrap().get(name).cloned()
}

#[tokio::test]
async fn a_callback_set_during_the_call_makes_the_contact_due_then_whatever_the_outcome() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let at = t("2026-03-05T15:00:00Z");
    let id = dialing_at(&ledger, 1, now).await;
    let scheduled = schedule_callback(&ledger, &id, at).await.unwrap();
    assert!(
        matches!(&scheduled, CallbackScheduled::Pending(i) if i.callback_at == Some(at)),
        "{scheduled:?}"
    );
    // Still dialing, still in the held index: nothing else moved.
    assert_eq!(table.s(PK, "state").as_deref(), Some("dialing"));
    // Connected is a final outcome under the default rules: the promise wins.
    let end = now + Duration::minutes(3);
    let finished = finish(
        &ledger,
        &id,
        Outcome::Connected,
        &RedialRules::default(),
        end,
    )
    .await
    .unwrap();
    let item = match finished {
        Finished::CallbackDue(item) => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(item.state, ContactState::Due);
    assert_eq!(item.attempt, 2);
    assert_eq!(item.due_at, at);
    assert_eq!(
        item.callback_at, None,
        "consumed by the attempt it was set in"
    );
    assert_eq!(item.last_outcome, Some(Outcome::Connected));
    assert_eq!(
        table.s(PK, "dueShard"),
        Some(due_shard_key("spring", shard_of(KEY)))
    );
    for gone in [
        "heldShard",
        "leaseUntil",
        "clientToken",
        "finalReason",
        "callbackAt",
    ] {
        assert!(attr(&table, gone).is_none(), "{gone}");
    }
    // Not leased before the callback time; leased at it.
    assert!(
        lease(&ledger, "spring", KEY, at - Duration::seconds(1), at, "f")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        lease(&ledger, "spring", KEY, at, at + Duration::minutes(5), "f")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn a_callback_goes_past_max_attempts_and_the_next_end_follows_the_rules_again() {
    let (_, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let at = t("2026-03-04T12:00:00Z");
    let once = RedialRules {
        max_attempts: 1,
        ..RedialRules::default()
    };
    let id = dialing_at(&ledger, 1, now).await;
    schedule_callback(&ledger, &id, at).await.unwrap();
    assert!(matches!(
        finish(&ledger, &id, Outcome::NoAnswer, &once, now).await.unwrap(),
        Finished::CallbackDue(ref i) if i.attempt == 2 && i.due_at == at
    ));
    lease(&ledger, "spring", KEY, at, at + Duration::minutes(5), "f")
        .await
        .unwrap()
        .unwrap();
    let second = AttemptId::new("spring", KEY, 2);
    begin_attempt(&ledger, &second, at + Duration::minutes(5), at)
        .await
        .unwrap();
    // No callback this time: past max_attempts, the rules end it.
    assert!(matches!(
        finish(&ledger, &second, Outcome::NoAnswer, &once, at).await.unwrap(),
        Finished::Final(ref i) if i.final_reason == Some(FinalReason::AttemptsExhausted)
    ));
}

#[tokio::test]
async fn a_callback_set_between_the_finish_read_and_its_write_is_not_lost() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let at = t("2026-03-06T09:00:00Z");
    let id = dialing_at(&ledger, 1, now).await;
    // The agent's callback lands right after finish read the item (without it): the
    // write schedule_callback makes on a dialing attempt, applied to the table directly
    // (the fake's client cannot be called from inside one of its own answers).
    let items = table.items.clone();
    table.after_next_get(move || {
        items
            .lock()
            .unwrap()
            .get_mut(PK)
            .unwrap()
            .insert("callbackAt".into(), n(millis(at)));
    });
    let finished = finish(&ledger, &id, Outcome::Busy, &RedialRules::default(), now)
        .await
        .unwrap();
    assert!(
        matches!(&finished, Finished::CallbackDue(i) if i.due_at == at && i.attempt == 2),
        "{finished:?}"
    );
}

#[tokio::test]
async fn after_the_attempt_a_final_contact_is_reopened_at_the_callback() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let at = t("2026-03-04T18:00:00Z");
    let id = dialing_at(&ledger, 1, now).await;
    assert!(matches!(
        finish(
            &ledger,
            &id,
            Outcome::Connected,
            &RedialRules::default(),
            now
        )
        .await
        .unwrap(),
        Finished::Final(_)
    ));
    assert!(attr(&table, "expiresAt").is_some());
    let scheduled = schedule_callback(&ledger, &id, at).await.unwrap();
    let item = match scheduled {
        CallbackScheduled::Due {
            item,
            reopened: true,
        } => item,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (item.state, item.attempt, item.due_at),
        (ContactState::Due, 2, at)
    );
    assert_eq!(
        table.s(PK, "dueShard"),
        Some(due_shard_key("spring", shard_of(KEY)))
    );
    // The TTL must never delete a due contact; final fields go.
    for gone in [
        "expiresAt",
        "finalReason",
        "finalAt",
        "clientToken",
        "heldShard",
        "callbackAt",
    ] {
        assert!(attr(&table, gone).is_none(), "{gone}");
    }
    // The same disposition again: the pending callback is set to the same time.
    assert!(matches!(
        schedule_callback(&ledger, &id, at).await.unwrap(),
        CallbackScheduled::Due { ref item, reopened: false } if item.due_at == at && item.attempt == 2
    ));
}

#[tokio::test]
async fn after_the_attempt_a_pending_redial_moves_to_the_callback() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let at = t("2026-03-04T16:30:00Z");
    let id = dialing_at(&ledger, 1, now).await;
    assert!(matches!(
        finish(&ledger, &id, Outcome::Busy, &RedialRules::default(), now)
            .await
            .unwrap(),
        Finished::Redialed(ref i) if i.due_at == now + Duration::minutes(10)
    ));
    // The feeder leased the redial already: the lease is given back.
    lease(
        &ledger,
        "spring",
        KEY,
        now + Duration::minutes(10),
        now + Duration::hours(1),
        "f",
    )
    .await
    .unwrap()
    .unwrap();
    let scheduled = schedule_callback(&ledger, &id, at).await.unwrap();
    assert!(
        matches!(&scheduled, CallbackScheduled::Due { item, reopened: false }
            if item.state == ContactState::Due && item.attempt == 2 && item.due_at == at),
        "{scheduled:?}"
    );
    assert!(attr(&table, "heldShard").is_none() && attr(&table, "leaseUntil").is_none());
    assert_eq!(
        table.s(PK, "dueShard"),
        Some(due_shard_key("spring", shard_of(KEY)))
    );
    // The message the feeder sent for the lease is stale now: dial drops it.
    assert!(matches!(
        begin_attempt(&ledger, &AttemptId::new("spring", KEY, 2), at, now)
            .await
            .unwrap(),
        AttemptBegun::Stale(_)
    ));
}

#[tokio::test]
async fn a_late_disposition_never_moves_a_later_attempt() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    dialing_at(&ledger, 2, now).await;
    let before = table.get(PK).unwrap();
    let first = AttemptId::new("spring", KEY, 1);
    let at = t("2026-03-05T10:00:00Z");
    assert!(matches!(
        schedule_callback(&ledger, &first, at).await.unwrap(),
        CallbackScheduled::TooLate(ref i) if i.attempt == 2
    ));
    assert_eq!(table.get(PK).unwrap(), before, "nothing written");
    // Attempt 2 ended final: attempt 1's callback still does nothing.
    finish(
        &ledger,
        &AttemptId::new("spring", KEY, 2),
        Outcome::Connected,
        &RedialRules::default(),
        now,
    )
    .await
    .unwrap();
    let before = table.get(PK).unwrap();
    assert!(matches!(
        schedule_callback(&ledger, &first, at).await.unwrap(),
        CallbackScheduled::TooLate(_)
    ));
    assert_eq!(table.get(PK).unwrap(), before);
}

#[tokio::test]
async fn no_callback_for_an_unknown_attempt_or_a_closed_contact() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let at = t("2026-03-05T10:00:00Z");
    let id = AttemptId::new("spring", KEY, 1);
    assert_eq!(
        schedule_callback(&ledger, &id, at).await.unwrap(),
        CallbackScheduled::Unknown(None)
    );
    assert!(table.get(PK).is_none(), "no item created");
    // Admitted, never begun.
    let options = AdmitOptions {
        due_at: now,
        rules: None,
        round: None,
        dnc: None,
    };
    admit(&ledger, &new_contact(), &options, now).await.unwrap();
    assert!(matches!(
        schedule_callback(&ledger, &id, at).await.unwrap(),
        CallbackScheduled::Unknown(Some(_))
    ));
    // Final as do-not-call: never reopened.
    lease(&ledger, "spring", KEY, now, now + Duration::minutes(5), "f")
        .await
        .unwrap();
    begin_attempt(&ledger, &id, now + Duration::minutes(5), now)
        .await
        .unwrap();
    settle(
        &ledger,
        &id,
        Decision::Final(FinalReason::DoNotCall),
        None,
        now,
    )
    .await
    .unwrap();
    assert!(matches!(
        schedule_callback(&ledger, &id, at).await.unwrap(),
        CallbackScheduled::Closed(_)
    ));
    assert_eq!(table.s(PK, "state").as_deref(), Some("final"));
}

#[tokio::test]
async fn a_settle_of_the_callers_own_drops_the_callback() {
    let (table, ledger) = fake();
    let now = t("2026-03-04T10:00:00Z");
    let id = dialing_at(&ledger, 1, now).await;
    schedule_callback(&ledger, &id, t("2026-03-05T10:00:00Z"))
        .await
        .unwrap();
    assert!(matches!(
        settle(
            &ledger,
            &id,
            Decision::Final(FinalReason::Rejected),
            None,
            now
        )
        .await
        .unwrap(),
        Finished::Final(_)
    ));
    assert!(attr(&table, "callbackAt").is_none());
}
