//! An attempt's life: begun before its call is placed, the call recorded, its end written with
//! what the outcome leads to (final, or due again for a redial or a callback).

use super::*;

/// What `begin_attempt` found.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptBegun {
    /// The contact is now `dialing` this attempt: place the call with the item's
    /// `clientToken`.
    Begun(LedgerContact),
    /// This attempt was already begun (a redelivered or second buffered message): decide
    /// with [`super::super::recover`], never place blindly.
    AlreadyDialing(LedgerContact),
    /// The contact is elsewhere (due again, on a later attempt, final, or absent): drop the
    /// message.
    Stale(Option<LedgerContact>),
}

/// `leased` → `dialing` for attempt `id.attempt` (condition `state = leased AND attempt =
/// :attempt`), with the attempt's `ClientToken` and its deadline (`leaseUntil`, in the `held`
/// index's `dialing` partition).
pub async fn begin_attempt(
    ledger: &CampaignLedger,
    id: &AttemptId,
    deadline: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<AttemptBegun, FunctionError> {
    let shard = shard_of(&id.contact_key);
    let result = update_attempt(ledger, id)
        .update_expression(
            "SET #state = :dialing, #clientToken = :token, #attemptStartedAt = :now, \
             #leaseUntil = :deadline, #heldShard = :held",
        )
        .condition_expression("#state = :leased AND #attempt = :attempt")
        .set_expression_attribute_names(Some(names(&[
            "state",
            "clientToken",
            "attemptStartedAt",
            "leaseUntil",
            "heldShard",
            "attempt",
        ])))
        .expression_attribute_values(":dialing", s(ContactState::Dialing.as_str()))
        .expression_attribute_values(":leased", s(ContactState::Leased.as_str()))
        .expression_attribute_values(":token", s(id.client_token()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":deadline", n(millis(deadline)))
        .expression_attribute_values(
            ":held",
            s(held_shard_key(&id.campaign, ContactState::Dialing, shard)),
        )
        .expression_attribute_values(":attempt", n(i64::from(id.attempt)))
        .send()
        .await;
    match result {
        Ok(out) => Ok(AttemptBegun::Begun(parse(
            out.attributes().unwrap_or(&HashMap::new()),
        )?)),
        Err(e) => match update_conflict(&e) {
            Some(old) => match parse_old(old)? {
                Some(item) if item.state == ContactState::Dialing && item.attempt == id.attempt => {
                    Ok(AttemptBegun::AlreadyDialing(item))
                }
                other => Ok(AttemptBegun::Stale(other)),
            },
            None => Err(store_error("UpdateItem (ledger begin attempt)", &e)),
        },
    }
}

/// What `record_placed` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Placed {
    /// The attempt now names its call (or already named this same call).
    Recorded(LedgerContact),
    /// The attempt is not `dialing` any more, or names another call: nothing written.
    Refused(Option<LedgerContact>),
}

/// Records the contact id Connect returned for attempt `id` (condition `state = dialing AND
/// attempt = :attempt AND (attribute_not_exists(contactId) OR contactId = :id)`). From now on
/// the attempt is never placed again, only reconciled.
pub async fn record_placed(
    ledger: &CampaignLedger,
    id: &AttemptId,
    contact_id: &str,
) -> Result<Placed, FunctionError> {
    let result = update_attempt(ledger, id)
        .update_expression("SET #contactId = :id")
        .condition_expression(
            "#state = :dialing AND #attempt = :attempt \
             AND (attribute_not_exists(#contactId) OR #contactId = :id)",
        )
        .set_expression_attribute_names(Some(names(&["contactId", "state", "attempt"])))
        .expression_attribute_values(":id", s(contact_id))
        .expression_attribute_values(":dialing", s(ContactState::Dialing.as_str()))
        .expression_attribute_values(":attempt", n(i64::from(id.attempt)))
        .send()
        .await;
    match result {
        Ok(out) => Ok(Placed::Recorded(parse(
            out.attributes().unwrap_or(&HashMap::new()),
        )?)),
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(Placed::Refused(parse_old(old)?)),
            None => Err(store_error("UpdateItem (ledger placed)", &e)),
        },
    }
}

