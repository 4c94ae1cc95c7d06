//! Closing a campaign whose schedule ended: its due contacts become final `campaign_ended`
//! without a call, whatever their `dueAt` (a redial or a callback due after the end will never
//! be dialed either), in one conditional write each.
//!
//! Why not lease then `suppress`: a lease asks `dueAt <= now`, so a redial due next week could
//! not be closed before next week, and it would cost two writes (and two index moves) where one
//! does.

use super::*;

/// What `close_due` did.
#[derive(Debug, Clone, Default)]
pub struct ClosedBatch {
    /// The contacts now `final` (`campaign_ended`), oldest `dueAt` first: each needs its final
    /// record.
    pub closed: Vec<LedgerContact>,
    /// Contacts the index offered that had moved on meanwhile (leased by a feeder that did not
    /// see the end yet, or the index was behind): left as they are, not an error.
    pub contended: usize,
}

/// Makes up to `limit` due contacts of `campaign` final with `reason` (the campaign ended),
/// whatever their `dueAt`, oldest first: one query of the `due` index per shard, then for each
/// key a conditional update (`state = due`) to `final`, out of the `due` index. `attempt`
/// becomes the attempts really made (the due one was never placed), as in [`suppress`].
pub async fn close_due(
    ledger: &CampaignLedger,
    campaign: &str,
    reason: super::super::item::FinalReason,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<ClosedBatch, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    // Every due contact, not only those due at `now`: the index's sort key up to the largest
    // time there is.
    let keys = oldest_over_shards(
        ledger,
        &DUE_AT_NOW,
        |shard| due_shard_key(campaign, shard),
        DateTime::<Utc>::MAX_UTC,
        limit,
    )
    .await?;
    let results: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, shard)| async move {
            finalize_due_pk(
                ledger,
                campaign,
                shard,
                pk,
                reason,
                now,
                "ledger campaign end",
            )
            .await
        })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let (closed, contended) = won_and_contended(results)?;
    Ok(ClosedBatch { closed, contended })
}

/// One `due` contact made final for `reason` without a call: `due` → `final`, out of the `due`
/// index, `attempt` back to the attempts really made. Conditional on `state = due`: `None` when
/// the contact moved on, so only one writer wins and writes its final record. Shared by the
/// campaign's close and the intake's do-not-call check (`suppress_due`); `what` names the
/// caller in errors.
pub(super) async fn finalize_due_pk(
    ledger: &CampaignLedger,
    campaign: &str,
    shard: u32,
    pk: String,
    reason: super::super::item::FinalReason,
    now: DateTime<Utc>,
    what: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    // The final record is owed until the caller confirms it (`record_pending`).
    let mut set = format!(
        "SET #state = :final, #finalReason = :reason, #finalAt = :now, #attempt = #attempt - :one, {}",
        super::record_pending::RECORD_OWED_SET
    );
    let mut attributes = vec![
        "state",
        "finalReason",
        "finalAt",
        "attempt",
        "dueShard",
        "leasedBy",
    ];
    attributes.extend(super::record_pending::RECORD_OWED_NAMES);
    let mut request =
        super::record_pending::record_owed_values(update_contact(ledger, pk), campaign, shard, now);
    if let Some(retention) = ledger.final_retention {
        set.push_str(", #expiresAt = :expiresAt");
        attributes.push("expiresAt");
        request =
            request.expression_attribute_values(":expiresAt", n((now + retention).timestamp()));
    }
    let result = request
        .update_expression(format!("{set} REMOVE #dueShard, #leasedBy"))
        // `attempt > 0` always holds for a due contact; it keeps the arithmetic from ever
        // writing a negative count.
        .condition_expression("#state = :due AND #attempt >= :one")
        .set_expression_attribute_names(Some(names(&attributes)))
        .expression_attribute_values(":final", s(ContactState::Final.as_str()))
        .expression_attribute_values(":due", s(ContactState::Due.as_str()))
        .expression_attribute_values(":reason", s(reason.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
        Err(e) if update_conflict(&e).is_some() => Ok(None),
        Err(e) => Err(store_error(&format!("UpdateItem ({what})"), &e)),
    }
}
