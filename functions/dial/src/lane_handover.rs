//! Lanes handed over one by one from a wave to the next.
//!
//! A wave's lanes share one call budget ([`crate::wave_budget`]), so they end within about one
//! call of each other, but not together: were the next wave to start only when the last of them
//! ended (the `Map` state's barrier), every lane that ended earlier would sit idle for the rest
//! of that call and then for the hand-over (the next execution's get-config and first dial).
//! Instead the dial that takes the wave's last call starts the next wave's execution at once
//! ([`NextWave`]), and lane *n* of the next wave takes over from lane *n* of this one through the
//! lane's slot (`SLOT#<runId>#<lane>` in the ActiveDialing table):
//!
//! - a lane's first dial of its wave **admits** it: it takes the slot when the slot is new, is
//!   already its own, or was ended by the previous wave's lane;
//! - while the previous wave's lane is still on its last call, the new lane **parks** instead:
//!   its task token and its lane state go into the slot and the invocation returns without
//!   waking the task (no message taken, no call placed);
//! - a lane that **ends** (budget spent, queue empty, stop switch, queue closed) marks the slot
//!   ended and wakes the parked lane, if any, with its own state (`SendTaskSuccess`): that lane
//!   comes straight back to dial, is admitted, and dials.
//!
//! Each step is one conditional update of the slot, so a lane that parks and the lane that ends
//! cannot miss each other. At most one call per lane is ever up: a lane ends only in a dial
//! invocation, after its previous call's end woke it. A lane that died without ending (a lane
//! failure, an aborted execution) would keep its successor parked: the parked task times out
//! after the lane's `timeoutSeconds` (the longest a call of the dead lane could have lasted),
//! and its next admission takes the slot over.

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};
use outbound_core::completion::send_task_success;
use outbound_core::error::{classify_sdk_error, FunctionError};
use outbound_core::records::LaneState;
use std::collections::HashMap;

/// How long a slot stays in the table: far longer than any wave lasts.
const SLOT_TTL_SECONDS: i64 = 2 * 24 * 3600;

/// Rounds of admit-or-park when the slot changes between the two (the previous lane ended).
const ROUNDS: u32 = 3;

/// Slack kept off the parked task's timeout before a takeover, for the reconcile step between
/// the timeout and the next admission.
const TAKEOVER_SLACK_SECONDS: i64 = 5;

/// The table item key of a lane's slot.
pub fn slot_key(run_id: &str, lane: u32) -> String {
    format!("SLOT#{run_id}#{lane}")
}

/// Whether the lane's slot is needed at all: only waves with a shared budget hand over lane by
/// lane (a lane state from before waves shared a budget has no next wave started early).
pub fn applies(lane: &LaneState) -> bool {
    lane.wave_budget > 0
}

/// What [`admit`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// The lane holds its slot: go on and dial.
    Dial,
    /// The previous wave's lane is still on a call: the task waits, woken by [`end`].
    Parked,
}

type Item = HashMap<String, AttributeValue>;

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

type UpdateError = aws_smithy_runtime_api::client::result::SdkError<
    aws_sdk_dynamodb::operation::update_item::UpdateItemError,
    aws_smithy_runtime_api::http::Response,
>;

fn update_error(what: &str, e: &UpdateError) -> FunctionError {
    FunctionError::new(
        classify_sdk_error(e),
        format!(
            "lane slot {what} failed: {}",
            e.as_service_error()
                .and_then(ProvideErrorMetadata::code)
                .unwrap_or("transport error")
        ),
    )
}

fn is_condition_failed(e: &UpdateError) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_conditional_check_failed_exception())
}