/// Moves the deadline of attempt `id` (condition `state = dialing AND attempt = :attempt`):
/// the reconcile path found the call still up. `false` when the attempt is no longer dialing.
pub async fn extend_attempt(
    ledger: &CampaignLedger,
    id: &AttemptId,
    deadline: DateTime<Utc>,
) -> Result<bool, FunctionError> {
    let result = update_contact(ledger, attempt_pk(id))
        .update_expression("SET #leaseUntil = :deadline")
        .condition_expression("#state = :dialing AND #attempt = :attempt")
        .set_expression_attribute_names(Some(names(&["leaseUntil", "state", "attempt"])))
        .expression_attribute_values(":deadline", n(millis(deadline)))
        .expression_attribute_values(":dialing", s(ContactState::Dialing.as_str()))
        .expression_attribute_values(":attempt", n(i64::from(id.attempt)))
        .send()
        .await;
    match result {
        Ok(_) => Ok(true),
        Err(e) if update_conflict(&e).is_some() => Ok(false),
        Err(e) => Err(store_error("UpdateItem (ledger extend attempt)", &e)),
    }
}

/// What `finish` did.
#[derive(Debug, Clone, PartialEq)]
pub enum Finished {
    /// The contact is `final`.
    Final(LedgerContact),
    /// The contact is `due` again for its next attempt.
    Redialed(LedgerContact),
    /// The contact is `due` again for its next attempt at the time the agent promised during
    /// this one (a callback), whatever the rules would have decided.
    CallbackDue(LedgerContact),
    /// This attempt was finished before (a retried or duplicate event): nothing written.
    AlreadyFinished(LedgerContact),
    /// The contact is not dialing this attempt and never finished it (not begun, or absent):
    /// nothing written.
    Refused(Option<LedgerContact>),
}

pub(super) fn classify_not_dialing(item: Option<LedgerContact>, attempt: u32) -> Finished {
    match item {
        Some(item)
            if item.attempt > attempt
                || (item.state == ContactState::Final && item.attempt == attempt) =>
        {
            Finished::AlreadyFinished(item)
        }
        other => Finished::Refused(other),
    }
}

/// Times `finish` decides again when a callback was set (or changed) on the attempt between
/// its read and its write.
const FINISH_ROUNDS: usize = 3;

/// Finishes attempt `id` with `outcome`: a callback the agent set during the attempt
/// (`callbackAt`) makes the contact due at that time ([`Decision::Callback`]); otherwise the
/// contact's rules (its file's override, else `deployment`) decide between `final` and `due`
/// again with the next attempt. Reads the item, then writes conditionally (`state = dialing AND
/// attempt = :attempt`, and `callbackAt` as read, so a callback set in between is never lost:
/// the decision is taken again).
pub async fn finish(
    ledger: &CampaignLedger,
    id: &AttemptId,
    outcome: Outcome,
    deployment: &RedialRules,
    now: DateTime<Utc>,
) -> Result<Finished, FunctionError> {
    let mut current = read_contact(ledger, &id.campaign, &id.contact_key).await?;
    for _ in 0..FINISH_ROUNDS {
        let (decision, callback_at) = match &current {
            Some(item) if item.state == ContactState::Dialing && item.attempt == id.attempt => (
                Decision::after(
                    item.rules(deployment),
                    id.attempt,
                    outcome,
                    item.callback_at,
                    now,
                ),
                item.callback_at,
            ),
            _ => return Ok(classify_not_dialing(current, id.attempt)),
        };
        match settle_guarded(ledger, id, decision, Some(outcome), now, Some(callback_at)).await? {
            // Still dialing this attempt: only the callback changed since the read.
            Finished::Refused(Some(item))
                if item.state == ContactState::Dialing && item.attempt == id.attempt =>
            {
                current = Some(item);
            }
            finished => return Ok(finished),
        }
    }
    Err(FunctionError::retryable(format!(
        "ledger finish: the callback of {}/{} attempt {} kept changing",
        id.campaign, id.contact_key, id.attempt
    )))
}

