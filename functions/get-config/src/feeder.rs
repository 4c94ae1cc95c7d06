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
//!    what the lanes can dial in one wave, less what the queue already holds; that room is shared
//!    evenly between the campaigns with due contacts (a campaign that needs less leaves the rest
//!    to the others), so a large campaign does not hold a small one back until it is done;
//! 4. a campaign with nothing due, leased or dialing leaves the list.
//!
//! The campaigns' schedules (`ledger::schedule`) are read once per feeding. Before its start a
//! campaign leases nothing (what dead runs left behind is still put back in line, and it stays
//! listed while it has due contacts). Once its end has passed it is closed: its due contacts,
//! whatever their `dueAt` (a redial or a callback due after the end included), are made final
//! `campaign_ended` with their final record, at most `close_per_feeding` per feeding
//! ([`CLOSE_PER_FEEDING`]; the rest at the next one), taking no room from the lanes. A contact
//! being dialed is never cut: its redial, if any, comes back due and the next feeding closes it.
//!
//! A leased contact whose number is on the do-not-call list (`outbound_core::dnc`, looked up by
//! the key its item holds) is made final (`dnc`) with its final record, never queued. A leased
//! contact whose number is at its frequency cap (`outbound_core::frequency_cap`), or outside its
//! recipient's calling window (`outbound_core::calling_window`), is not queued: it goes back to
//! the ledger as due when the rule allows it (`defer`), and its room goes to the next contact in
//! line.
//!
//! While the stop switch is off, get-config runs only [`Feeder::tidy`]: owed final records are
//! written and ended campaigns closed (their results complete while dialing is stopped), and
//! nothing is leased or queued.
//!
//! SQS is only the buffer: a message lost anywhere costs a lease expiry, never a contact.

use chrono::{DateTime, Duration, Utc};
use futures::stream::{self, TryStreamExt};
use outbound_core::calling_window::{CallingWindow, WindowVerdict, DEFERRAL_RULE};
use outbound_core::completion::{reconcile_orphan, Ledger};
use outbound_core::error::FunctionError;
use outbound_core::frequency_cap::{self, FrequencyCap};
use outbound_core::intake::sender::{Outgoing, QueueSender};
use outbound_core::intake::RetryPolicy;
use outbound_core::ledger::finisher::{write_owed_final, Finisher};
use outbound_core::ledger::ops::{
    close_due, defer, expire_leases, extend_attempt, get_items, lease_due, overdue_attempts,
    suppress, unrecorded_finals, UPDATE_CONCURRENCY,
};
use outbound_core::ledger::schedule::{self, Phase};
use outbound_core::ledger::{
    campaigns, recover, AttemptId, FinalReason, LedgerContact, Recovery, MAX_BATCH,
};
use outbound_core::records::Outcome;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Overdue attempts one wave recovers per campaign (the rest wait for the next wave).
const OVERDUE_PER_WAVE: usize = 100;

/// Owed final records one wave writes per campaign (`ledger::ops::unrecorded_finals`; the rest
/// at the next wave).
const OWED_RECORDS_PER_WAVE: usize = 100;

/// Rounds of sharing a wave's room: a campaign with fewer due contacts than its share leaves its
/// rest to the others in the next round. Bounded, as each round costs a query per campaign.
const FAIR_SHARE_ROUNDS: usize = 3;

/// Contacts of ended campaigns one feeding closes at most, over all of them (the rest at the
/// next feeding). Each costs one conditional write and one final record (an S3 put), 16 at a
/// time: about a second or two for a thousand, well inside get-config's 30-second timeout with
/// the feeding itself, and the wave is not held back long. A run goes on feeding while an ended
/// campaign still has due contacts (get-contacts reports them due at once), so a large campaign
/// closes at a thousand a wave rather than one sweep at a time.
pub const CLOSE_PER_FEEDING: usize = 1000;

/// One campaign's part of a feeding.
struct CampaignWork {
    campaign: String,
    stamp: i64,
    /// Where the campaign stands against its schedule (`Open` without one).
    phase: Phase,
    /// Due contacts closed because the campaign ended.
    closed: u64,
    /// Leases expired, overdue attempts or owed final records dealt with: the campaign had work.
    recovered_any: bool,
    leased: u64,
}

