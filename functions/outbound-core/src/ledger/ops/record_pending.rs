//! Final records owed by a transition no event will repeat.
//!
//! A contact made final without a call (do-not-call at lease or at dial, a campaign closed at its
//! end) takes two writes: the ledger's transition, then the final record in S3. Ending an attempt
//! is safe between the two, because the contact event that ended it is delivered again and the
//! retry writes the record (`Finisher`). Nothing repeats these transitions: a retried feeding no
//! longer finds the contact due or leased, a retried dial finds it final. So these transitions
//! leave the contact in the `held` index, in its campaign's `final` partitions (`heldShard` =
//! `<campaign>#final#<shard>`, `leaseUntil` = when the record is overdue), until the writer
//! confirms the record ([`confirm_recorded`]); a record still owed after [`RECORD_GRACE`] (the
//! writer died, or S3 failed) is written by the next feeding ([`unrecorded_finals`]). The record
//! is the same object however often it is written.

use super::*;

/// How long the writer of a transition has to write its final record before a feeding writes it
/// instead: far longer than one S3 put with its retries.
pub const RECORD_GRACE: Duration = Duration::minutes(2);

/// What a transition that owes a final record adds to its `SET` clause (with
/// [`record_owed_values`]): the contact stays in the `held` index's `final` partition until the
/// record is confirmed.
pub(super) const RECORD_OWED_SET: &str = "#heldShard = :recordShard, #leaseUntil = :recordBy";

/// The attribute names [`RECORD_OWED_SET`] uses.
pub(super) const RECORD_OWED_NAMES: [&str; 2] = ["heldShard", "leaseUntil"];

/// The values of [`RECORD_OWED_SET`] for a contact of `campaign` in index shard `shard` made
/// final at `now`.
pub(super) fn record_owed_values(
    request: UpdateItemFluentBuilder,
    campaign: &str,
    shard: u32,
    now: DateTime<Utc>,
) -> UpdateItemFluentBuilder {
    request
        .expression_attribute_values(
            ":recordShard",
            s(held_shard_key(campaign, ContactState::Final, shard)),
        )
        .expression_attribute_values(":recordBy", n(millis(now + RECORD_GRACE)))
}

/// The contact's final record is written: out of the `held` index. Conditional on the contact
/// still owing it (`final` and in the index): a second confirmation, or one for a contact whose
/// final record was never owed this way, changes nothing.
pub async fn confirm_recorded(
    ledger: &CampaignLedger,
    item: &LedgerContact,
) -> Result<(), FunctionError> {
    let result = update_contact(
        ledger,
        super::super::item::contact_pk(&item.campaign, &item.contact_key),
    )
    .update_expression("REMOVE #heldShard, #leaseUntil")
    .condition_expression("#state = :final AND attribute_exists(#heldShard)")
    .set_expression_attribute_names(Some(names(&["state", "heldShard", "leaseUntil"])))
    .expression_attribute_values(":final", s(ContactState::Final.as_str()))
    .send()
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if update_conflict(&e).is_some() => Ok(()),
        Err(e) => Err(store_error(
            "UpdateItem (ledger final record confirmed)",
            &e,
        )),
    }
}

/// Final contacts of `campaign` whose record is still owed past [`RECORD_GRACE`], oldest first,
/// up to `limit` (the `held` index's `final` partitions).
pub async fn unrecorded_finals(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<LedgerContact>, FunctionError> {
    super::lease::held_past_deadline(ledger, campaign, ContactState::Final, now, limit).await
}