/// Applies a decision to attempt `id` (condition `state = dialing AND attempt = :attempt`):
/// `final` with its reason, or `due` again. [`finish`] is the usual way in; callers with a
/// reason of their own (a number no longer allowed: [`super::super::FinalReason::Rejected`]) call
/// this. A callback the attempt held is dropped: the caller's decision stands.
pub async fn settle(
    ledger: &CampaignLedger,
    id: &AttemptId,
    decision: Decision,
    outcome: Option<Outcome>,
    now: DateTime<Utc>,
) -> Result<Finished, FunctionError> {
    settle_guarded(ledger, id, decision, outcome, now, None).await
}

/// [`settle`], and with `callback: Some(at)` also conditioned on the item's `callbackAt` being
/// `at` (absent for `None`).
async fn settle_guarded(
    ledger: &CampaignLedger,
    id: &AttemptId,
    decision: Decision,
    outcome: Option<Outcome>,
    now: DateTime<Utc>,
    callback: Option<Option<DateTime<Utc>>>,
) -> Result<Finished, FunctionError> {
    let mut set = Vec::new();
    // The callback is consumed by the attempt it was set in, whatever the decision.
    let mut remove = vec!["#leaseUntil", "#heldShard", "#callbackAt"];
    let mut attributes = vec!["state", "attempt", "leaseUntil", "heldShard", "callbackAt"];
    let mut values: HashMap<String, AttributeValue> = HashMap::from([
        (":dialing".to_string(), s(ContactState::Dialing.as_str())),
        (":attempt".to_string(), n(i64::from(id.attempt))),
    ]);
    let mut condition = String::from("#state = :dialing AND #attempt = :attempt");
    match callback {
        None => {}
        Some(None) => condition.push_str(" AND attribute_not_exists(#callbackAt)"),
        Some(Some(at)) => {
            condition.push_str(" AND #callbackAt = :callbackAt");
            values.insert(":callbackAt".into(), n(millis(at)));
        }
    }
    match decision {
        Decision::Final(reason) => {
            set.push("#state = :final, #finalReason = :reason, #finalAt = :now");
            attributes.extend(["finalReason", "finalAt"]);
            values.insert(":final".into(), s(ContactState::Final.as_str()));
            values.insert(":reason".into(), s(reason.as_str()));
            values.insert(":now".into(), n(millis(now)));
            if let Some(retention) = ledger.final_retention {
                set.push("#expiresAt = :expiresAt");
                attributes.push("expiresAt");
                values.insert(":expiresAt".into(), n((now + retention).timestamp()));
            }
        }
        Decision::Redial { attempt, due_at } | Decision::Callback { attempt, due_at } => {
            set.push("#state = :due, #attempt = :next, #dueAt = :dueAt, #dueShard = :dueShard");
            remove.extend([
                "#clientToken",
                "#contactId",
                "#attemptStartedAt",
                "#leasedBy",
            ]);
            attributes.extend([
                "dueAt",
                "dueShard",
                "clientToken",
                "contactId",
                "attemptStartedAt",
                "leasedBy",
            ]);
            values.insert(":due".into(), s(ContactState::Due.as_str()));
            values.insert(":next".into(), n(i64::from(attempt)));
            values.insert(":dueAt".into(), n(millis(due_at)));
            values.insert(
                ":dueShard".into(),
                s(due_shard_key(&id.campaign, shard_of(&id.contact_key))),
            );
        }
    }
    if let Some(outcome) = outcome {
        set.push("#lastOutcome = :outcome");
        attributes.push("lastOutcome");
        values.insert(":outcome".into(), s(outcome.as_str()));
    }
    let expression = format!("SET {} REMOVE {}", set.join(", "), remove.join(", "));
    let result = update_attempt(ledger, id)
        .update_expression(expression)
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names(&attributes)))
        .set_expression_attribute_values(Some(values))
        .send()
        .await;
    match result {
        Ok(out) => {
            let item = parse(out.attributes().unwrap_or(&HashMap::new()))?;
            Ok(match decision {
                Decision::Final(_) => Finished::Final(item),
                Decision::Redial { .. } => Finished::Redialed(item),
                Decision::Callback { .. } => Finished::CallbackDue(item),
            })
        }
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(classify_not_dialing(parse_old(old)?, id.attempt)),
            None => Err(store_error("UpdateItem (ledger finish)", &e)),
        },
    }
}
