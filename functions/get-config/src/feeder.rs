//! The feeder: at the start of every wave, moves the campaigns' due contacts from the ledger
//! into the lanes' queue, and puts back in line what a dead run left behind.
//!
//! For each campaign the ledger lists as having work (`ledger::campaigns`):
//! 1. leases that ran out (their message lost, dead-lettered, or its run stopped) make their
//!    contacts due again, at their place in line;
//! 2. attempts still `dialing` past their deadline (a dial or a run that died) are recovered
//!    (`ledger::recover`): a placement of unknown outcome is queued again (dial places it with
//!    the same `ClientToken`); one beyond Connect's token window is finished as `failed`; a call
//!    that was placed is finished with the outcome its contact event recorded or, when that
//!    event never came, the end `DescribeContact` reports; it is given more time while the call
//!    is up;
//! 3. due contacts are leased (`leaseUntil` = now + `LEASE_SECONDS`) and sent to the queue, up to
//!    what the lanes can dial in one wave, less what the queue already holds;
//! 4. a campaign with nothing due, leased or dialing leaves the list.
//!
//! SQS is only the buffer: a message lost anywhere costs a lease expiry, never a contact.

use chrono::{DateTime, Duration, Utc};
use outbound_core::completion::{reconcile_orphan, Ledger};
use outbound_core::error::FunctionError;
use outbound_core::intake::sender::{Outgoing, QueueSender};
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::finisher::Finisher;
use outbound_core::ledger::ops::{expire_leases, extend_attempt, lease_due, overdue_attempts};
use outbound_core::ledger::{campaigns, recover, AttemptId, LedgerContact, Recovery, MAX_BATCH};
use outbound_core::records::Outcome;
use serde::Serialize;

/// Overdue attempts one wave recovers per campaign (the rest wait for the next wave).
const OVERDUE_PER_WAVE: usize = 100;

/// How long an attempt whose call was placed may stay without a known end (no contact event,
/// and `DescribeContact` says it is up or does not know it) before it is finished as
/// `timeout`: far beyond any call.
const UNKNOWN_END_LIMIT: Duration = Duration::hours(24);

/// What the feeder needs: the campaign ledger with the rules (it finishes abandoned attempts),
/// the ActiveDialing table and results bucket (a placed call's recorded end), Connect (the end of
/// a call whose event was lost), the queue.
#[derive(Debug, Clone)]
pub struct Feeder {
    pub attempts: Finisher,
    pub results: Ledger,
    pub connect: aws_sdk_connect::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// How long a fed contact stays leased to the lanes (`LEASE_SECONDS`).
    pub lease: Duration,
}

/// What one feeding did, for the state machine and the logs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FeedReport {
    /// Contacts leased and queued for the lanes.
    pub fed: u64,
    /// Messages the queue held already (visible, delayed or being dialed) before feeding.
    pub buffered: u64,
    /// Leases that had run out: their contacts are due again.
    pub expired: u64,
    /// Overdue attempts dealt with (queued again, finished, or given more time).
    pub recovered: u64,
    /// Campaigns with work, after retiring the finished ones.
    pub campaigns: u64,
}