/// Admits the lane to its slot, or parks its task until the previous wave's lane ends. Called
/// on the lane's first dial of its wave (`calls == 0`); `token` is this task's token and
/// `state` the lane state it is woken with.
pub async fn admit(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    lane: &LaneState,
    token: &str,
    state: &str,
    now: DateTime<Utc>,
) -> Result<Admission, FunctionError> {
    let key = slot_key(&lane.run_id, lane.lane);
    let now_s = now.timestamp();
    let cutoff = now_s - (i64::from(lane.timeout_seconds) - TAKEOVER_SLACK_SECONDS).max(1);
    for _ in 0..ROUNDS {
        // Take the slot: new, already ours (a repeated first dial), ended by the previous
        // wave's lane, or held by a previous lane that never ended while we waited a whole
        // call's time (it died).
        let taken = dynamodb
            .update_item()
            .table_name(table_name)
            .key("pk", AttributeValue::S(key.clone()))
            .update_expression(
                "SET wave = :w, ended = :no, expiresAt = :ttl \
                 REMOVE waiting, waitingState, waitingWave, waitingSince",
            )
            .condition_expression(
                "attribute_not_exists(pk) OR wave = :w \
                 OR (wave < :w AND ended = :yes) \
                 OR (wave < :w AND waitingWave = :w AND waitingSince <= :cutoff)",
            )
            .expression_attribute_values(":w", n(i64::from(lane.wave)))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":yes", AttributeValue::Bool(true))
            .expression_attribute_values(":ttl", n(now_s + SLOT_TTL_SECONDS))
            .expression_attribute_values(":cutoff", n(cutoff))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        match taken {
            Ok(out) => {
                if let Some(old) = out.attributes().filter(|a| is_stuck(a, lane.wave)) {
                    tracing::warn!(
                        run_id = %lane.run_id,
                        lane = lane.lane,
                        previous_wave = number(old, "wave").unwrap_or_default(),
                        "took the lane over from a previous wave's lane that never ended"
                    );
                }
                return Ok(Admission::Dial);
            }
            Err(e) if is_condition_failed(&e) => {}
            Err(e) => return Err(update_error("admission", &e)),
        }
        // The previous wave's lane is still on its last call: wait for it.
        let parked = dynamodb
            .update_item()
            .table_name(table_name)
            .key("pk", AttributeValue::S(key.clone()))
            .update_expression(
                "SET waiting = :token, waitingState = :state, waitingWave = :w, \
                 waitingSince = if_not_exists(waitingSince, :now)",
            )
            .condition_expression("wave < :w AND ended = :no")
            .expression_attribute_values(":token", AttributeValue::S(token.to_string()))
            .expression_attribute_values(":state", AttributeValue::S(state.to_string()))
            .expression_attribute_values(":w", n(i64::from(lane.wave)))
            .expression_attribute_values(":no", AttributeValue::Bool(false))
            .expression_attribute_values(":now", n(now_s))
            .send()
            .await;
        match parked {
            Ok(_) => {
                tracing::info!(
                    run_id = %lane.run_id,
                    lane = lane.lane,
                    wave = lane.wave,
                    "the previous wave's lane is on its last call: waiting for it"
                );
                return Ok(Admission::Parked);
            }
            // The previous lane ended meanwhile (take the slot now), or a later wave holds it.
            Err(e) if is_condition_failed(&e) => {}
            Err(e) => return Err(update_error("parking", &e)),
        }
    }
    // The slot belongs to a later wave (this lane's wave was overtaken): nothing to wait for.
    tracing::warn!(run_id = %lane.run_id, lane = lane.lane, wave = lane.wave, "the lane's slot is held by a later wave");
    Ok(Admission::Dial)
}

