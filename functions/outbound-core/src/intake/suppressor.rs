//! The do-not-call check at intake, shared by the CSV intake (load-list) and the Pinpoint channel
//! (queue-contacts): contacts the ledger just answered for are looked up on the list a hundred at
//! a time, and a listed one is made final `dnc` at once with its one final record.
//!
//! Why at intake and not only at lease time: a listed contact is then never leased and never
//! takes a place in the queue, and its final record is there as soon as the list is loaded. The
//! feeder (and dial) still check before every call: a contact admitted by an invocation that died
//! before its check is due, and the feeder suppresses it when it leases it, as it would a number
//! listed after the upload.
//!
//! Exactly one final record: the suppression is a conditional `due` → `final` transition
//! (`ledger::suppress_due`), so only its winner writes the record, and confirms it in the ledger
//! (`ledger::ops::confirm_recorded`); a contact found final at attempt 0 for `dnc` (the same file
//! or batch again, a retried invocation) gets its record rewritten under the same key, in case its
//! writer died before writing it.

use super::admitter::DueContact;
use super::{sdk_error, RetryPolicy};
use crate::error::FunctionError;
use crate::ledger::{CampaignLedger, ContactState, FinalReason, LedgerContact};
use chrono::{DateTime, Utc};
use std::collections::HashSet;

/// Contacts looked up at once: one `BatchGetItem` of the do-not-call list.
pub const CHECK_BATCH: usize = 100;

/// Makes listed contacts final at intake.
#[derive(Debug, Clone)]
pub struct IntakeSuppressor {
    pub ledger: CampaignLedger,
    pub s3: aws_sdk_s3::Client,
    pub results_bucket: String,
    pub policy: RetryPolicy,
}

impl IntakeSuppressor {
    /// The keys of `keys` on the do-not-call list (one `BatchGetItem` per hundred).
    pub async fn listed(&self, keys: &[&str]) -> Result<HashSet<String>, FunctionError> {
        self.policy
            .retry(|| crate::dnc::listed(&self.ledger, keys))
            .await
    }

    /// Makes `due` (whose number is listed) final `dnc` and writes its final record. `true` when
    /// this call made it final; `false` when it already was (its record is written again) or it
    /// moved on (leased by a feeder, which checks the list itself).
    pub async fn suppress(
        &self,
        due: &DueContact,
        now: DateTime<Utc>,
    ) -> Result<bool, FunctionError> {
        let c = &due.contact;
        let (item, won) = match due.state {
            ContactState::Due => {
                let won = self
                    .policy
                    .retry(|| {
                        crate::ledger::suppress_due(
                            &self.ledger,
                            &c.campaign,
                            &c.contact_key,
                            FinalReason::DoNotCall,
                            now,
                        )
                    })
                    .await?;
                let made = won.is_some();
                (won, made)
            }
            ContactState::Final => {
                let item = self
                    .policy
                    .retry(|| {
                        crate::ledger::read_contact(&self.ledger, &c.campaign, &c.contact_key)
                    })
                    .await?
                    .filter(|item| {
                        item.final_reason == Some(FinalReason::DoNotCall) && item.attempt == 0
                    });
                (item, false)
            }
            _ => (None, false),
        };
        if let Some(item) = item {
            self.write_final(&item).await?;
            // The record is written: the contact no longer owes it (a feeding would otherwise
            // write it again after `RECORD_GRACE`).
            self.policy
                .retry(|| crate::ledger::ops::confirm_recorded(&self.ledger, &item))
                .await?;
        }
        Ok(won)
    }

    async fn write_final(&self, item: &LedgerContact) -> Result<(), FunctionError> {
        let record = crate::ledger::final_record(item);
        let mut body = serde_json::to_vec(&record)
            .map_err(|e| FunctionError::invalid_input(format!("final record: {e}")))?;
        body.push(b'\n');
        let key = record.object_key();
        self.policy
            .retry(|| async {
                self.s3
                    .put_object()
                    .bucket(&self.results_bucket)
                    .key(&key)
                    .content_type("application/x-ndjson")
                    .body(body.clone().into())
                    .send()
                    .await
                    .map_err(|e| sdk_error("PutObject (final record)", &e))
            })
            .await?;
        crate::ledger::finisher::log_final(item, &record);
        Ok(())
    }
}
