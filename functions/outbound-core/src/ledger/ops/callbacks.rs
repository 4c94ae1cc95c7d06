//! An agent's callback: the contact is due again at the promised time, whatever state it was
//! in when the agent promised it.

use super::*;

/// What `schedule_callback` did.
#[derive(Debug, Clone, PartialEq)]
pub enum CallbackScheduled {
    /// The attempt is still `dialing`: the callback is stored on it (`callbackAt`) and applied
    /// when the attempt ends ([`finish`]).
    Pending(LedgerContact),
    /// The attempt had ended: the contact is `due` for its next attempt at the callback time
    /// (`reopened`: it was `final`; otherwise its pending redial was moved).
    Due { item: LedgerContact, reopened: bool },
    /// The contact has moved on past this attempt (a later attempt is dialing or done):
    /// nothing written.
    TooLate(LedgerContact),
    /// The contact is final for a reason a callback does not override (`dnc`,
    /// `rejected`, `campaign_ended`): nothing written.
    Closed(LedgerContact),
    /// The ledger does not hold this attempt as placed (not a contact of the ledger, or an
    /// attempt never begun): nothing written.
    Unknown(Option<LedgerContact>),
}

/// Final reasons a callback never reopens: nobody is to be called again.
fn closed_for_good(reason: Option<super::super::FinalReason>) -> bool {
    use super::super::FinalReason::*;
    matches!(reason, Some(DoNotCall | Rejected | CampaignEnded))
}

/// The write a callback for attempt `attempt` makes on an item in this state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CallbackWrite {
    /// `dialing` this attempt: store `callbackAt`.
    Store,
    /// `final` at this attempt: `due` again, next attempt, at the callback time.
    Reopen,
    /// `due` or `leased` for the next attempt (a redial pending): `due` at the callback time.
    Move,
}

/// The write for `item`'s state, or (`Err`) the answer when there is none to make.
fn callback_write(
    item: &LedgerContact,
    attempt: u32,
) -> Result<CallbackWrite, Box<CallbackScheduled>> {
    use ContactState::*;
    let answer = |a: CallbackScheduled| Err(Box::new(a));
    match (item.state, item.attempt) {
        (Dialing, a) if a == attempt => Ok(CallbackWrite::Store),
        (Final, a) if a == attempt && !closed_for_good(item.final_reason) => {
            Ok(CallbackWrite::Reopen)
        }
        (Due | Leased, a) if a == attempt + 1 => Ok(CallbackWrite::Move),
        (Final, a) if a == attempt => answer(CallbackScheduled::Closed(item.clone())),
        (_, a) if a > attempt => answer(CallbackScheduled::TooLate(item.clone())),
        _ => answer(CallbackScheduled::Unknown(Some(item.clone()))),
    }
}

/// Times `schedule_callback` writes at most (each lost condition tells it the item's state).
const CALLBACK_ROUNDS: usize = 4;

/// Schedules the agent's callback at `at` for the contact of attempt `id` (the call the agent
/// handled): one conditional UpdateItem on the contact's item, chosen by its state and always
/// conditioned on the attempt number, so a late or duplicate disposition never moves a later
/// attempt.
///
/// - `dialing` attempt `id.attempt`: `callbackAt` is stored; [`finish`] makes the contact due
///   at that time when the attempt ends;
/// - `final` at attempt `id.attempt`: `due` again for the next attempt at `at` (reopened;
///   final and lease fields removed, `expiresAt` too, so the TTL never deletes a due contact);
///   its final record is rewritten when it ends again;
/// - `due` or `leased` for attempt `id.attempt + 1` (a redial pending): `due` at `at` (a leased
///   message is then stale and dropped by dial's `begin_attempt`).
///
/// The first write assumes the call is still up; a lost condition returns the item
/// (`ALL_OLD`), which chooses the next write. The caller checks `at` (see
/// [`super::super::rules::check_callback`]).
///
/// A final item is reopened only while its reason is one a callback may override; the reason
/// cannot change while the item stays final at this attempt, so the condition need not repeat
/// it.
pub async fn schedule_callback(
    ledger: &CampaignLedger,
    id: &AttemptId,
    at: DateTime<Utc>,
) -> Result<CallbackScheduled, FunctionError> {
    let mut write = CallbackWrite::Store;
    for _ in 0..CALLBACK_ROUNDS {
        match write_callback(ledger, id, at, write).await? {
            Ok(item) => {
                return Ok(match write {
                    CallbackWrite::Store => CallbackScheduled::Pending(item),
                    CallbackWrite::Reopen => CallbackScheduled::Due {
                        item,
                        reopened: true,
                    },
                    CallbackWrite::Move => CallbackScheduled::Due {
                        item,
                        reopened: false,
                    },
                })
            }
            Err(None) => return Ok(CallbackScheduled::Unknown(None)),
            Err(Some(item)) => match callback_write(&item, id.attempt) {
                Ok(next) => write = next,
                Err(answer) => return Ok(*answer),
            },
        }
    }
    Err(FunctionError::retryable(format!(
        "ledger callback: {}/{} kept moving under attempt {}",
        id.campaign, id.contact_key, id.attempt
    )))
}