/// Whether the lane holds its slot in its own wave: its wave hands over lane by lane, so the
/// next wave may start before this one's lanes end. A wave whose lanes began without slots (a
/// wave under way while the deployment was upgraded) has none, and its next wave must start
/// after its `Map` ends: that wave's lanes would find no slot to wait on. A failed read answers
/// `false` (the next wave then starts at the barrier, as before).
pub async fn holds(
    dynamodb: &aws_sdk_dynamodb::Client,
    table_name: &str,
    lane: &LaneState,
) -> bool {
    let read = dynamodb
        .get_item()
        .table_name(table_name)
        .key("pk", AttributeValue::S(slot_key(&lane.run_id, lane.lane)))
        .consistent_read(true)
        .send()
        .await;
    match read {
        Ok(out) => out
            .item()
            .and_then(|item| number(item, "wave"))
            .is_some_and(|w| w == i64::from(lane.wave)),
        Err(e) => {
            tracing::warn!(
                run_id = %lane.run_id,
                lane = lane.lane,
                error = e.as_service_error().and_then(ProvideErrorMetadata::code).unwrap_or("transport error"),
                "could not read the lane's slot; the next wave starts when this one ends"
            );
            false
        }
    }
}

/// Whether the slot we took was still held by an earlier wave's lane that never ended.
fn is_stuck(old: &Item, wave: u32) -> bool {
    number(old, "wave").is_some_and(|w| w < i64::from(wave))
        && matches!(old.get("ended"), Some(AttributeValue::Bool(false)))
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
}