impl CampaignWork {
    /// A campaign's part of a feeding before anything is closed or leased: where it stands
    /// against its schedule (`Open` without one) at `now`.
    fn new(
        campaign: &str,
        stamp: i64,
        schedules: &HashMap<String, schedule::CampaignSchedule>,
        now: DateTime<Utc>,
        recovered_any: bool,
    ) -> Self {
        CampaignWork {
            campaign: campaign.to_string(),
            stamp,
            phase: schedules
                .get(campaign)
                .map_or(Phase::Open, |s| s.phase(now)),
            closed: 0,
            recovered_any,
            leased: 0,
        }
    }
}

/// The order campaigns are offered the room in: every campaign in turn, starting from one that
/// changes every minute, so that when the room is smaller than the number of campaigns the
/// same campaign is not always the one left out.
fn fair_order(campaigns: usize, now: DateTime<Utc>) -> Vec<usize> {
    if campaigns == 0 {
        return Vec::new();
    }
    let first = (now.timestamp().div_euclid(60) as usize) % campaigns;
    (0..campaigns).map(|i| (first + i) % campaigns).collect()
}

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
    /// The recipients' calling window (`CALLING_WINDOW`); `None`: disabled.
    pub window: Option<CallingWindow>,
    /// Calls per number per period (`FREQUENCY_CAP`); `None`: off.
    pub cap: Option<FrequencyCap>,
    /// Contacts of ended campaigns closed per feeding at most ([`CLOSE_PER_FEEDING`]).
    pub close_per_feeding: usize,
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
    /// Leased contacts outside their calling window, due again at its next opening.
    pub deferred: u64,
    /// Leased contacts on the do-not-call list, made final (`dnc`) without a call.
    pub suppressed: u64,
    /// Due contacts of campaigns whose schedule ended, made final (`campaign_ended`) without a
    /// call.
    pub closed: u64,
    /// Final records written for contacts made final without a call whose writer did not
    /// confirm its record in time (`ledger::ops::unrecorded_finals`).
    pub recorded: u64,
}

impl Feeder {
    /// The do-not-call keys of `leased` that are on the list, and those at their frequency cap
    /// with when each may be called again: one `BatchGetItem` per hundred items for both rules
    /// (each contact's `DNC#<key>` and, with a cap, its `CAP#<key>`).
    async fn listed_and_capped(
        &self,
        leased: &[LedgerContact],
        now: DateTime<Utc>,
    ) -> Result<(HashSet<String>, HashMap<String, DateTime<Utc>>), FunctionError> {
        let keys: Vec<&str> = leased.iter().filter_map(|i| i.dnc_key.as_deref()).collect();
        if keys.is_empty() {
            return Ok((HashSet::new(), HashMap::new()));
        }
        let mut pks: Vec<String> = keys.iter().map(|k| outbound_core::dnc::dnc_pk(k)).collect();
        if self.cap.is_some() {
            pks.extend(keys.iter().map(|k| frequency_cap::cap_pk(k)));
        }
        let items = get_items(&self.attempts.ledger, &pks, "calling rules").await?;
        let capped = match &self.cap {
            Some(cap) => frequency_cap::capped_in(cap, &items, now),
            None => HashMap::new(),
        };
        Ok((outbound_core::dnc::listed_in(&items), capped))
    }

    /// Makes a listed contact final (`dnc`) and writes its final record.
    async fn suppress_listed(
        &self,
        item: &LedgerContact,
        now: DateTime<Utc>,
    ) -> Result<(), FunctionError> {
        let suppressed = suppress(
            &self.attempts.ledger,
            &item.campaign,
            &item.contact_key,
            item.attempt,
            FinalReason::DoNotCall,
            now,
        )
        .await?;
        if let Some(item) = suppressed {
            write_owed_final(&self.results, &self.attempts.ledger, &item).await?;
        }
        Ok(())
    }

    /// Defers a leased contact outside its calling window to the window's next opening; `true`
    /// when it did (or the contact moved on meanwhile: not to be queued either way).
    async fn defer_outside_window(
        &self,
        item: &LedgerContact,
        now: DateTime<Utc>,
    ) -> Result<bool, FunctionError> {
        let Some(window) = &self.window else {
            return Ok(false);
        };
        let verdict = window.verdict(&item.phone, &item.attributes, now);
        let Some(until) = verdict.deferred_until() else {
            return Ok(false);
        };
        if let WindowVerdict::NoCommonOpening { .. } = verdict {
            tracing::warn!(campaign = %item.campaign, contact_key = %item.contact_key, "the recipient's time zones share no open moment of the calling window within a week; looked at again in a day");
        }
        defer(
            &self.attempts.ledger,
            &item.campaign,
            &item.contact_key,
            item.attempt,
            until,
            DEFERRAL_RULE,
        )
        .await?;
        Ok(true)
    }

