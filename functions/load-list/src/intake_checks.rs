//! The calling rules at intake: each contact the file admits is looked up on the do-not-call
//! list (and, with a frequency cap, among the capped numbers) a hundred at a time, a listed one is
//! made final `dnc` at once with its one final record, and every contact is counted for the
//! file's plan ([`crate::plan`]).
//!
//! The suppression itself, and why it happens here as well as at lease time, is
//! `outbound_core::intake::suppressor` (shared with the Pinpoint channel).

use crate::plan::{classify, PlanTally};
use chrono::{DateTime, Utc};
use outbound_core::calling_window::CallingWindow;
use outbound_core::contact_key::ContactKeyer;
use outbound_core::error::FunctionError;
use outbound_core::frequency_cap::{self, FrequencyCap};
use outbound_core::intake::admitter::DueContact;
use outbound_core::intake::suppressor::IntakeSuppressor;
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::CampaignLedger;
use std::collections::HashMap;

/// Contacts looked up at once: one `BatchGetItem` of the do-not-call list (and one of the caps).
pub use outbound_core::intake::suppressor::CHECK_BATCH;

/// Checks the contacts of one segment of a file.
pub struct IntakeChecks {
    pub ledger: CampaignLedger,
    /// Makes the listed contacts final with their records.
    pub suppressor: IntakeSuppressor,
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
            suppressor: IntakeSuppressor {
                ledger: ledger.clone(),
                s3,
                results_bucket,
                policy,
            },
            ledger,
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
        let listed = self.suppressor.listed(&asked).await?;
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
            if is_listed && !self.dry_run && self.suppressor.suppress(due, now).await? {
                self.suppressed += 1;
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
}