/// The lane has ended: marks its slot ended and wakes the next wave's lane parked on it, if
/// any. Safe to repeat (a retried invocation wakes the same task again, which Step Functions
/// refuses harmlessly). A slot the lane does not hold (never admitted, or taken over) is left.
pub async fn end(
    dynamodb: &aws_sdk_dynamodb::Client,
    sfn: &aws_sdk_sfn::Client,
    table_name: &str,
    lane: &LaneState,
) -> Result<(), FunctionError> {
    let ended = dynamodb
        .update_item()
        .table_name(table_name)
        .key("pk", AttributeValue::S(slot_key(&lane.run_id, lane.lane)))
        .update_expression("SET ended = :yes")
        .condition_expression("wave = :w")
        .expression_attribute_values(":w", n(i64::from(lane.wave)))
        .expression_attribute_values(":yes", AttributeValue::Bool(true))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    let item = match ended {
        Ok(out) => out.attributes.unwrap_or_default(),
        Err(e) if is_condition_failed(&e) => return Ok(()),
        Err(e) => return Err(update_error("end", &e)),
    };
    let waiting = |name: &str| item.get(name).and_then(|v| v.as_s().ok());
    if let (Some(token), Some(state)) = (waiting("waiting"), waiting("waitingState")) {
        let woken = send_task_success(sfn, token, state).await?;
        tracing::info!(
            run_id = %lane.run_id,
            lane = lane.lane,
            wave = lane.wave,
            woken,
            "handed the lane over to the next wave"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use outbound_core::testkit::{FakeSfn, FakeTable, Log};

    fn lane(wave: u32) -> LaneState {
        LaneState {
            run_id: "r-1".into(),
            lane: 2,
            calls: 0,
            budget: 40,
            timeout_seconds: 120,
            wave,
            wave_budget: 40,
        }
    }

    fn state(wave: u32) -> String {
        serde_json::to_string(&lane(wave)).unwrap()
    }

    struct World {
        table: FakeTable,
        sfn: FakeSfn,
    }

    fn world() -> World {
        let log = Log::default();
        World {
            table: FakeTable::new(&log),
            sfn: FakeSfn::new(&log),
        }
    }

    impl World {
        async fn admit(&self, wave: u32, token: &str, now: DateTime<Utc>) -> Admission {
            admit(
                &self.table.client(),
                "t",
                &lane(wave),
                token,
                &state(wave),
                now,
            )
            .await
            .unwrap()
        }

        async fn end(&self, wave: u32) {
            end(&self.table.client(), &self.sfn.client(), "t", &lane(wave))
                .await
                .unwrap()
        }
    }

    #[test]
    fn one_slot_per_lane_of_a_run() {
        assert_eq!(slot_key("r-1", 2), "SLOT#r-1#2");
        assert_ne!(slot_key("r-1", 2), slot_key("r-1", 3));
        assert_ne!(slot_key("r-1", 2), slot_key("r-2", 2));
        assert!(applies(&lane(1)));
        assert!(!applies(&LaneState {
            wave_budget: 0,
            ..lane(1)
        }));
    }

    #[tokio::test]
    async fn the_first_wave_is_admitted_and_admitted_again_on_a_repeated_first_dial() {
        let w = world();
        let now = Utc::now();
        assert_eq!(w.admit(1, "T1", now).await, Admission::Dial);
        assert_eq!(w.admit(1, "T1", now).await, Admission::Dial);
        assert!(w.sfn.sent().is_empty());
    }

    #[tokio::test]
    async fn the_next_waves_lane_waits_for_the_previous_lanes_end_and_is_woken_with_its_state() {
        let w = world();
        let now = Utc::now();
        assert_eq!(w.admit(1, "T1", now).await, Admission::Dial);
        // Wave 2 starts while wave 1's lane is on its last call.
        assert_eq!(w.admit(2, "T2", now).await, Admission::Parked);
        assert!(w.sfn.sent().is_empty(), "nobody woken yet");
        w.end(1).await;
        assert_eq!(w.sfn.sent(), vec![("T2".to_string(), state(2))]);
        // Woken, the lane comes back and is admitted; ending wave 1 again wakes nobody new.
        assert_eq!(w.admit(2, "T2", now).await, Admission::Dial);
        w.end(1).await;
        assert_eq!(w.sfn.sent().len(), 1);
        let slot = w.table.get("SLOT#r-1#2").unwrap();
        assert_eq!(slot["wave"].as_n().unwrap(), "2");
        assert!(!slot.contains_key("waiting"), "the token is not kept");
    }

    #[tokio::test]
    async fn a_lane_that_ended_before_the_next_wave_started_hands_over_at_once() {
        let w = world();
        let now = Utc::now();
        assert_eq!(w.admit(1, "T1", now).await, Admission::Dial);
        w.end(1).await;
        assert_eq!(w.admit(2, "T2", now).await, Admission::Dial);
        assert!(w.sfn.sent().is_empty());
    }

    #[tokio::test]
    async fn a_previous_lane_that_never_ends_is_taken_over_after_a_whole_call() {
        let w = world();
        let start = Utc::now();
        assert_eq!(w.admit(1, "T1", start).await, Admission::Dial);
        assert_eq!(w.admit(2, "T2", start).await, Admission::Parked);
        // Woken by its timeout instead, too early: it parks again, its first wait kept.
        let early = start + chrono::Duration::seconds(60);
        assert_eq!(w.admit(2, "T2", early).await, Admission::Parked);
        let late = start + chrono::Duration::seconds(120);
        assert_eq!(w.admit(2, "T2", late).await, Admission::Dial);
        // The old lane, if it ever comes back, no longer holds the slot: it wakes nobody.
        w.end(1).await;
        assert!(w.sfn.sent().is_empty());
        assert_eq!(
            w.table.get("SLOT#r-1#2").unwrap()["ended"],
            AttributeValue::Bool(false)
        );
    }

    #[tokio::test]
    async fn an_overtaken_lane_dials_rather_than_waiting_for_nobody() {
        let w = world();
        let now = Utc::now();
        assert_eq!(w.admit(3, "T3", now).await, Admission::Dial);
        assert_eq!(w.admit(2, "T2", now).await, Admission::Dial);
    }

    #[tokio::test]
    async fn a_lane_holds_its_slot_only_in_the_wave_that_took_it() {
        let w = world();
        let ddb = w.table.client();
        assert!(!holds(&ddb, "t", &lane(1)).await, "no slot yet");
        assert_eq!(w.admit(1, "T1", Utc::now()).await, Admission::Dial);
        assert!(holds(&ddb, "t", &lane(1)).await);
        assert!(!holds(&ddb, "t", &lane(2)).await);
    }

    #[tokio::test]
    async fn a_lane_never_admitted_ends_without_writing() {
        let w = world();
        w.end(4).await;
        assert!(w.table.get("SLOT#r-1#2").is_none());
    }
}