impl Feeder {
    /// Feeds the queue for a wave of `lanes` lanes of `lane_budget` calls each, the contacts
    /// leased by `run_id`; `instance_id` is the Connect instance the calls were placed on.
    pub async fn feed(
        &self,
        run_id: &str,
        instance_id: &str,
        lanes: u32,
        lane_budget: u32,
        now: DateTime<Utc>,
    ) -> Result<FeedReport, FunctionError> {
        let mut report = FeedReport {
            buffered: self.buffered().await?,
            ..FeedReport::default()
        };
        let wanted = (u64::from(lanes) * u64::from(lane_budget)).min(MAX_BATCH as u64);
        let mut room = wanted.saturating_sub(report.buffered);
        let active = campaigns::active(&self.attempts.ledger).await?;
        let mut sender =
            QueueSender::new(self.sqs.clone(), &self.queue_url).with_policy(RetryPolicy::DEFAULT);
        for (campaign, stamp) in &active {
            let ledger = &self.attempts.ledger;
            let expired = expire_leases(ledger, campaign, now, MAX_BATCH).await?;
            report.expired += expired.expired.len() as u64;
            let overdue = overdue_attempts(ledger, campaign, now, OVERDUE_PER_WAVE).await?;
            for item in &overdue {
                if self
                    .recover_overdue(item, instance_id, now, &mut sender)
                    .await?
                {
                    report.fed += 1;
                    room = room.saturating_sub(1);
                }
                report.recovered += 1;
            }
            let mut leased_any = false;
            if room > 0 {
                let batch = lease_due(
                    ledger,
                    campaign,
                    now,
                    room as usize,
                    now + self.lease,
                    run_id,
                )
                .await?;
                leased_any = !batch.leased.is_empty();
                for item in &batch.leased {
                    let contact = item.to_contact();
                    if sender.push(Outgoing::new(&contact, None)).await.is_err() {
                        break;
                    }
                }
                room = room.saturating_sub(batch.leased.len() as u64);
                report.fed += batch.leased.len() as u64;
            }
            let quiet = !leased_any && expired.expired.is_empty() && overdue.is_empty();
            if quiet && campaigns::retire_if_done(ledger, campaign, *stamp, now).await? {
                tracing::info!(campaign = %campaign, "campaign has no contact left to dial");
                continue;
            }
            report.campaigns += 1;
        }
        match sender.finish().await {
            Ok(summary) => {
                for failed in &summary.failed {
                    // Its lease runs out and it is fed again: not lost.
                    tracing::warn!(contact_key = %failed.origin.contact_key, reason = %failed.reason, "a leased contact was not queued; it is fed again when its lease runs out");
                }
            }
            Err(abort) => {
                // What was not sent stays leased until its lease runs out, then is fed again.
                return Err(abort.error);
            }
        }
        // modules/dialer/alarms.tf (lease_expiries) sums `expired` from this line: keep its
        // message and field names.
        tracing::info!(
            run_id,
            fed = report.fed,
            buffered = report.buffered,
            expired = report.expired,
            recovered = report.recovered,
            campaigns = report.campaigns,
            "lanes fed from the campaign ledger"
        );
        Ok(report)
    }

    /// Messages in the queue: waiting, delayed, or taken by a lane and not yet deleted.
    async fn buffered(&self) -> Result<u64, FunctionError> {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let out = self
            .sqs
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesDelayed)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(|e| outbound_core::intake::sdk_error("SQS GetQueueAttributes", &e))?;
        Ok(out
            .attributes()
            .map(|a| a.values().filter_map(|v| v.parse::<u64>().ok()).sum())
            .unwrap_or(0))
    }

    /// Deals with an attempt past its deadline; `true` when it was queued again.
    async fn recover_overdue(
        &self,
        item: &LedgerContact,
        instance_id: &str,
        now: DateTime<Utc>,
        sender: &mut QueueSender,
    ) -> Result<bool, FunctionError> {
        let id = AttemptId::of(item);
        match recover(item, item.attempt, now) {
            Recovery::NotDialing => Ok(false),
            Recovery::Replay { .. } => {
                // dial meets it dialing without a contact id and places it again with the
                // same ClientToken; the new deadline keeps the next wave from queueing it twice.
                if extend_attempt(&self.attempts.ledger, &id, now + self.lease).await? {
                    tracing::info!(contact_key = %item.contact_key, attempt = item.attempt, "an attempt whose placement is unknown is queued again");
                    let _ = sender.push(Outgoing::new(&item.to_contact(), None)).await;
                    return Ok(true);
                }
                Ok(false)
            }
            Recovery::Abandon => {
                self.attempts
                    .finish_attempt(&self.results, &id, Outcome::Failed, now)
                    .await?;
                Ok(false)
            }
            Recovery::Reconcile { contact_id } => {
                let outcome =
                    reconcile_orphan(&self.results, &self.connect, instance_id, &contact_id, now)
                        .await?;
                let started = item.attempt_started_at.unwrap_or(now);
                match outcome {
                    Some(outcome) => {
                        self.attempts
                            .finish_attempt(&self.results, &id, outcome, now)
                            .await?;
                    }
                    None if now - started > UNKNOWN_END_LIMIT => {
                        tracing::warn!(contact_id = %contact_id, "no end of this call was ever known; finished as timeout");
                        self.attempts
                            .finish_attempt(&self.results, &id, Outcome::Timeout, now)
                            .await?;
                    }
                    None => {
                        // Still up (or not known to Connect yet): look again after a lease.
                        extend_attempt(&self.attempts.ledger, &id, now + self.lease).await?;
                    }
                }
                Ok(false)
            }
        }
    }
}