    /// Closes up to `limit` due contacts of an ended campaign (final `campaign_ended`, with
    /// their final records); how many it closed.
    async fn close_ended(
        &self,
        campaign: &str,
        limit: usize,
        now: DateTime<Utc>,
    ) -> Result<u64, FunctionError> {
        let batch = close_due(
            &self.attempts.ledger,
            campaign,
            FinalReason::CampaignEnded,
            now,
            limit,
        )
        .await?;
        stream::iter(batch.closed.iter().map(Ok))
            .try_for_each_concurrent(UPDATE_CONCURRENCY, |item| {
                write_owed_final(&self.results, &self.attempts.ledger, item)
            })
            .await?;
        Ok(batch.closed.len() as u64)
    }

    /// Writes the final records `campaign` still owes past their grace (a suppression or a
    /// close whose writer died, or whose S3 put failed): the same object whoever writes it. How
    /// many it wrote.
    async fn write_owed_records(
        &self,
        campaign: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, FunctionError> {
        let ledger = &self.attempts.ledger;
        let owed = unrecorded_finals(ledger, campaign, now, OWED_RECORDS_PER_WAVE).await?;
        stream::iter(owed.iter().map(Ok))
            .try_for_each_concurrent(UPDATE_CONCURRENCY, |item| {
                write_owed_final(&self.results, ledger, item)
            })
            .await?;
        Ok(owed.len() as u64)
    }

    /// Closes the due contacts of the ended campaigns of `work`, [`Feeder::close_per_feeding`]
    /// at most over all of them; how many it closed.
    async fn close_ended_campaigns(
        &self,
        work: &mut [CampaignWork],
        now: DateTime<Utc>,
    ) -> Result<u64, FunctionError> {
        let mut close_left = self.close_per_feeding;
        let mut closed = 0;
        for w in work.iter_mut() {
            let Phase::Ended { at } = w.phase else {
                continue;
            };
            if close_left == 0 {
                break;
            }
            w.closed = self.close_ended(&w.campaign, close_left, now).await?;
            close_left = close_left.saturating_sub(w.closed as usize);
            closed += w.closed;
            if w.closed > 0 {
                tracing::info!(campaign = %w.campaign, closed = w.closed, ended_at = %at.to_rfc3339(), "the campaign's schedule ended; its due contacts are final as campaign_ended");
            }
        }
        Ok(closed)
    }

    /// What a feeding does that needs no lanes, for when the stop switch is off: final records
    /// still owed are written and ended campaigns are closed, so their results are complete
    /// while dialing is stopped. Nothing is leased, queued, expired or recovered.
    pub async fn tidy(&self, now: DateTime<Utc>) -> Result<FeedReport, FunctionError> {
        let ledger = &self.attempts.ledger;
        let active = campaigns::active(ledger).await?;
        let ids: Vec<&str> = active.keys().map(String::as_str).collect();
        let schedules = schedule::read_many(ledger, &ids).await?;
        let mut report = FeedReport::default();
        let mut work: Vec<CampaignWork> = Vec::with_capacity(active.len());
        for (campaign, stamp) in &active {
            report.recorded += self.write_owed_records(campaign, now).await?;
            work.push(CampaignWork::new(campaign, *stamp, &schedules, now, false));
        }
        report.closed = self.close_ended_campaigns(&mut work, now).await?;
        report.campaigns = work.len() as u64;
        tracing::info!(
            closed = report.closed,
            recorded = report.recorded,
            campaigns = report.campaigns,
            "campaign ledger tidied while the stop switch is off"
        );
        Ok(report)
    }

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
        let ids: Vec<&str> = active.keys().map(String::as_str).collect();
        let schedules = schedule::read_many(&self.attempts.ledger, &ids).await?;
        let mut sender =
            QueueSender::new(self.sqs.clone(), &self.queue_url).with_policy(RetryPolicy::DEFAULT);
        let ledger = &self.attempts.ledger;
        // 1-2: what dead runs left behind comes first, in every campaign.
        let mut work: Vec<CampaignWork> = Vec::with_capacity(active.len());
        for (campaign, stamp) in &active {
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
            let owed = self.write_owed_records(campaign, now).await?;
            report.recorded += owed;
            let recovered_any = !expired.expired.is_empty() || !overdue.is_empty() || owed > 0;
            work.push(CampaignWork::new(
                campaign,
                *stamp,
                &schedules,
                now,
                recovered_any,
            ));
        }
        // An ended campaign's due contacts are closed, whatever their time: no room taken.
        report.closed += self.close_ended_campaigns(&mut work, now).await?;
        // 3: the room is shared between the open campaigns with due contacts (one not started
        // yet leases nothing).
        let mut wanting: Vec<usize> = fair_order(work.len(), now)
            .into_iter()
            .filter(|&i| work[i].phase == Phase::Open)
            .collect();
        for _ in 0..FAIR_SHARE_ROUNDS {
            if room == 0 || wanting.is_empty() {
                break;
            }
            let share = (room / wanting.len() as u64).max(1);
            let mut still_wanting = Vec::with_capacity(wanting.len());
            for index in wanting {
                if room == 0 {
                    break;
                }
                let ask = share.min(room);
                let w = &mut work[index];
                let batch = lease_due(
                    ledger,
                    &w.campaign,
                    now,
                    ask as usize,
                    now + self.lease,
                    run_id,
                )
                .await?;
                let mut queued = 0u64;
                // Suppressed or deferred: leased but not queued.
                let mut held_back = 0u64;
                let (listed, capped) = self.listed_and_capped(&batch.leased, now).await?;
                for item in &batch.leased {
                    if item.dnc_key.as_ref().is_some_and(|k| listed.contains(k)) {
                        self.suppress_listed(item, now).await?;
                        report.suppressed += 1;
                        held_back += 1;
                        continue;
                    }
                    if let Some(until) = item.dnc_key.as_ref().and_then(|k| capped.get(k)) {
                        defer(
                            ledger,
                            &item.campaign,
                            &item.contact_key,
                            item.attempt,
                            *until,
                            frequency_cap::DEFERRAL_RULE,
                        )
                        .await?;
                        report.deferred += 1;
                        held_back += 1;
                        continue;
                    }
                    if self.defer_outside_window(item, now).await? {
                        report.deferred += 1;
                        held_back += 1;
                        continue;
                    }
                    if sender
                        .push(Outgoing::new(&item.to_contact(), None))
                        .await
                        .is_err()
                    {
                        // The rest stay leased and come back when their leases run out.
                        break;
                    }
                    queued += 1;
                }
                let leased = batch.leased.len() as u64;
                w.leased += leased;
                // A suppressed or deferred contact takes no room: the next in line gets it.
                room = room.saturating_sub(leased - held_back);
                report.fed += queued;
                if leased == ask {
                    still_wanting.push(index);
                }
            }
            wanting = still_wanting;
        }
        // 4: a campaign with nothing to do leaves the list.
        for w in &work {
            // A campaign not started yet keeps its due contacts, so retire_if_done keeps it.
            let quiet = w.leased == 0 && w.closed == 0 && !w.recovered_any;
            if quiet && campaigns::retire_if_done(ledger, &w.campaign, w.stamp, now).await? {
                tracing::info!(campaign = %w.campaign, "campaign has no contact left to dial");
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
            deferred = report.deferred,
            suppressed = report.suppressed,
            closed = report.closed,
            recorded = report.recorded,
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

#[cfg(test)]
mod tests {
    use super::fair_order;
    use chrono::{TimeZone, Utc};

    #[test]
    fn every_campaign_is_offered_the_room_once_from_a_start_that_turns_every_minute() {
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        assert_eq!(fair_order(0, t), Vec::<usize>::new());
        assert_eq!(fair_order(1, t), vec![0]);
        let firsts: Vec<usize> = (0..3)
            .map(|m| fair_order(3, t + chrono::Duration::minutes(m))[0])
            .collect();
        let mut sorted = firsts.clone();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            vec![0, 1, 2],
            "each campaign goes first in turn: {firsts:?}"
        );
        for m in 0..5 {
            let mut order = fair_order(3, t + chrono::Duration::minutes(m));
            order.sort_unstable();
            assert_eq!(order, vec![0, 1, 2]);
        }
        assert_eq!(
            fair_order(3, t + chrono::Duration::seconds(59)),
            fair_order(3, t),
            "the same within a minute"
        );
    }
}
