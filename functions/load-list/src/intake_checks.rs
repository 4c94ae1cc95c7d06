//! The calling rules at intake: each contact the file admits is looked up on the do-not-call
//! list (and, with a frequency cap, among the capped numbers) a hundred at a time, a listed one is
//! made final `dnc` at once with its one final record, and every contact is counted for the
//! file's plan ([`crate::plan`]).
//!
//! Why here and not only at lease time: a listed contact is then never leased, never takes a
//! place in the queue, and the plan counts it. The feeder (and dial) still check before a call:
//! a contact admitted by an invocation that died before its check (the admission is acknowledged,
//! the suppression not yet written) is due, and the feeder suppresses it when it leases it, as it
//! would a number listed after the upload. The invocation's retry also finds it (already present,
//! still due) and suppresses it.
//!
//! Exactly one final record: the suppression is a conditional `due` → `final` transition
//! (`ledger::suppress_due`), so only its winner writes the record; a file uploaded again finds
//! its contacts already present and final, and writes nothing new (it rewrites, under the same
//! key, the record of a suppression whose writer died before writing it).

use crate::plan::{classify, PlanTally};
use chrono::{DateTime, Utc};
use outbound_core::calling_window::CallingWindow;
use outbound_core::contact_key::ContactKeyer;
use outbound_core::error::FunctionError;
use outbound_core::frequency_cap::{self, FrequencyCap};
use outbound_core::intake::admitter::DueContact;
use outbound_core::intake::{sdk_error, RetryPolicy};
use outbound_core::ledger::{CampaignLedger, ContactState, FinalReason, LedgerContact};
use std::collections::HashMap;

/// Contacts looked up at once: one `BatchGetItem` of the do-not-call list (and one of the caps).
pub const CHECK_BATCH: usize = 100;

/// Checks the contacts of one segment of a file.
pub struct IntakeChecks {
    pub ledger: CampaignLedger,
    pub s3: aws_sdk_s3::Client,
    pub results_bucket: String,
    pub keyer: ContactKeyer,
    pub window: Option<CallingWindow>,
    pub cap: Option<FrequencyCap>,
    /// A dry run looks up, counts, and changes nothing.
    pub dry_run: bool,
    pub policy: RetryPolicy,
    pending: Vec<DueContact>,
    /// The file's plan so far.
    pub tally: PlanTally,
    /// Contacts this segment made final `dnc`.
    pub suppressed: u64,
}

impl IntakeChecks {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        ledger: CampaignLedger,
        s3: aws_sdk_s3::Client,
        results_bucket: String,
        keyer: ContactKeyer,
        window: Option<CallingWindow>,
        cap: Option<FrequencyCap>,
        dry_run: bool,
        policy: RetryPolicy,
        tally: PlanTally,
    ) -> Self {
        IntakeChecks {
            ledger,
            s3,
            results_bucket,
            keyer,
            window,
            cap,
            dry_run,
            policy,
            pending: Vec::new(),
            tally,
            suppressed: 0,
        }
    }

    /// Adds contacts to check; checks a batch once [`CHECK_BATCH`] are waiting.
    pub async fn push(&mut self, contacts: Vec<DueContact>) -> Result<(), FunctionError> {
        self.pending.extend(contacts);
        while self.pending.len() >= CHECK_BATCH {
            let rest = self.pending.split_off(CHECK_BATCH);
            let batch = std::mem::replace(&mut self.pending, rest);
            self.check(batch, Utc::now()).await?;
        }
        Ok(())
    }

    /// Checks every contact still waiting.
    pub async fn finish(&mut self) -> Result<(), FunctionError> {
        let batch = std::mem::take(&mut self.pending);
        if !batch.is_empty() {
            self.check(batch, Utc::now()).await?;
        }
        Ok(())
    }

    async fn check(
        &mut self,
        batch: Vec<DueContact>,
        now: DateTime<Utc>,
    ) -> Result<(), FunctionError> {
        let keys: Vec<String> = batch
            .iter()
            .map(|c| self.keyer.do_not_call_key(&c.contact.phone))
            .collect();
        let asked: Vec<&str> = keys.iter().map(String::as_str).collect();
        let listed = self
            .policy
            .retry(|| outbound_core::dnc::listed(&self.ledger, &asked))
            .await?;
        let capped: HashMap<String, DateTime<Utc>> = match &self.cap {
            Some(cap) => {
                self.policy
                    .retry(|| frequency_cap::capped(&self.ledger, cap, &asked, now))
                    .await?
            }
            None => HashMap::new(),
        };
        let from = self.tally.from(now);
        for (due, key) in batch.iter().zip(&keys) {
            let is_listed = listed.contains(key);
            if is_listed && !self.dry_run {
                self.suppress(due, now).await?;
            }
            if due.new {
                self.tally.record(classify(
                    is_listed,
                    capped.get(key).copied(),
                    self.window.as_ref(),
                    &due.contact.phone,
                    &due.contact.attributes,
                    from,
                ));
            }
        }
        Ok(())
    }

    /// Makes a listed contact final `dnc` and writes its final record; a contact found final by
    /// an earlier suppression (the same file again, a retried invocation) gets its record
    /// rewritten under the same key, in case its writer died before writing it.
    async fn suppress(
        &mut self,
        due: &DueContact,
        now: DateTime<Utc>,
    ) -> Result<(), FunctionError> {
        let c = &due.contact;
        let item = match due.state {
            ContactState::Due => {
                let won = self
                    .policy
                    .retry(|| {
                        outbound_core::ledger::suppress_due(
                            &self.ledger,
                            &c.campaign,
                            &c.contact_key,
                            FinalReason::DoNotCall,
                            now,
                        )
                    })
                    .await?;
                if won.is_some() {
                    self.suppressed += 1;
                }
                won
            }
            ContactState::Final => self
                .policy
                .retry(|| {
                    outbound_core::ledger::read_contact(&self.ledger, &c.campaign, &c.contact_key)
                })
                .await?
                .filter(|item| {
                    item.final_reason == Some(FinalReason::DoNotCall) && item.attempt == 0
                }),
            _ => None,
        };
        if let Some(item) = item {
            self.write_final(&item).await?;
            // The record is written: the contact no longer owes it (a feeding would otherwise
            // write it again after `RECORD_GRACE`).
            self.policy
                .retry(|| outbound_core::ledger::ops::confirm_recorded(&self.ledger, &item))
                .await?;
        }
        Ok(())
    }

    async fn write_final(&self, item: &LedgerContact) -> Result<(), FunctionError> {
        let record = outbound_core::ledger::final_record(item);
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
        tracing::info!(
            campaign = %item.campaign,
            contact_key = %item.contact_key,
            attempts = item.attempt,
            reason = %record.final_reason,
            "contact final"
        );
        Ok(())
    }
}
