//! Ending an attempt in the ledger: the outcome and the redial rules decide between `final` (and
//! the contact's one final record) and `due` again for the next attempt.
//!
//! Every path that learns how a call ended goes through here after writing the attempt's result
//! record: the completion of a call (event processor, dial), the reconcile path, and dial for a
//! request Connect refused or a number no longer allowed.

use super::attempt::AttemptId;
use super::item::{ContactState, FinalReason, LedgerContact};
use super::ops::{confirm_recorded, finish, settle, CampaignLedger, Finished};
use super::rules::{Decision, RedialRules};
use crate::completion::{put_jsonl, rfc3339, Ledger};
use crate::error::FunctionError;
use crate::mask::mask_phone;
use crate::records::{FinalRecord, Outcome};
use chrono::{DateTime, Utc};

/// The campaign ledger as the functions that end attempts hold it: the table and the
/// deployment's redial rules (`REDIAL_RULES`).
#[derive(Debug, Clone)]
pub struct Finisher {
    pub ledger: CampaignLedger,
    pub rules: RedialRules,
}

/// The final record of a contact the ledger holds as final.
pub fn final_record(item: &LedgerContact) -> FinalRecord {
    FinalRecord {
        campaign: item.campaign.clone(),
        contact_key: item.contact_key.clone(),
        customer_key: item.key.clone(),
        phone_masked: mask_phone(&item.phone),
        attempts: item.attempt,
        final_reason: item
            .final_reason
            .map(FinalReason::as_str)
            .unwrap_or("unknown")
            .to_string(),
        last_outcome: item.last_outcome,
        contact_id: item.contact_id.clone(),
        final_at: rfc3339(item.final_at.unwrap_or_else(Utc::now)),
        source: serde_json::to_value(&item.source).unwrap_or(serde_json::Value::Null),
        round: item.round.clone(),
    }
}

impl Finisher {
    /// Ends attempt `id` with `outcome` under the rules; writes the final record when the contact
    /// is final (again when a retry finds it final at this attempt: the record may not have
    /// been written before the retry).
    pub async fn finish_attempt(
        &self,
        results: &Ledger,
        id: &AttemptId,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<Finished, FunctionError> {
        let finished = finish(&self.ledger, id, outcome, &self.rules, now).await?;
        self.after(results, id, &finished).await?;
        Ok(finished)
    }

    /// Makes attempt `id` final for a reason of the caller's (a number no longer allowed).
    pub async fn settle_final(
        &self,
        results: &Ledger,
        id: &AttemptId,
        reason: FinalReason,
        outcome: Option<Outcome>,
        now: DateTime<Utc>,
    ) -> Result<Finished, FunctionError> {
        let finished = settle(&self.ledger, id, Decision::Final(reason), outcome, now).await?;
        self.after(results, id, &finished).await?;
        Ok(finished)
    }

    async fn after(
        &self,
        results: &Ledger,
        id: &AttemptId,
        finished: &Finished,
    ) -> Result<(), FunctionError> {
        match finished {
            Finished::Final(item) => write_final(results, item).await,
            Finished::AlreadyFinished(item)
                if item.state == ContactState::Final && item.attempt == id.attempt =>
            {
                write_final(results, item).await
            }
            Finished::Redialed(item) => {
                tracing::info!(
                    campaign = %item.campaign,
                    contact_key = %item.contact_key,
                    attempt = item.attempt,
                    due_at = %rfc3339(item.due_at),
                    "contact due again for its next attempt"
                );
                Ok(())
            }
            Finished::CallbackDue(item) => {
                tracing::info!(
                    campaign = %item.campaign,
                    contact_key = %item.contact_key,
                    attempt = item.attempt,
                    due_at = %rfc3339(item.due_at),
                    "contact due again at the callback the agent set"
                );
                Ok(())
            }
            Finished::AlreadyFinished(_) => Ok(()),
            Finished::Refused(item) => {
                // Not a contact of the ledger (a message queued before the ledger existed), or
                // an attempt never begun: nothing to end; the result record stands.
                tracing::warn!(
                    campaign = %id.campaign,
                    contact_key = %id.contact_key,
                    attempt = id.attempt,
                    state = item.as_ref().map(|i| i.state.as_str()).unwrap_or("absent"),
                    "attempt not dialing in the campaign ledger; not ended there"
                );
                Ok(())
            }
        }
    }
}

/// Writes the final record of a contact a calling rule made final without a call (a transition
/// that leaves the record owed: `ledger::ops::unrecorded_finals`), then confirms it in the ledger.
/// A failure between the two leaves the record owed, and a feeding writes it.
pub async fn write_owed_final(
    results: &Ledger,
    ledger: &CampaignLedger,
    item: &LedgerContact,
) -> Result<(), FunctionError> {
    write_final(results, item).await?;
    confirm_recorded(ledger, item).await
}

/// Writes the final record of a contact the ledger holds as final (idempotent: the same object).
pub async fn write_final(results: &Ledger, item: &LedgerContact) -> Result<(), FunctionError> {
    let record = final_record(item);
    put_jsonl(results, &record.object_key(), &record).await?;
    log_final(item, &record);
    Ok(())
}

/// The log line of a final record written (every writer logs the same one).
pub fn log_final(item: &LedgerContact, record: &FinalRecord) {
    tracing::info!(
        campaign = %item.campaign,
        contact_key = %item.contact_key,
        attempts = item.attempt,
        reason = %record.final_reason,
        "contact final"
    );
}