/// One callback write: the item after it, or (`Err`) the item as it was when the condition
/// failed (`None`: no item).
async fn write_callback(
    ledger: &CampaignLedger,
    id: &AttemptId,
    at: DateTime<Utc>,
    write: CallbackWrite,
) -> Result<Result<LedgerContact, Option<LedgerContact>>, FunctionError> {
    let due_shard = s(due_shard_key(&id.campaign, shard_of(&id.contact_key)));
    let mut values: HashMap<String, AttributeValue> =
        HashMap::from([(":at".into(), n(millis(at)))]);
    let (expression, condition, attributes): (&str, &str, &[&str]) = match write {
        CallbackWrite::Store => {
            values.insert(":dialing".into(), s(ContactState::Dialing.as_str()));
            values.insert(":attempt".into(), n(i64::from(id.attempt)));
            (
                "SET #callbackAt = :at",
                "#state = :dialing AND #attempt = :attempt",
                &["callbackAt", "state", "attempt"],
            )
        }
        CallbackWrite::Reopen => {
            values.insert(":final".into(), s(ContactState::Final.as_str()));
            values.insert(":due".into(), s(ContactState::Due.as_str()));
            values.insert(":attempt".into(), n(i64::from(id.attempt)));
            values.insert(":next".into(), n(i64::from(id.attempt) + 1));
            values.insert(":dueShard".into(), due_shard);
            (
                "SET #state = :due, #attempt = :next, #dueAt = :at, #dueShard = :dueShard \
                 REMOVE #finalReason, #finalAt, #expiresAt, #clientToken, #contactId, \
                 #attemptStartedAt, #leasedBy, #leaseUntil, #heldShard, #callbackAt",
                "#state = :final AND #attempt = :attempt",
                &[
                    "state",
                    "attempt",
                    "dueAt",
                    "dueShard",
                    "finalReason",
                    "finalAt",
                    "expiresAt",
                    "clientToken",
                    "contactId",
                    "attemptStartedAt",
                    "leasedBy",
                    "leaseUntil",
                    "heldShard",
                    "callbackAt",
                ],
            )
        }
        CallbackWrite::Move => {
            values.insert(":due".into(), s(ContactState::Due.as_str()));
            values.insert(":leased".into(), s(ContactState::Leased.as_str()));
            values.insert(":next".into(), n(i64::from(id.attempt) + 1));
            values.insert(":dueShard".into(), due_shard);
            (
                "SET #state = :due, #dueAt = :at, #dueShard = :dueShard \
                 REMOVE #leaseUntil, #heldShard, #leasedBy",
                "(#state = :due OR #state = :leased) AND #attempt = :next",
                &[
                    "state",
                    "attempt",
                    "dueAt",
                    "dueShard",
                    "leaseUntil",
                    "heldShard",
                    "leasedBy",
                ],
            )
        }
    };
    let result = update_attempt(ledger, id)
        .update_expression(expression)
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names(attributes)))
        .set_expression_attribute_values(Some(values))
        .send()
        .await;
    match result {
        Ok(out) => Ok(Ok(parse(out.attributes().unwrap_or(&HashMap::new()))?)),
        Err(e) => match update_conflict(&e) {
            Some(old) => Ok(Err(parse_old(old)?)),
            None => Err(store_error("UpdateItem (ledger callback)", &e)),
        },
    }
}
