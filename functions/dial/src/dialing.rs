//! `dial`: a lane's single per-contact task (`.waitForTaskToken`).
//!
//! One invocation takes the lane state and the task token, and either places one call and
//! records it (the lane then waits for the call's end, see [`outbound_core::completion`]), or ends the
//! lane with one of the documented error names:
//!
//! 0. a lane's first dial of its wave is admitted to the lane's slot
//!    ([`crate::lane_handover`]); while the previous wave's lane is still on its last call, the
//!    task is parked there (`parked`, nothing taken) and woken when that lane ends. Every
//!    lane-ending error below hands the slot over to the next wave's lane;
//! 1. `calls >= budget` → `LaneBudgetExhausted`;
//! 2. `activeBlaster` (read from SSM on every invocation) is `False` → `CampaignStopped`;
//! 3. the Connect queue is disabled or outside its hours → `QueueClosed` (no message taken);
//! 4. the wave's shared call budget ([`crate::wave_budget`]) is spent → `LaneBudgetExhausted`
//!    (no message taken); the dial that takes its last call starts the next wave
//!    ([`crate::next_wave`]);
//! 5. one message from SQS (long poll): none → `QueueEmpty`; a receive error is `Retryable` or
//!    `Throttled`, never "empty";
//! 6. a malformed message is rejected (reject record), deleted, and the next one taken;
//! 7. a contact outside its recipient's calling window (`outbound_core::calling_window`: its
//!    window may have closed while it waited in the queue) goes back to the ledger as due at
//!    the window's next opening, its message deleted, and the next one is taken;
//! 8. the attempt begins in the campaign ledger (`leased` → `dialing`, conditional on the
//!    message's attempt): the `ClientToken` is the attempt's, never the run's. Before the call,
//!    the calling rules that need the ledger item, in this order: a number on the do-not-call
//!    list is made final, `dnc` (`outbound_core::dnc`); a contact of a campaign whose schedule
//!    ended is made final, `campaign_ended`, and one of a campaign not started yet goes back to
//!    the ledger as due at its start (`outbound_core::ledger::schedule`, each campaign's
//!    schedule read once per invocation); a number at its frequency cap goes back to the
//!    ledger as due when its cap allows (`outbound_core::frequency_cap`, which records the call
//!    otherwise); all without a call and the attempt not counted. A message whose
//!    contact moved on (final, due again, a later attempt) is deleted; one whose attempt is
//!    already dialing is recovered (`ledger::recover`): a call already placed is never placed
//!    again, a placement of unknown outcome is placed again with the same token while Connect
//!    keeps it, and finished as `failed` beyond;
//!    a number no longer allowed is made final (`rejected`) with a reject record;
//! 9. the shared calls-per-second limit ([`crate::rate_limit`]);
//! 10. `StartOutboundVoiceContact`, with backoff on throttling; still throttled → message
//!     visible again, `Throttled`; 5xx → visible again, `Retryable`; a destination or parameter
//!     Connect rejects → `error` result record, message deleted, next contact (the lane goes on);
//! 11. the contact id into the ledger's attempt (from now on it is only reconciled), `LANE#`
//!     pointer, `CONTACT#` (token side of the race, lane state with `calls + 1`), and only then
//!     the message is deleted; if the disconnect was already recorded, this invocation completes
//!     the contact itself (which ends the attempt in the ledger).
//!
//! An invocation that only met duplicates and rejects (at most `max_messages` of them) sends
//! its own token back with the lane state unchanged, so the lane goes round again without
//! counting a call (the wave's budget counts it: its task is in the history all the same).

use crate::lane_handover::{self, Admission};
use crate::next_wave;
use crate::rate_limit::{self, RateLimit};
use crate::wave_budget::{self, Take};
use aws_sdk_sqs::types::Message;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::Utc;
use outbound_core::calling_window::{CallingWindow, DEFERRAL_RULE};
use outbound_core::completion::{
    self, put_reject_record, put_result_record, rfc3339, sdk_code, Ledger, PlacedCall,
    TokenRecorded,
};
use outbound_core::contact::{fallback_client_token, Contact, ContactSource};
use outbound_core::destinations::DestinationRules;
use outbound_core::error::{classify_sdk_error, is_throttling_code, ErrorName, FunctionError};
use outbound_core::frequency_cap::{self, CapVerdict, FrequencyCap};
use outbound_core::hours::{evaluate_queue, StatusCache};
use outbound_core::ledger::finisher::write_owed_final;
use outbound_core::ledger::schedule::{self, CampaignSchedule, Phase};
use outbound_core::ledger::{
    begin_attempt, defer, defer_held, record_placed, recover, suppress_held, AttemptBegun,
    AttemptId, FinalReason, Finisher, Held, LedgerContact, Recovery,
};
use outbound_core::mask::mask_phone;
use outbound_core::records::{LaneState, Outcome, RejectRecord, ResultRecord};
use outbound_core::routing_cache::{RoutingCache, RoutingSource};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

/// Chooses the caller ID (`SourcePhoneNumber`) for a destination; `None` lets Connect use the
/// queue's outbound number.
pub trait SourceNumberChooser: Send + Sync {
    fn choose(&self, destination: &str) -> impl Future<Output = Option<String>> + Send;
}

/// No routing file configured: always the queue's number.
#[derive(Debug, Clone, Copy, Default)]
pub struct QueueNumber;

impl SourceNumberChooser for QueueNumber {
    async fn choose(&self, _destination: &str) -> Option<String> {
        None
    }
}

/// The caller-id routing file, the same file and rules as `caller-id`. The cache never fails:
/// when the file is unusable the decision falls back to the queue's number (and the cache logs
/// why, once).
impl<S: RoutingSource> SourceNumberChooser for RoutingCache<S> {
    async fn choose(&self, destination: &str) -> Option<String> {
        let view = self.current().await;
        let decision = view.route(destination);
        decision.source_number().map(str::to_string)
    }
}

impl<C: SourceNumberChooser> SourceNumberChooser for Option<C> {
    async fn choose(&self, destination: &str) -> Option<String> {
        match self {
            Some(chooser) => chooser.choose(destination).await,
            None => None,
        }
    }
}

/// Settings read once from the environment.
#[derive(Debug, Clone)]
pub struct DialSettings {
    /// `SSM_PREFIX`, ends with `/`.
    pub ssm_prefix: String,
    /// `QUEUE_URL`.
    pub queue_url: String,
    /// `RECEIVE_WAIT_SECONDS` (long poll, 0–20).
    pub receive_wait_seconds: i32,
    /// Messages one invocation may take without placing a call (duplicates, rejects).
    pub max_messages: usize,
    /// `StartOutboundVoiceContact` attempts while throttled.
    pub throttle_attempts: u32,
    /// First backoff after a throttled attempt; doubles each time.
    pub throttle_backoff: Duration,
    /// Longest wait for a free slot of the calls-per-second limit.
    pub rate_max_wait: Duration,
    /// The destinations that may be dialed (`ALLOWED_COUNTRIES`): checked again here for
    /// messages that reached the queue without the intake's check.
    pub destinations: DestinationRules,
    /// The recipients' calling window (`CALLING_WINDOW`), checked again just before the call:
    /// a contact may have waited in the queue while its window closed. `None`: disabled.
    pub window: Option<CallingWindow>,
    /// Calls per number per period (`FREQUENCY_CAP`), recorded just before each call across
    /// every campaign. `None`: off.
    pub cap: Option<FrequencyCap>,
    /// `ANSWERING_MACHINE_DETECTION`: `None` when off (the default); when on, every call asks
    /// Connect to detect answering machines (campaign traffic).
    pub answering_machine_detection: Option<crate::amd::AnsweringMachineDetection>,
    /// `STATE_MACHINE_ARN`: the dialer's state machine, whose next wave the dial that takes a
    /// wave's last call starts ([`crate::next_wave`]). `None`: the next wave starts when this
    /// one ends.
    pub state_machine_arn: Option<String>,
}

impl DialSettings {
    pub fn new(
        ssm_prefix: String,
        queue_url: String,
        receive_wait_seconds: i32,
        destinations: DestinationRules,
    ) -> Self {
        Self {
            ssm_prefix,
            queue_url,
            receive_wait_seconds,
            destinations,
            max_messages: 25,
            throttle_attempts: 4,
            throttle_backoff: Duration::from_millis(250),
            rate_max_wait: Duration::from_secs(20),
            window: None,
            cap: None,
            state_machine_arn: None,
            answering_machine_detection: None,
        }
    }
}

/// What `dial` answers (`.waitForTaskToken` ignores it; it is for logs and tests).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DialOutput {
    /// `placed`, `completed` (the call ended before this invocation finished and the lane was
    /// woken), `skipped` (no call: only duplicates or rejects; the lane was woken unchanged) or
    /// `parked` (the previous wave's lane is still on its last call; it wakes this one).
    pub status: &'static str,
    #[serde(rename = "contactId", skip_serializing_if = "Option::is_none")]
    pub contact_id: Option<String>,
}

#[derive(Deserialize)]
struct DialInput {
    #[serde(rename = "taskToken")]
    task_token: String,
    #[serde(flatten)]
    lane: LaneState,
}

/// Configuration read from SSM on every invocation (the stop switch must be current).
#[derive(Debug, Clone, PartialEq)]
struct DialConfig {
    active: bool,
    instance_id: String,
    contact_flow_id: String,
    queue_id: String,
    rate: RateLimit,
}

/// The `dial` handler with its clients, built once per process.
pub struct Dialer<C> {
    pub ssm: aws_sdk_ssm::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub connect: aws_sdk_connect::Client,
    pub sfn: aws_sdk_sfn::Client,
    /// The ActiveDialing table and the results bucket (the completion race).
    pub ledger: Ledger,
    /// The campaign ledger, where each attempt begins and, when dial learns its end, ends.
    pub attempts: Finisher,
    pub status: StatusCache,
    pub chooser: C,
    pub settings: DialSettings,
}

enum Step {
    Next,
    Done(DialOutput),
}

/// The schedules of the campaigns met in one invocation, each read once (`None`: it has none).
type Schedules = HashMap<String, Option<CampaignSchedule>>;

/// How long past the lane's own wait an attempt stays `dialing` before whoever finds it
/// overdue recovers it (the lane's reconcile path normally ends it first).
const ATTEMPT_SLACK: chrono::Duration = chrono::Duration::minutes(5);

enum Placement {
    Placed(String),
    /// Connect refused this contact (invalid destination or parameters): the error code.
    Refused(String),
    /// Connect refused the request as configured (instance, flow, queue or caller ID not
    /// allowed): the error code. Without a routed caller ID to drop, every contact would fail.
    RefusedConfig(String),
}

/// What [`Dialer::place_with_fallback`] did.
struct Placed {
    placement: Placement,
    /// The caller ID the call went out with; `None`: the queue's own.
    caller_id: Option<String>,
    /// The routed caller ID Connect refused, when the call went out with the queue's number.
    refused_caller_id: Option<String>,
}

/// Whether dial failing with `name` ends the lane (the state machine retries only `Retryable`
/// and `Throttled`): the lane's slot then goes to the next wave's lane.
fn ends_lane(name: ErrorName) -> bool {
    !matches!(name, ErrorName::Retryable | ErrorName::Throttled)
}

/// A serde error without the offending value (it may be a phone number or a token).
fn serde_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    if text.starts_with("missing field") || text.starts_with("unknown field") {
        text.split(" at line").next().unwrap_or(&text).to_string()
    } else {
        format!(
            "{:?} error at line {} column {}",
            e.classify(),
            e.line(),
            e.column()
        )
    }
}

/// `+` and 7 to 15 digits: what Connect can dial. The intake validated the number properly;
/// this only keeps a damaged message from reaching Connect.
fn plausible_e164(phone: &str) -> bool {
    let Some(digits) = phone.strip_prefix('+') else {
        return false;
    };
    (7..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Parses and checks a message body; `Err` carries the campaign (if readable) and the reason.
fn parse_contact(body: &str) -> Result<Contact, (String, String)> {
    let contact: Contact = serde_json::from_str(body).map_err(|e| {
        let campaign = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| {
                v.get("campaign")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "unknown".to_string());
        (
            campaign,
            format!("malformed contact message: {}", serde_problem(&e)),
        )
    })?;
    let campaign = if contact.campaign.trim().is_empty() {
        "unknown".to_string()
    } else {
        contact.campaign.clone()
    };
    if contact.campaign.trim().is_empty() {
        return Err((campaign, "contact message without campaign".into()));
    }
    if contact.key.trim().is_empty() {
        return Err((campaign, "contact message without key".into()));
    }
    if !plausible_e164(&contact.phone) {
        return Err((campaign, "phone is not an E.164 number".into()));
    }
    if contact.attempt == 0 {
        return Err((campaign, "attempt must be at least 1".into()));
    }
    Ok(contact)
}

fn source_json(source: &ContactSource) -> Value {
    serde_json::to_value(source).unwrap_or(Value::Null)
}

impl<C: SourceNumberChooser> Dialer<C> {
    /// Handles one invocation (the Map iteration's lane state plus `taskToken`).
    pub async fn handle(&self, event: Value) -> Result<DialOutput, FunctionError> {
        let input: DialInput = serde_json::from_value(event).map_err(|e| {
            FunctionError::invalid_input(format!("dial input: {}", serde_problem(&e)))
        })?;
        if input.task_token.trim().is_empty() {
            return Err(FunctionError::invalid_input("dial input: empty taskToken"));
        }
        let lane = &input.lane;
        let handover = lane_handover::applies(lane);
        if handover && lane.calls == 0 {
            // The lane's first dial of its wave: the previous wave's lane may still be on its
            // last call.
            let state = serde_json::to_string(lane)
                .map_err(|e| FunctionError::invalid_input(format!("lane state: {e}")))?;
            let admission = lane_handover::admit(
                &self.ledger.dynamodb,
                &self.ledger.table_name,
                lane,
                &input.task_token,
                &state,
                Utc::now(),
            )
            .await?;
            if admission == Admission::Parked {
                return Ok(DialOutput {
                    status: "parked",
                    contact_id: None,
                });
            }
        }
        let result = self.dial_lane(&input).await;
        if let Err(e) = &result {
            if handover && ends_lane(e.name) {
                lane_handover::end(
                    &self.ledger.dynamodb,
                    &self.sfn,
                    &self.ledger.table_name,
                    lane,
                )
                .await?;
            }
        }
        result
    }

    /// The lane's dial proper, once it holds its slot.
    async fn dial_lane(&self, input: &DialInput) -> Result<DialOutput, FunctionError> {
        let lane = &input.lane;
        if lane.calls >= lane.budget {
            return Err(FunctionError::new(
                ErrorName::LaneBudgetExhausted,
                format!(
                    "lane {} placed {} of {} calls",
                    lane.lane, lane.calls, lane.budget
                ),
            ));
        }
        let config = self.read_config().await?;
        if !config.active {
            return Err(FunctionError::new(
                ErrorName::CampaignStopped,
                "activeBlaster is False",
            ));
        }
        let now = Utc::now();
        let snapshot = self
            .status
            .snapshot(&self.connect, &config.instance_id, &config.queue_id, now)
            .await?;
        let verdict = evaluate_queue(&snapshot, now);
        if !verdict.open {
            let next = verdict
                .next_opening
                .map(|t| format!("; next opening {}", rfc3339(t)))
                .unwrap_or_default();
            return Err(FunctionError::new(
                ErrorName::QueueClosed,
                format!(
                    "queue {} ({}){next}",
                    verdict.reason.as_str(),
                    verdict.status
                ),
            ));
        }
        let take =
            wave_budget::take_call(&self.ledger.dynamodb, &self.ledger.table_name, lane).await?;
        if take == (Take::Taken { last: true })
            && lane_handover::applies(lane)
            && lane_handover::holds(&self.ledger.dynamodb, &self.ledger.table_name, lane).await
        {
            next_wave::start(&self.sfn, self.settings.state_machine_arn.as_deref(), lane).await;
        }
        if take == Take::Spent {
            return Err(FunctionError::new(
                ErrorName::LaneBudgetExhausted,
                format!(
                    "wave {} of run {} placed its {} calls (lane {} placed {})",
                    lane.wave, lane.run_id, lane.wave_budget, lane.lane, lane.calls
                ),
            ));
        }
        let mut schedules = Schedules::new();
        for _ in 0..self.settings.max_messages.max(1) {
            let Some(message) = self.receive().await? else {
                return Err(FunctionError::new(
                    ErrorName::QueueEmpty,
                    "no contact in the queue",
                ));
            };
            match self
                .dial_message(input, &config, message, &mut schedules)
                .await?
            {
                Step::Next => continue,
                Step::Done(output) => return Ok(output),
            }
        }
        // Only duplicates and rejects so far: wake the lane with its state unchanged so it
        // comes straight back for the next message, without counting a call.
        let state = serde_json::to_string(lane)
            .map_err(|e| FunctionError::invalid_input(format!("lane state: {e}")))?;
        completion::send_task_success(&self.sfn, &input.task_token, &state).await?;
        Ok(DialOutput {
            status: "skipped",
            contact_id: None,
        })
    }

    async fn read_config(&self) -> Result<DialConfig, FunctionError> {
        let values = outbound_core::config::get_parameters(
            &self.ssm,
            &self.settings.ssm_prefix,
            &[
                "activeBlaster",
                "connectid",
                "contactflow",
                "queue",
                "callspersecond",
            ],
        )
        .await?;
        let active = match values["activeBlaster"].to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            other => {
                return Err(FunctionError::config(format!(
                    "activeBlaster must be True or False, not '{other}'"
                )))
            }
        };
        Ok(DialConfig {
            active,
            instance_id: values["connectid"].clone(),
            contact_flow_id: values["contactflow"].clone(),
            queue_id: values["queue"].clone(),
            rate: RateLimit::parse(&values["callspersecond"])?,
        })
    }

    async fn receive(&self) -> Result<Option<Message>, FunctionError> {
        let out = self
            .sqs
            .receive_message()
            .queue_url(&self.settings.queue_url)
            .max_number_of_messages(1)
            .wait_time_seconds(self.settings.receive_wait_seconds)
            .send()
            .await
            .map_err(|e| {
                // Whatever went wrong, it is not "the list is over".
                let name = match classify_sdk_error(&e) {
                    ErrorName::Throttled => ErrorName::Throttled,
                    _ => ErrorName::Retryable,
                };
                FunctionError::new(name, format!("SQS ReceiveMessage failed: {}", sdk_code(&e)))
            })?;
        Ok(out.messages().first().cloned())
    }

    async fn delete(&self, receipt: &str, why: &str) {
        if let Err(e) = self
            .sqs
            .delete_message()
            .queue_url(&self.settings.queue_url)
            .receipt_handle(receipt)
            .send()
            .await
        {
            // The message comes back after its visibility timeout and meets its attempt in the
            // campaign ledger            // (or its reject again): nothing is dialed twice.
            tracing::warn!(error = %sdk_code(&e), why, "SQS DeleteMessage failed; the message will be redelivered");
        }
    }

    /// Makes the message visible again at once, for another lane or a later attempt.
    async fn release(&self, receipt: &str) {
        if let Err(e) = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.settings.queue_url)
            .receipt_handle(receipt)
            .visibility_timeout(0)
            .send()
            .await
        {
            tracing::warn!(error = %sdk_code(&e), "SQS ChangeMessageVisibility failed; the message returns after its visibility timeout");
        }
    }

    /// Defers a contact outside its recipient's calling window to the window's next opening;
    /// `true` when it did. A contact no longer leased for this attempt is left to
    /// `begin_attempt`, which says what became of it.
    async fn deferred_by_window(
        &self,
        contact: &Contact,
        now: chrono::DateTime<Utc>,
    ) -> Result<bool, FunctionError> {
        let Some(window) = &self.settings.window else {
            return Ok(false);
        };
        let Some(until) = window
            .verdict(&contact.phone, &contact.attributes, now)
            .deferred_until()
        else {
            return Ok(false);
        };
        let deferred = defer(
            &self.attempts.ledger,
            &contact.campaign,
            &contact.contact_key,
            contact.attempt,
            until,
            DEFERRAL_RULE,
        )
        .await?;
        if deferred.is_some() {
            tracing::info!(
                campaign = %contact.campaign,
                contact_key = %contact.contact_key,
                attempt = contact.attempt,
                due_at = %rfc3339(until),
                "outside the recipient's calling window; deferred to its next opening"
            );
        }
        Ok(deferred.is_some())
    }

    /// The calling rules that need the contact's ledger item, once its attempt has begun and
    /// before the call, in the deployment's order: `true` when one stopped the call (the contact
    /// was made final or given back to the line, the attempt not counted).
    ///
    /// - The do-not-call list: it may have gained the number since the feeder checked it (an
    ///   agent's "do not call" on another campaign's call): final `dnc`, with its final record.
    /// - The campaign's schedule: it may have ended (or been moved) while the contact waited in
    ///   the queue: ended, final `campaign_ended` with its final record; not started, due again
    ///   at the start.
    /// - The frequency cap: the call is recorded against the number unless the number is at its
    ///   cap; then the contact is due again when the cap allows.
    async fn stopped_by_rules(
        &self,
        item: &LedgerContact,
        attempt: &AttemptId,
        schedules: &mut Schedules,
        now: chrono::DateTime<Utc>,
    ) -> Result<bool, FunctionError> {
        let ledger = &self.attempts.ledger;
        // Contacts admitted before the intake stored keys have none: the list and the cap
        // cannot look them up (the schedule needs no key).
        let key = item.dnc_key.as_deref();
        if let Some(key) = key {
            if outbound_core::dnc::is_listed(ledger, key).await? {
                tracing::info!(campaign = %attempt.campaign, contact_key = %attempt.contact_key, attempt = attempt.attempt, "number on the do-not-call list; final as dnc without a call");
                self.suppress_unplaced(attempt, FinalReason::DoNotCall, now)
                    .await?;
                return Ok(true);
            }
        }
        if self.stopped_by_schedule(attempt, schedules, now).await? {
            return Ok(true);
        }
        let (Some(key), Some(cap)) = (key, &self.settings.cap) else {
            return Ok(false);
        };
        let token = attempt.client_token();
        match frequency_cap::record_call(ledger, cap, key, &token, now).await? {
            CapVerdict::Allowed => Ok(false),
            CapVerdict::Capped { until } => {
                tracing::info!(campaign = %attempt.campaign, contact_key = %attempt.contact_key, attempt = attempt.attempt, due_at = %rfc3339(until), "number at its frequency cap; deferred until the cap allows a call");
                defer_held(
                    ledger,
                    &attempt.campaign,
                    &attempt.contact_key,
                    attempt.attempt,
                    until,
                    frequency_cap::DEFERRAL_RULE,
                    Held::UnplacedAttempt,
                )
                .await?;
                Ok(true)
            }
        }
    }

    /// Makes an attempt begun but not placed final with `reason`, and writes its final record.
    async fn suppress_unplaced(
        &self,
        attempt: &AttemptId,
        reason: FinalReason,
        now: chrono::DateTime<Utc>,
    ) -> Result<(), FunctionError> {
        let suppressed = suppress_held(
            &self.attempts.ledger,
            &attempt.campaign,
            &attempt.contact_key,
            attempt.attempt,
            reason,
            now,
            Held::UnplacedAttempt,
        )
        .await?;
        if let Some(item) = suppressed {
            write_owed_final(&self.ledger, &self.attempts.ledger, &item).await?;
        }
        Ok(())
    }

    /// The campaign's schedule, read on the first of its contacts this invocation meets.
    async fn campaign_schedule(
        &self,
        campaign: &str,
        schedules: &mut Schedules,
    ) -> Result<Option<CampaignSchedule>, FunctionError> {
        if let Some(known) = schedules.get(campaign) {
            return Ok(*known);
        }
        let read = schedule::read(&self.attempts.ledger, campaign)
            .await?
            .map(|stored| stored.schedule);
        schedules.insert(campaign.to_string(), read);
        Ok(read)
    }

    /// Stops the call of a campaign outside its schedule: ended, final `campaign_ended`; not
    /// started, due again at its start. `true` when it did.
    async fn stopped_by_schedule(
        &self,
        attempt: &AttemptId,
        schedules: &mut Schedules,
        now: chrono::DateTime<Utc>,
    ) -> Result<bool, FunctionError> {
        let Some(campaign_schedule) = self.campaign_schedule(&attempt.campaign, schedules).await?
        else {
            return Ok(false);
        };
        match campaign_schedule.phase(now) {
            Phase::Open => Ok(false),
            Phase::Ended { at } => {
                tracing::info!(campaign = %attempt.campaign, contact_key = %attempt.contact_key, attempt = attempt.attempt, ended_at = %rfc3339(at), "the campaign's schedule ended; final as campaign_ended without a call");
                self.suppress_unplaced(attempt, FinalReason::CampaignEnded, now)
                    .await?;
                Ok(true)
            }
            Phase::NotStarted { opens_at } => {
                tracing::info!(campaign = %attempt.campaign, contact_key = %attempt.contact_key, attempt = attempt.attempt, due_at = %rfc3339(opens_at), "the campaign has not started; deferred to its start");
                defer_held(
                    &self.attempts.ledger,
                    &attempt.campaign,
                    &attempt.contact_key,
                    attempt.attempt,
                    opens_at,
                    schedule::DEFERRAL_RULE,
                    Held::UnplacedAttempt,
                )
                .await?;
                Ok(true)
            }
        }
    }

    async fn dial_message(
        &self,
        input: &DialInput,
        config: &DialConfig,
        message: Message,
        schedules: &mut Schedules,
    ) -> Result<Step, FunctionError> {
        let lane = &input.lane;
        let Some(receipt) = message.receipt_handle() else {
            return Err(FunctionError::retryable(
                "SQS message without receipt handle",
            ));
        };
        let message_id = message.message_id().unwrap_or("unknown").to_string();
        let contact = match parse_contact(message.body().unwrap_or_default()) {
            Ok(contact) => contact,
            Err((campaign, reason)) => {
                tracing::warn!(message_id = %message_id, campaign = %campaign, reason = %reason, "contact message rejected");
                let record = RejectRecord {
                    line: 0,
                    reason,
                    customer_key: None,
                    phone_masked: None,
                    source: format!("sqs:{message_id}"),
                };
                put_reject_record(
                    &self.ledger,
                    &campaign,
                    &format!("dial-{message_id}"),
                    &record,
                )
                .await?;
                self.delete(receipt, "rejected").await;
                return Ok(Step::Next);
            }
        };
        let contact_key = contact.contact_key.clone();
        let attempt = AttemptId::new(&contact.campaign, &contact_key, contact.attempt);
        let now = Utc::now();
        if self.deferred_by_window(&contact, now).await? {
            self.delete(receipt, "deferred").await;
            return Ok(Step::Next);
        }
        let deadline =
            now + chrono::Duration::seconds(i64::from(lane.timeout_seconds)) + ATTEMPT_SLACK;
        let client_token = match begin_attempt(&self.attempts.ledger, &attempt, deadline, now)
            .await?
        {
            AttemptBegun::Begun(item) => {
                if self
                    .stopped_by_rules(&item, &attempt, schedules, now)
                    .await?
                {
                    self.delete(receipt, "calling rule").await;
                    return Ok(Step::Next);
                }
                attempt.client_token()
            }
            AttemptBegun::Stale(item) => {
                tracing::info!(
                    campaign = %attempt.campaign,
                    contact_key = %contact_key,
                    attempt = attempt.attempt,
                    state = item.as_ref().map(|i| i.state.as_str()).unwrap_or("absent"),
                    "the contact moved on since this message was queued; message deleted"
                );
                self.delete(receipt, "stale").await;
                return Ok(Step::Next);
            }
            AttemptBegun::AlreadyDialing(item) => match recover(&item, attempt.attempt, now) {
                Recovery::Replay { client_token } => {
                    tracing::info!(contact_key = %contact_key, attempt = attempt.attempt, "an earlier placement of this attempt did not finish; placing again with the same ClientToken");
                    client_token
                }
                Recovery::Reconcile { contact_id } => {
                    tracing::info!(contact_key = %contact_key, attempt = attempt.attempt, contact_id = %contact_id, "this attempt's call is placed already; message deleted");
                    self.delete(receipt, "duplicate").await;
                    return Ok(Step::Next);
                }
                Recovery::Abandon => {
                    tracing::warn!(contact_key = %contact_key, attempt = attempt.attempt, "a placement of unknown outcome is past Connect's token window; finished as failed");
                    self.attempts
                        .finish_attempt(&self.ledger, &attempt, Outcome::Failed, now)
                        .await?;
                    self.delete(receipt, "abandoned").await;
                    return Ok(Step::Next);
                }
                Recovery::NotDialing => {
                    self.delete(receipt, "stale").await;
                    return Ok(Step::Next);
                }
            },
        };
        let contact = match self.allowed_destination(contact) {
            Ok(contact) => contact,
            Err((campaign, reason)) => {
                tracing::warn!(message_id = %message_id, campaign = %campaign, contact_key = %contact_key, reason = %reason, "contact no longer allowed; final as rejected");
                let record = RejectRecord {
                    line: 0,
                    reason,
                    customer_key: None,
                    phone_masked: None,
                    source: format!("sqs:{message_id}"),
                };
                put_reject_record(
                    &self.ledger,
                    &campaign,
                    &format!("dial-{message_id}"),
                    &record,
                )
                .await?;
                self.attempts
                    .settle_final(&self.ledger, &attempt, FinalReason::Rejected, None, now)
                    .await?;
                self.delete(receipt, "rejected").await;
                return Ok(Step::Next);
            }
        };

        let source_number = self.chooser.choose(&contact.phone).await;
        if let Err(e) = rate_limit::acquire(
            &self.ledger.dynamodb,
            &self.ledger.table_name,
            config.rate,
            self.settings.rate_max_wait,
        )
        .await
        {
            self.release(receipt).await;
            return Err(e);
        }

        let placed = self
            .place_with_fallback(
                config,
                &contact,
                &contact_key,
                source_number.as_deref(),
                &client_token,
            )
            .await;
        let (source_number, refused_caller_id) = match &placed {
            Ok(p) => (p.caller_id.clone(), p.refused_caller_id.clone()),
            Err(_) => (source_number, None),
        };
        let contact_id = match placed.map(|p| p.placement) {
            Ok(Placement::Placed(id)) => id,
            Ok(Placement::RefusedConfig(code)) => {
                self.release(receipt).await;
                return Err(FunctionError::config(format!(
                    "StartOutboundVoiceContact refused the configuration: {code}"
                )));
            }
            Ok(Placement::Refused(code)) => {
                let now = Utc::now();
                tracing::warn!(
                    run_id = %lane.run_id,
                    lane = lane.lane,
                    contact_key = %contact_key,
                    phone = %mask_phone(&contact.phone),
                    error = %code,
                    "Connect refused the call; recorded as error"
                );
                let record = ResultRecord {
                    campaign: contact.campaign.clone(),
                    run_id: lane.run_id.clone(),
                    contact_key: contact_key.clone(),
                    customer_key: contact.key.clone(),
                    phone_masked: mask_phone(&contact.phone),
                    attempt: contact.attempt,
                    contact_id: None,
                    outcome: Outcome::Error,
                    disposition: None,
                    callback_at: None,
                    lane: Some(lane.lane),
                    caller_id: source_number.clone(),
                    caller_id_refused: refused_caller_id.clone(),
                    dialed_at: Some(rfc3339(now)),
                    disconnected_at: None,
                    completed_at: rfc3339(now),
                    source: source_json(&contact.source),
                };
                put_result_record(&self.ledger, &record).await?;
                self.attempts
                    .finish_attempt(&self.ledger, &attempt, Outcome::Error, now)
                    .await?;
                self.delete(receipt, "refused").await;
                return Ok(Step::Next);
            }
            Err(e) => {
                self.release(receipt).await;
                return Err(e);
            }
        };

        // The call is placed: the attempt names it first, so from now on it is only ever
        // reconciled, never placed again. If anything before this write fails, the message
        // comes back, meets the attempt dialing without a contact id and is placed again with
        // the same ClientToken, which Connect answers with this same contact.
        if let outbound_core::ledger::Placed::Refused(item) =
            record_placed(&self.attempts.ledger, &attempt, &contact_id).await?
        {
            // Another copy of this message placed and ended the attempt meanwhile (the same
            // token gave it this same contact): the call is that copy's, not this lane's.
            tracing::warn!(
                contact_key = %contact_key,
                attempt = attempt.attempt,
                contact_id = %contact_id,
                state = item.as_ref().map(|i| i.state.as_str()).unwrap_or("absent"),
                "the attempt moved on while its call was placed; not recorded for this lane"
            );
            self.delete(receipt, "duplicate").await;
            return Ok(Step::Next);
        }
        let now = Utc::now();
        let next_state = LaneState {
            calls: lane.calls + 1,
            ..lane.clone()
        };
        // The lane pointer goes first. Once the token is stored, a disconnect can complete the
        // contact and wake the lane, whose next dial writes the pointer for its next call while
        // this invocation may still be running: a pointer written after the token could land
        // last, point the lane back at this call and hide the next one from the reconcile path.
        completion::put_lane_pointer(&self.ledger, &next_state, &contact_id, now).await?;
        let recorded = completion::record_token(
            &self.ledger,
            &PlacedCall {
                contact_id: &contact_id,
                task_token: &input.task_token,
                next_state: &next_state,
                contact: &contact,
                contact_key: &contact_key,
                caller_id: source_number.as_deref(),
                refused_caller_id: refused_caller_id.as_deref(),
                dialed_at: now,
            },
        )
        .await?;
        self.delete(receipt, "placed").await;
        tracing::info!(
            run_id = %lane.run_id,
            lane = lane.lane,
            call = next_state.calls,
            contact_id = %contact_id,
            contact_key = %contact_key,
            phone = %mask_phone(&contact.phone),
            "call placed"
        );

        // Past this point the call is recorded: a failure to wake the lane now is not an error
        // of this invocation (the lane's timeout and the reconcile path finish the contact).
        let status = match recorded {
            TokenRecorded::Waiting => "placed",
            TokenRecorded::DisconnectSeen(item) => {
                match completion::complete(&self.ledger, &self.sfn, &item, Utc::now()).await {
                    Ok(_) => "completed",
                    Err(e) => {
                        tracing::warn!(contact_id = %contact_id, error = %e, "completion failed; the reconcile path will finish it");
                        "placed"
                    }
                }
            }
            TokenRecorded::AlreadyCompleted => {
                let state = serde_json::to_string(&next_state).unwrap_or_default();
                match completion::send_task_success(&self.sfn, &input.task_token, &state).await {
                    Ok(_) => "completed",
                    Err(e) => {
                        tracing::warn!(contact_id = %contact_id, error = %e, "could not wake the lane; the reconcile path will");
                        "placed"
                    }
                }
            }
        };
        Ok(Step::Done(DialOutput {
            status,
            contact_id: Some(contact_id),
        }))
    }

    /// The contact when its number may be dialed; otherwise its campaign and the reason, for a
    /// reject record (the message is then deleted without a call).
    fn allowed_destination(&self, contact: Contact) -> Result<Contact, (String, String)> {
        let refused = |reason: String| (contact.campaign.clone(), reason);
        let number = outbound_core::phone::normalise(&contact.phone, None)
            .map_err(|e| refused(format!("invalid phone: {e}")))?;
        self.settings.destinations.check(&number).map_err(refused)?;
        Ok(contact)
    }

    /// Places the call with the routed caller ID; when Connect refuses that request, places
    /// it once more with the queue's own number, so a caller ID that is not claimed or not
    /// allowed for the destination never costs the contact its call. The second request has
    /// its own ClientToken derived from the first (the refused request created no contact, and
    /// a retry of the fallback must be the same request). If the queue's number is refused
    /// too, the destination or the configuration was the problem: reported as before.
    async fn place_with_fallback(
        &self,
        config: &DialConfig,
        contact: &Contact,
        contact_key: &str,
        caller_id: Option<&str>,
        client_token: &str,
    ) -> Result<Placed, FunctionError> {
        let placement = self
            .place(config, contact, contact_key, caller_id, client_token)
            .await?;
        let Some(number) = caller_id else {
            return Ok(Placed {
                placement,
                caller_id: None,
                refused_caller_id: None,
            });
        };
        let code = match &placement {
            Placement::Refused(code) | Placement::RefusedConfig(code) => code.clone(),
            Placement::Placed(_) => {
                return Ok(Placed {
                    placement,
                    caller_id: Some(number.to_string()),
                    refused_caller_id: None,
                })
            }
        };
        // The alarm on refused caller IDs counts this line (modules/dialer, alarms.tf): keep
        // its message as it is. The caller ID is the business's number, not the customer's.
        tracing::warn!(
            caller_id = number,
            error = %code,
            phone = %mask_phone(&contact.phone),
            "caller ID refused; dialing with the queue's number"
        );
        let fallback_token = fallback_client_token(client_token);
        let placement = self
            .place(config, contact, contact_key, None, &fallback_token)
            .await?;
        let used_queue_number = matches!(placement, Placement::Placed(_));
        Ok(Placed {
            placement,
            caller_id: None,
            refused_caller_id: used_queue_number.then(|| number.to_string()),
        })
    }

    /// `StartOutboundVoiceContact` with backoff while throttled.
    async fn place(
        &self,
        config: &DialConfig,
        contact: &Contact,
        contact_key: &str,
        source_number: Option<&str>,
        client_token: &str,
    ) -> Result<Placement, FunctionError> {
        let mut attributes: HashMap<String, String> = contact
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        // The dialer's own keys win over list columns of the same name: the flows and the
        // disposition rely on them.
        attributes.insert("campaign".into(), contact.campaign.clone());
        attributes.insert("contactKey".into(), contact_key.to_string());
        attributes.insert("attempt".into(), contact.attempt.to_string());
        let attempts = self.settings.throttle_attempts.max(1);
        let mut backoff = self.settings.throttle_backoff;
        let amd = self.settings.answering_machine_detection.as_ref();
        for attempt in 1..=attempts {
            // Without detection the request leaves the three fields out: Connect's defaults
            // (`GENERAL` traffic, no detection) are what every call had before.
            let result = self
                .connect
                .start_outbound_voice_contact()
                .instance_id(&config.instance_id)
                .contact_flow_id(&config.contact_flow_id)
                .queue_id(&config.queue_id)
                .destination_phone_number(&contact.phone)
                .set_source_phone_number(source_number.map(str::to_string))
                .set_attributes(Some(attributes.clone()))
                .client_token(client_token)
                .set_answer_machine_detection_config(amd.map(|a| a.config()))
                .set_traffic_type(amd.map(|a| a.traffic_type()))
                .set_campaign_id(amd.and_then(|a| a.campaign_id.clone()))
                .send()
                .await;
            let err = match result {
                Ok(out) => {
                    return match out.contact_id() {
                        Some(id) if !id.is_empty() => Ok(Placement::Placed(id.to_string())),
                        _ => Err(FunctionError::retryable(
                            "StartOutboundVoiceContact returned no contact id",
                        )),
                    }
                }
                Err(e) => e,
            };
            let code = sdk_code(&err);
            match placement_failure(&err) {
                Failure::Throttled if attempt < attempts => {
                    // Full jitter from the clock's sub-second digits: lanes throttled together
                    // do not retry together.
                    let nanos = Utc::now().timestamp_subsec_nanos() as u64;
                    let wait = backoff / 2
                        + Duration::from_nanos(nanos % (backoff.as_nanos() as u64 / 2 + 1));
                    tracing::info!(attempt, error = %code, wait_ms = wait.as_millis() as u64, "StartOutboundVoiceContact throttled; backing off");
                    tokio::time::sleep(wait).await;
                    backoff *= 2;
                }
                Failure::Throttled => {
                    return Err(FunctionError::throttled(format!(
                        "StartOutboundVoiceContact throttled after {attempts} attempts: {code}"
                    )))
                }
                Failure::Transient => {
                    return Err(FunctionError::retryable(format!(
                        "StartOutboundVoiceContact failed: {code}"
                    )))
                }
                Failure::Config => return Ok(Placement::RefusedConfig(code)),
                Failure::Contact => return Ok(Placement::Refused(code)),
            }
        }
        unreachable!("the last attempt returns")
    }
}

enum Failure {
    Throttled,
    Transient,
    /// The instance, flow or queue is wrong or not allowed: every contact would fail.
    Config,
    /// This contact cannot be dialed.
    Contact,
}

fn placement_failure<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> Failure {
    let SdkError::ServiceError(service) = err else {
        return Failure::Transient;
    };
    let code = service.err().code().unwrap_or_default();
    if is_throttling_code(code) {
        return Failure::Throttled;
    }
    match code {
        "DestinationNotAllowedException" | "InvalidParameterException" => Failure::Contact,
        "ResourceNotFoundException"
        | "OutboundContactNotPermittedException"
        | "AccessDeniedException"
        | "UnrecognizedClientException" => Failure::Config,
        // 5xx, and anything not known to be about this contact: keep the contact (it reaches the
        // dead-letter queue after maxReceiveCount if it keeps failing).
        _ => Failure::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::types::AttributeValue;
    use outbound_core::completion::contact_pk;
    use outbound_core::ledger::{CampaignLedger, ContactState, LedgerContact, RedialRules};
    use outbound_core::testkit::{
        FakeBucket, FakeConnect, FakeParams, FakeQueue, FakeSfn, FakeTable, Log, Start,
    };
    use serde_json::json;

    const PREFIX: &str = "/connect/blaster/test/";

    struct World {
        log: Log,
        table: FakeTable,
        /// The campaign ledger.
        attempts: FakeTable,
        bucket: FakeBucket,
        sfn: FakeSfn,
        queue: FakeQueue,
        params: FakeParams,
        connect: FakeConnect,
    }

    fn world() -> World {
        let log = Log::default();
        let params = FakeParams::new(
            &log,
            &[
                ("/connect/blaster/test/activeBlaster", "True"),
                ("/connect/blaster/test/connectid", "i-1"),
                ("/connect/blaster/test/contactflow", "f-1"),
                ("/connect/blaster/test/queue", "q-1"),
                ("/connect/blaster/test/callspersecond", "100"),
            ],
        );
        World {
            table: FakeTable::new(&log),
            attempts: FakeTable::new(&log),
            bucket: FakeBucket::new(&log),
            sfn: FakeSfn::new(&log),
            queue: FakeQueue::new(&log),
            connect: FakeConnect::new(&log),
            params,
            log,
        }
    }

    impl World {
        fn dialer_with<C: SourceNumberChooser>(&self, chooser: C) -> Dialer<C> {
            let mut settings = DialSettings::new(
                PREFIX.into(),
                "https://sqs.local/q".into(),
                0,
                DestinationRules::parse("GB,US,CA,AU,FR,DE").unwrap(),
            );
            settings.throttle_backoff = Duration::from_millis(2);
            settings.rate_max_wait = Duration::from_secs(3);
            let attempts = Finisher {
                ledger: CampaignLedger {
                    dynamodb: self.attempts.client(),
                    table_name: "ledger".into(),
                    final_retention: None,
                },
                rules: RedialRules::default(),
            };
            Dialer {
                ssm: self.params.client(),
                sqs: self.queue.client(),
                connect: self.connect.client(),
                sfn: self.sfn.client(),
                ledger: Ledger {
                    dynamodb: self.table.client(),
                    s3: self.bucket.client(),
                    table_name: "ActiveDialing".into(),
                    results_bucket: "results".into(),
                    finisher: Some(attempts.clone()),
                },
                attempts,
                status: StatusCache::new(Duration::ZERO),
                chooser,
                settings,
            }
        }

        fn dialer(&self) -> Dialer<QueueNumber> {
            self.dialer_with(QueueNumber)
        }

        /// Queues a contact message as the feeder does: its contact leased in the ledger for
        /// the message's attempt. A body that is not a contact is queued as it is.
        fn offer(&self, body: &str) {
            if let Ok(c) = serde_json::from_str::<Contact>(body) {
                self.lease(&c);
            }
            self.queue.send(body);
        }

        fn lease(&self, c: &Contact) {
            use outbound_core::ledger::item::{held_shard_key, millis, new_item, shard_of};
            let now = Utc::now();
            let mut item = new_item(c, now, None, now).unwrap();
            item.remove("dueShard");
            for (name, value) in [
                ("state", AttributeValue::S("leased".into())),
                ("attempt", AttributeValue::N(c.attempt.to_string())),
                (
                    "leaseUntil",
                    AttributeValue::N(millis(now + chrono::Duration::hours(1)).to_string()),
                ),
                (
                    "heldShard",
                    AttributeValue::S(held_shard_key(
                        &c.campaign,
                        ContactState::Leased,
                        shard_of(&c.contact_key),
                    )),
                ),
            ] {
                item.insert(name.into(), value);
            }
            let pk = item["pk"].as_s().unwrap().clone();
            self.attempts.items.lock().unwrap().insert(pk, item);
        }

        /// Sets attributes of a contact's ledger item (to put it where a test needs it).
        fn set(&self, c: &Contact, attrs: &[(&str, AttributeValue)]) {
            let pk = outbound_core::ledger::item::contact_pk(&c.campaign, &c.contact_key);
            let mut items = self.attempts.items.lock().unwrap();
            let item = items.get_mut(&pk).expect("the contact is in the ledger");
            for (name, value) in attrs {
                item.insert(name.to_string(), value.clone());
            }
        }

        /// The contact's ledger item.
        fn attempt(&self, c: &Contact) -> LedgerContact {
            let pk = outbound_core::ledger::item::contact_pk(&c.campaign, &c.contact_key);
            LedgerContact::from_item(&self.attempts.get(&pk).expect("in the ledger")).unwrap()
        }
    }

    /// The log positions of every entry starting with `prefix`.
    fn positions(log: &Log, prefix: &str) -> Vec<usize> {
        log.entries()
            .iter()
            .enumerate()
            .filter(|(_, e)| e.starts_with(prefix))
            .map(|(i, _)| i)
            .collect()
    }

    fn attempt_token(c: &Contact) -> String {
        AttemptId::new(&c.campaign, &c.contact_key, c.attempt).client_token()
    }

    fn contact(key: &str, phone: &str) -> Contact {
        Contact {
            campaign: "spring".into(),
            key: key.into(),
            phone: phone.into(),
            contact_key: outbound_core::testkit::contact_key("spring", key, phone),
            attempt: 1,
            attributes: [("firstName".to_string(), "Ann".to_string())].into(),
            source: ContactSource::Csv {
                object: "uploads/spring.csv".into(),
                line: 2,
            },
        }
    }

    fn body(key: &str, phone: &str) -> String {
        serde_json::to_string(&contact(key, phone)).unwrap()
    }

    /// The results record of the first attempt of a contact of the `spring` list in run `r-1`.
    fn result_of(w: &World, key: &str, phone: &str) -> ResultRecord {
        let object = outbound_core::records::result_object_key(
            "spring",
            "r-1",
            &contact(key, phone).contact_key,
            1,
        );
        serde_json::from_str(w.bucket.object(&object).expect("result record").trim_end())
            .expect("one JSON line")
    }

    fn input(calls: u32) -> Value {
        json!({"taskToken": "TOKEN-1", "runId": "r-1", "lane": 3, "calls": calls,
               "budget": 200, "timeoutSeconds": 120})
    }

    fn lane(calls: u32) -> LaneState {
        LaneState {
            run_id: "r-1".into(),
            lane: 3,
            calls,
            budget: 200,
            timeout_seconds: 120,
            wave: 0,
            wave_budget: 0,
        }
    }

    struct Fixed(&'static str);
    impl SourceNumberChooser for Fixed {
        async fn choose(&self, _destination: &str) -> Option<String> {
            Some(self.0.to_string())
        }
    }

    #[tokio::test]
    async fn places_the_call_and_deletes_the_message_only_after_recording_it() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[Start::Placed("c-1")]);
        let out = w.dialer().handle(input(17)).await.unwrap();
        assert_eq!(
            out,
            DialOutput {
                status: "placed",
                contact_id: Some("c-1".into())
            }
        );

        let c = contact("C-1", "+442079460123");
        let ck = c.contact_key.clone();
        let order = |p: &str| {
            w.log
                .position(p)
                .unwrap_or_else(|| panic!("{p} not called: {:?}", w.log.entries()))
        };
        let ledger_writes = positions(&w.log, &format!("ddb:UpdateItem CONTACT#spring#{ck}"));
        assert_eq!(ledger_writes.len(), 2, "{:?}", w.log.entries());
        let (begin, placed) = (ledger_writes[0], ledger_writes[1]);
        let rate = order("ddb:UpdateItem RATE#");
        let start = order("connect:StartOutboundVoiceContact");
        let lane_ptr = order("ddb:PutItem LANE#r-1#3");
        let contact_rec = order("ddb:UpdateItem CONTACT#c-1");
        let delete = order("sqs:DeleteMessage");
        assert!(begin < rate && rate < start, "{:?}", w.log.entries());
        // The contact id in the ledger first (never placed again from then on), then the
        // pointer before the token: once the token is stored the lane may move on.
        assert!(start < placed && placed < lane_ptr && lane_ptr < contact_rec);
        assert!(
            contact_rec < delete,
            "deleted before recording: {:?}",
            w.log.entries()
        );
        assert_eq!(w.queue.deleted(), vec!["m-1".to_string()]);

        let item = w.attempt(&c);
        assert_eq!(item.state, ContactState::Dialing);
        assert_eq!(item.attempt, 1);
        assert_eq!(item.contact_id.as_deref(), Some("c-1"));
        assert_eq!(
            item.client_token.as_deref(),
            Some(attempt_token(&c).as_str())
        );
        assert_ne!(
            attempt_token(&c),
            c.client_token("r-1"),
            "not the run's token"
        );
        let stored: LaneState =
            serde_json::from_str(&w.table.s("CONTACT#c-1", "laneState").unwrap()).unwrap();
        assert_eq!(stored, lane(18));
        assert_eq!(
            w.table.s("CONTACT#c-1", "taskToken").as_deref(),
            Some("TOKEN-1")
        );
        assert_eq!(
            w.table.s("CONTACT#c-1", "phoneMasked").as_deref(),
            Some("+44*******123")
        );
        assert_eq!(
            w.table.get("LANE#r-1#3").unwrap()["call"].as_n().unwrap(),
            "18"
        );

        let req = &w.connect.requests()[0];
        assert_eq!(req.destination, "+442079460123");
        assert_eq!(req.source, None, "no routing: the queue's number");
        assert_eq!(req.client_token, attempt_token(&c));
        assert_eq!(
            (req.queue_id.as_str(), req.flow_id.as_str()),
            ("q-1", "f-1")
        );
        assert_eq!(req.attributes["firstName"], "Ann");
        assert_eq!(req.attributes["campaign"], "spring");
        assert_eq!(req.attributes["contactKey"], ck);
        // Nobody was woken yet: the lane waits for the disconnect.
        assert!(w.sfn.sent().is_empty());
    }

    #[tokio::test]
    async fn the_chosen_caller_id_is_sent() {
        let w = world();
        w.offer(&body("C-1", "+12125550123"));
        w.connect.script(&[Start::Placed("c-1")]);
        w.dialer_with(Fixed("+12125550142"))
            .handle(input(0))
            .await
            .unwrap();
        assert_eq!(
            w.connect.requests()[0].source.as_deref(),
            Some("+12125550142")
        );
        // Kept with the contact for its results record.
        assert_eq!(
            w.table.s("CONTACT#c-1", "callerId").as_deref(),
            Some("+12125550142")
        );
    }

    #[tokio::test]
    async fn answering_machine_detection_is_requested_only_when_on() {
        use crate::amd::AnsweringMachineDetection;
        // Off (the default): none of the three fields.
        let w = world();
        w.offer(&body("C-1", "+12125550123"));
        w.connect.script(&[Start::Placed("c-1")]);
        w.dialer().handle(input(0)).await.unwrap();
        let off = &w.connect.requests()[0];
        assert_eq!(off.answer_machine_detection, None);
        assert_eq!(off.traffic_type, None);
        assert_eq!(off.campaign_id, None);
        // On: detection, campaign traffic and the campaign id, on every request.
        let w = world();
        w.offer(&body("C-1", "+12125550123"));
        w.connect.script(&[Start::Placed("c-1")]);
        let mut dialer = w.dialer();
        dialer.settings.answering_machine_detection = Some(AnsweringMachineDetection {
            await_prompt: true,
            campaign_id: Some("8f4e0d3a".into()),
        });
        dialer.handle(input(0)).await.unwrap();
        let on = &w.connect.requests()[0];
        let config = on.answer_machine_detection.as_ref().unwrap();
        assert!(config.enable_answer_machine_detection());
        assert!(config.await_answer_machine_prompt());
        assert_eq!(on.traffic_type.as_deref(), Some("CAMPAIGN"));
        assert_eq!(on.campaign_id.as_deref(), Some("8f4e0d3a"));
    }

    #[tokio::test]
    async fn the_queue_number_leaves_no_caller_id_on_the_contact() {
        let w = world();
        w.offer(&body("C-1", "+12125550123"));
        w.connect.script(&[Start::Placed("c-1")]);
        w.dialer().handle(input(0)).await.unwrap();
        assert_eq!(w.connect.requests()[0].source, None);
        assert!(w.table.get("CONTACT#c-1").is_some());
        assert_eq!(w.table.s("CONTACT#c-1", "callerId"), None);
    }

    #[tokio::test]
    async fn a_refused_caller_id_falls_back_to_the_queue_number_and_says_so() {
        for refusal in ["InvalidParameterException", "AccessDeniedException"] {
            let w = world();
            w.offer(&body("C-1", "+442079460123"));
            w.connect
                .script(&[Start::Fail(refusal), Start::Placed("c-1")]);
            let out = w
                .dialer_with(Fixed("+442079460100"))
                .handle(input(0))
                .await
                .unwrap();
            assert_eq!(out.contact_id.as_deref(), Some("c-1"), "{refusal}");
            let requests = w.connect.requests();
            assert_eq!(requests.len(), 2, "{refusal}");
            assert_eq!(requests[0].source.as_deref(), Some("+442079460100"));
            assert_eq!(
                requests[1].source, None,
                "the second request uses the queue's number"
            );
            let token = attempt_token(&contact("C-1", "+442079460123"));
            assert_eq!(requests[0].client_token, token);
            assert_eq!(requests[1].client_token, fallback_client_token(&token));
            assert_ne!(requests[1].client_token, token);
            // The contact records the number used (the queue's) and the one refused.
            assert_eq!(w.table.s("CONTACT#c-1", "callerId"), None);
            assert_eq!(
                w.table.s("CONTACT#c-1", "callerIdRefused").as_deref(),
                Some("+442079460100")
            );
            assert_eq!(w.queue.deleted(), vec!["m-1".to_string()]);
        }
    }

    #[tokio::test]
    async fn a_destination_outside_the_allowed_ones_is_rejected_without_a_call() {
        let w = world();
        // Premium rate (UK 09) and a country not allowed: both reached the queue somehow.
        w.offer(&body("C-1", "+449098790000"));
        w.offer(&body("C-2", "+390212345678"));
        w.connect.script(&[]);
        // Both are rejected, then the queue is empty: the lane ends as for any empty queue.
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueEmpty);
        assert!(w.connect.requests().is_empty(), "nothing was dialed");
        assert_eq!(w.queue.deleted().len(), 2);
        let rejects: Vec<String> = w
            .bucket
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("rejects/campaign=spring/"))
            .collect();
        assert_eq!(rejects.len(), 2, "{rejects:?}");
        let text: String = rejects.iter().filter_map(|k| w.bucket.object(k)).collect();
        assert!(
            text.contains("premium-rate numbers are never dialed"),
            "{text}"
        );
        assert!(
            text.contains("destination country IT is not allowed"),
            "{text}"
        );
        assert!(
            !text.contains("9098790000") && !text.contains("212345678"),
            "{text}"
        );
        // Final as rejected, with one final record each.
        for c in [
            contact("C-1", "+449098790000"),
            contact("C-2", "+390212345678"),
        ] {
            let item = w.attempt(&c);
            assert_eq!(item.state, ContactState::Final);
            assert_eq!(item.final_reason, Some(FinalReason::Rejected));
            let record = w
                .bucket
                .object(&outbound_core::records::final_object_key(
                    "spring",
                    &c.contact_key,
                ))
                .expect("a final record");
            assert!(record.contains("\"final_reason\":\"rejected\""), "{record}");
        }
    }

    #[tokio::test]
    async fn a_destination_refused_with_both_numbers_is_an_error_record() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[
            Start::Fail("DestinationNotAllowedException"),
            Start::Fail("DestinationNotAllowedException"),
        ]);
        // The lane goes on to an empty queue: what it answers then is another test's concern.
        let _ = w.dialer_with(Fixed("+442079460100")).handle(input(0)).await;
        assert_eq!(w.connect.requests().len(), 2);
        let record = result_of(&w, "C-1", "+442079460123");
        assert_eq!(record.outcome, Outcome::Error);
        // The last request went out with the queue's number; the routed one was not to blame.
        assert_eq!(record.caller_id, None);
        assert_eq!(record.caller_id_refused, None);
    }

    #[tokio::test]
    async fn a_configuration_refusal_without_a_routed_caller_id_keeps_the_contact() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[Start::Fail("AccessDeniedException")]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert_eq!(w.connect.requests().len(), 1);
        assert!(w.queue.deleted().is_empty(), "the contact stays queued");
    }

    #[tokio::test]
    async fn the_stop_switch_ends_the_lane_without_taking_a_message() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.params.set("/connect/blaster/test/activeBlaster", "False");
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::CampaignStopped);
        assert_eq!(w.log.count("sqs:"), 0);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        // Turned back on: the same lane state dials again.
        w.params.set("/connect/blaster/test/activeBlaster", "true");
        w.connect.script(&[Start::Placed("c-1")]);
        assert_eq!(w.dialer().handle(input(0)).await.unwrap().status, "placed");
    }

    #[tokio::test]
    async fn a_closed_queue_ends_the_lane_without_taking_a_message() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        *w.connect.queue_status.lock().unwrap() = "DISABLED".into();
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueClosed);
        assert!(err.message.contains("queue_disabled"), "{}", err.message);
        // Enabled, but hours without any range: closed too.
        *w.connect.queue_status.lock().unwrap() = "ENABLED".into();
        *w.connect.hours.lock().unwrap() = Some(
            aws_sdk_connect::types::HoursOfOperation::builder()
                .time_zone("Europe/London")
                .build(),
        );
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueClosed);
        assert_eq!(w.log.count("sqs:"), 0);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
    }

    #[tokio::test]
    async fn a_holiday_override_today_closes_the_queue_and_names_the_next_opening() {
        use aws_sdk_connect::types::{
            HoursOfOperation, HoursOfOperationConfig, HoursOfOperationDays,
            HoursOfOperationTimeSlice,
        };
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        let all_day = HoursOfOperationTimeSlice::builder()
            .hours(0)
            .minutes(0)
            .build()
            .unwrap();
        let mut weekly = HoursOfOperation::builder().time_zone("UTC");
        for day in [
            HoursOfOperationDays::Monday,
            HoursOfOperationDays::Tuesday,
            HoursOfOperationDays::Wednesday,
            HoursOfOperationDays::Thursday,
            HoursOfOperationDays::Friday,
            HoursOfOperationDays::Saturday,
            HoursOfOperationDays::Sunday,
        ] {
            weekly = weekly.config(
                HoursOfOperationConfig::builder()
                    .day(day)
                    .start_time(all_day.clone())
                    .end_time(all_day.clone())
                    .build()
                    .unwrap(),
            );
        }
        *w.connect.hours.lock().unwrap() = Some(weekly.build());
        // Open around the clock, but today (UTC) is a holiday.
        let today = Utc::now().date_naive();
        w.connect
            .overrides
            .lock()
            .unwrap()
            .insert(today.format("%Y-%m-%d").to_string(), vec![]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueClosed);
        let tomorrow = format!("{}T00:00:00", today.succ_opt().unwrap().format("%Y-%m-%d"));
        assert!(
            err.message.contains("outside_hours") && err.message.contains(&tomorrow),
            "{}",
            err.message
        );
        assert_eq!(w.log.count("connect:GetEffectiveHoursOfOperations"), 1);
        assert_eq!(w.log.count("connect:DescribeHoursOfOperation"), 0);
        assert_eq!(w.log.count("sqs:"), 0);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        // The holiday removed: the same lane dials.
        w.connect.overrides.lock().unwrap().clear();
        w.connect.script(&[Start::Placed("c-1")]);
        assert_eq!(w.dialer().handle(input(0)).await.unwrap().status, "placed");
        // A role without the new action: the weekly hours, which are open.
        w.connect
            .overrides
            .lock()
            .unwrap()
            .insert(today.format("%Y-%m-%d").to_string(), vec![]);
        *w.connect.effective_refused.lock().unwrap() = Some("AccessDeniedException".into());
        w.offer(&body("C-2", "+442079460124"));
        w.connect.script(&[Start::Placed("c-2")]);
        assert_eq!(w.dialer().handle(input(1)).await.unwrap().status, "placed");
        assert_eq!(w.log.count("connect:DescribeHoursOfOperation"), 1);
    }

    #[tokio::test]
    async fn an_exhausted_budget_ends_the_lane_before_anything_else() {
        let w = world();
        let err = w.dialer().handle(input(200)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::LaneBudgetExhausted);
        assert!(w.log.entries().is_empty());
    }

    #[tokio::test]
    async fn a_spent_wave_budget_ends_the_lane_without_taking_a_message() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        let wave_input = |wave_budget: u32| {
            let mut v = input(1);
            v["wave"] = json!(2);
            v["waveBudget"] = json!(wave_budget);
            v
        };
        // The other lanes of wave 2 already took 4 calls.
        w.table.items.lock().unwrap().insert(
            "WAVE#r-1#2".into(),
            HashMap::from([
                ("pk".to_string(), AttributeValue::S("WAVE#r-1#2".into())),
                ("n".to_string(), AttributeValue::N("4".into())),
            ]),
        );
        let err = w.dialer().handle(wave_input(4)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::LaneBudgetExhausted);
        assert!(err.message.contains("wave 2"), "{}", err.message);
        assert_eq!(w.log.count("sqs:"), 0);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        // One call left in a budget of 5: this lane takes it, although it placed only 1.
        w.connect.script(&[Start::Placed("c-1")]);
        let out = w.dialer().handle(wave_input(5)).await.unwrap();
        assert_eq!(out.status, "placed");
        let count = w.table.get("WAVE#r-1#2").expect("the wave's count");
        assert_eq!(count["n"].as_n().unwrap(), "5");
        assert!(count.contains_key("expiresAt"));
    }

    #[tokio::test]
    async fn the_waves_last_call_starts_the_next_wave_whose_lane_waits_for_this_lanes_end() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.offer(&body("C-2", "+442079460124"));
        let mut dialer = w.dialer();
        dialer.settings.state_machine_arn = Some("arn:sm".into());
        let lane_input = |wave: u32, calls: u32, token: &str| {
            let mut v = input(calls);
            v["wave"] = json!(wave);
            v["waveBudget"] = json!(1);
            v["budget"] = json!(1);
            v["taskToken"] = json!(token);
            v
        };
        // Wave 1's lane takes its wave's only call: it starts wave 2 and places the call.
        w.connect.script(&[Start::Placed("c-1")]);
        let out = dialer.handle(lane_input(1, 0, "T-w1")).await.unwrap();
        assert_eq!(out.status, "placed");
        let started = w.sfn.started();
        assert_eq!(started.len(), 1);
        assert_eq!(started[0].0, "r-1-w2");
        let next: Value = serde_json::from_str(&started[0].1).unwrap();
        assert_eq!(next, json!({"runId": "r-1", "wave": 2, "laneCalls": [1]}));

        // Wave 2's lane 3 starts while wave 1's lane 3 is on that call: it waits, taking nothing.
        let before = w.log.count("connect:StartOutboundVoiceContact");
        let out = dialer.handle(lane_input(2, 0, "T-w2")).await.unwrap();
        assert_eq!(out.status, "parked");
        assert_eq!(w.queue.visible_ids(), vec!["m-2".to_string()]);
        assert_eq!(w.log.count("connect:StartOutboundVoiceContact"), before);
        assert!(w.sfn.sent().iter().all(|(t, _)| t != "T-w2"));

        // Wave 1's lane comes back after its call and ends: wave 2's lane is woken, unchanged.
        let err = dialer.handle(lane_input(1, 1, "T-w1b")).await.unwrap_err();
        assert_eq!(err.name, ErrorName::LaneBudgetExhausted);
        let woken: Vec<_> = w
            .sfn
            .sent()
            .into_iter()
            .filter(|(t, _)| t == "T-w2")
            .collect();
        assert_eq!(woken.len(), 1);
        let state: LaneState = serde_json::from_str(&woken[0].1).unwrap();
        assert_eq!((state.wave, state.lane, state.calls), (2, 3, 0));

        // Woken, it dials the next contact; nobody starts wave 2 twice.
        w.connect.script(&[Start::Placed("c-2")]);
        let out = dialer.handle(lane_input(2, 0, "T-w2")).await.unwrap();
        assert_eq!(out.status, "placed");
        assert!(w.queue.visible_ids().is_empty());
        assert_eq!(w.sfn.started().len(), 2, "wave 2's last call starts wave 3");
        assert_eq!(w.sfn.started()[1].0, "r-1-w3");
    }

    #[tokio::test]
    async fn a_wave_begun_without_slots_leaves_its_next_wave_to_the_state_machine() {
        // A wave under way when the deployment was upgraded: its lanes never took slots.
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        let mut dialer = w.dialer();
        dialer.settings.state_machine_arn = Some("arn:sm".into());
        let mut v = input(3);
        v["wave"] = json!(4);
        v["waveBudget"] = json!(1);
        w.connect.script(&[Start::Placed("c-1")]);
        let out = dialer.handle(v).await.unwrap();
        assert_eq!(out.status, "placed", "the wave's last call is placed");
        assert!(
            w.sfn.started().is_empty(),
            "but the next wave is not started early"
        );
    }

    #[tokio::test]
    async fn an_empty_queue_is_queue_empty_but_a_receive_error_is_not() {
        let w = world();
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueEmpty);
        w.queue.fail_receive("InternalError");
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        w.queue.fail_receive("AccessDenied");
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        w.queue.fail_receive("ThrottlingException");
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
    }

    #[tokio::test]
    async fn throttling_then_success_places_the_call_once_with_one_client_token() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[
            Start::Fail("TooManyRequestsException"),
            Start::Fail("ThrottlingException"),
            Start::Placed("c-9"),
        ]);
        let out = w.dialer().handle(input(0)).await.unwrap();
        assert_eq!(out.contact_id.as_deref(), Some("c-9"));
        let tokens: Vec<String> = w
            .connect
            .requests()
            .iter()
            .map(|r| r.client_token.clone())
            .collect();
        assert_eq!(tokens.len(), 3);
        assert!(tokens.iter().all(|t| *t == tokens[0]));
        assert_eq!(w.queue.deleted(), vec!["m-1".to_string()]);
    }

    #[tokio::test]
    async fn still_throttled_puts_the_contact_back_and_answers_throttled() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.connect
            .script(&[Start::Fail("LimitExceededException"); 4]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Throttled);
        assert_eq!(w.log.count("sqs:ChangeMessageVisibility 0"), 1);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        assert!(w.queue.deleted().is_empty());
        assert_eq!(
            w.log.count("ddb:UpdateItem CONTACT#c-"),
            0,
            "nothing recorded"
        );
        // The retry places it with the same ClientToken.
        w.connect.script(&[Start::Placed("c-1")]);
        assert_eq!(w.dialer().handle(input(0)).await.unwrap().status, "placed");
        let reqs = w.connect.requests();
        assert_eq!(
            reqs.first().unwrap().client_token,
            reqs.last().unwrap().client_token
        );
    }

    #[tokio::test]
    async fn a_connect_5xx_is_retryable_and_keeps_the_contact() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[Start::Fail("InternalServiceException")]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        // A wrong flow or queue is configuration: also kept.
        w.connect
            .script(&[Start::Fail("ResourceNotFoundException")]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        assert!(w.bucket.keys().is_empty());
    }

    #[tokio::test]
    async fn a_refused_destination_is_recorded_as_error_and_the_lane_goes_on() {
        let w = world();
        w.offer(&body("C-1", "+442079460123"));
        w.offer(&body("C-2", "+442079460124"));
        w.connect.script(&[
            Start::Fail("DestinationNotAllowedException"),
            Start::Placed("c-2"),
        ]);
        let out = w.dialer().handle(input(4)).await.unwrap();
        assert_eq!(out.contact_id.as_deref(), Some("c-2"));
        assert_eq!(
            w.queue.deleted(),
            vec!["m-1".to_string(), "m-2".to_string()]
        );
        let record = result_of(&w, "C-1", "+442079460123");
        assert_eq!(record.outcome, Outcome::Error);
        assert_eq!(record.contact_id, None);
        assert_eq!(record.phone_masked, "+44*******123");
        assert_eq!(record.lane, Some(3));
        // The refused contact did not count as a call.
        let stored: LaneState =
            serde_json::from_str(&w.table.s("CONTACT#c-2", "laneState").unwrap()).unwrap();
        assert_eq!(stored.calls, 5);
    }

    #[tokio::test]
    async fn malformed_messages_are_rejected_deleted_and_skipped() {
        let w = world();
        w.queue.send("not json at all +447700900999");
        w.offer(&body("C-3", "+44 7700 900 125x"));
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[Start::Placed("c-1")]);
        let out = w.dialer().handle(input(0)).await.unwrap();
        assert_eq!(out.contact_id.as_deref(), Some("c-1"));
        assert_eq!(w.queue.deleted(), vec!["m-1", "m-2", "m-3"]);
        let unknown = w
            .bucket
            .object("rejects/campaign=unknown/dial-m-1.jsonl")
            .expect("reject for the unreadable message");
        assert!(unknown.contains("malformed contact message"));
        assert!(!unknown.contains("900999"), "{unknown}");
        let bad_phone = w
            .bucket
            .object("rejects/campaign=spring/dial-m-2.jsonl")
            .expect("reject for the bad number");
        assert!(bad_phone.contains("not an E.164"));
        assert!(!bad_phone.contains("900 125"), "{bad_phone}");
        assert_eq!(w.connect.requests().len(), 1);
    }

    #[tokio::test]
    async fn an_attempt_already_placed_is_deleted_without_dialing_whatever_the_run() {
        let w = world();
        let c = contact("C-1", "+442079460123");
        w.offer(&body("C-1", "+442079460123"));
        // An earlier run placed this attempt and recorded its call.
        w.set(
            &c,
            &[
                ("state", AttributeValue::S("dialing".into())),
                ("contactId", AttributeValue::S("c-0".into())),
                ("clientToken", AttributeValue::S(attempt_token(&c))),
                (
                    "attemptStartedAt",
                    AttributeValue::N(Utc::now().timestamp_millis().to_string()),
                ),
            ],
        );
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueEmpty);
        assert_eq!(w.queue.deleted(), vec!["m-1".to_string()]);
        assert!(w.connect.requests().is_empty());
        assert_eq!(w.attempt(&c).contact_id.as_deref(), Some("c-0"));
    }

    #[tokio::test]
    async fn a_message_of_a_contact_that_moved_on_is_deleted_without_dialing() {
        let w = world();
        let c = contact("C-1", "+442079460123");
        w.offer(&body("C-1", "+442079460123"));
        for (state, attempt) in [("final", "1"), ("due", "2"), ("leased", "2")] {
            w.set(
                &c,
                &[
                    ("state", AttributeValue::S(state.into())),
                    ("attempt", AttributeValue::N(attempt.into())),
                ],
            );
            w.queue.send(&body("C-1", "+442079460123"));
        }
        w.queue
            .send(&serde_json::to_string(&contact("C-9", "+442079460999")).unwrap());
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueEmpty);
        assert_eq!(
            w.queue.deleted().len(),
            5,
            "every stale copy and the unknown contact"
        );
        assert!(w.connect.requests().is_empty());
    }

    #[tokio::test]
    async fn a_contact_outside_its_calling_window_is_deferred_without_a_call() {
        use chrono::Datelike;
        let w = world();
        // A window open only on the weekday three days from now: closed today in every zone
        // (a zone's local date is at most a day from UTC's).
        let day = (Utc::now() + chrono::Duration::days(3)).weekday();
        let name = [
            "MONDAY",
            "TUESDAY",
            "WEDNESDAY",
            "THURSDAY",
            "FRIDAY",
            "SATURDAY",
            "SUNDAY",
        ][day.num_days_from_monday() as usize];
        let mut dialer = w.dialer();
        dialer.settings.window = CallingWindow::from_json(&format!(
            r#"{{"days":{{"{name}":[{{"start":"00:00","end":"24:00"}}]}}}}"#
        ))
        .unwrap();
        let c = contact("C-1", "+442079460123");
        w.offer(&body("C-1", "+442079460123"));
        let before = Utc::now();
        let err = dialer.handle(input(0)).await.unwrap_err();
        assert_eq!(
            err.name,
            ErrorName::QueueEmpty,
            "the lane went on to the next"
        );
        assert!(w.connect.requests().is_empty(), "no call");
        assert_eq!(w.queue.deleted().len(), 1, "its message is deleted");
        let item = w.attempt(&c);
        assert_eq!(item.state, ContactState::Due);
        assert_eq!(item.attempt, 1, "a deferral is not an attempt");
        assert_eq!(
            (item.deferrals, item.deferred_by.as_deref()),
            (1, Some(DEFERRAL_RULE))
        );
        assert!(
            item.due_at > before + chrono::Duration::days(1)
                && item.due_at < before + chrono::Duration::days(4),
            "due when its window opens: {}",
            item.due_at
        );
        // An open window lets the same kind of contact through.
        dialer.settings.window = CallingWindow::from_json(
            r#"{"days":{"MONDAY":[{"start":"00:00","end":"24:00"}],"TUESDAY":[{"start":"00:00","end":"24:00"}],"WEDNESDAY":[{"start":"00:00","end":"24:00"}],"THURSDAY":[{"start":"00:00","end":"24:00"}],"FRIDAY":[{"start":"00:00","end":"24:00"}],"SATURDAY":[{"start":"00:00","end":"24:00"}],"SUNDAY":[{"start":"00:00","end":"24:00"}]}}"#,
        )
        .unwrap();
        w.offer(&body("C-2", "+442079460124"));
        w.connect.script(&[Start::Placed("c-2")]);
        let out = dialer.handle(input(0)).await.unwrap();
        assert_eq!(out.status, "placed");
        assert_eq!(w.connect.requests().len(), 1);
    }

    #[tokio::test]
    async fn a_number_listed_after_it_was_fed_is_made_final_dnc_without_a_call() {
        let w = world();
        let dialer = w.dialer();
        let keyer = outbound_core::testkit::contact_keyer();
        let listed = contact("C-1", "+442079460123");
        let clear = contact("C-2", "+442079460124");
        for c in [&listed, &clear] {
            w.offer(&body(&c.key, &c.phone));
            w.set(
                c,
                &[("dncKey", AttributeValue::S(keyer.do_not_call_key(&c.phone)))],
            );
        }
        // An agent put C-1's number on the list after the feeder had queued it.
        w.attempts.insert(
            &outbound_core::dnc::dnc_pk(&keyer.do_not_call_key(&listed.phone)),
            &[("source", AttributeValue::S("agent:c-0".into()))],
        );
        w.connect.script(&[Start::Placed("c-2")]);
        let out = dialer.handle(input(0)).await.unwrap();
        assert_eq!(out.status, "placed");
        let requests = w.connect.requests();
        assert_eq!(requests.len(), 1, "one call, to the number not listed");
        assert_eq!(requests[0].destination, "+442079460124");
        let item = w.attempt(&listed);
        assert_eq!(item.state, ContactState::Final);
        assert_eq!(item.final_reason, Some(FinalReason::DoNotCall));
        assert_eq!(item.contact_id, None, "never placed");
        let record = w
            .bucket
            .object(&outbound_core::records::final_object_key(
                &listed.campaign,
                &listed.contact_key,
            ))
            .expect("its final record");
        assert!(record.contains("\"final_reason\":\"dnc\""), "{record}");
        assert!(
            !record.contains("+442079460123"),
            "no number in clear: {record}"
        );
        assert!(
            record.contains("\"attempts\":0"),
            "no call was made: {record}"
        );
    }

    /// `c` in campaign `campaign` (its key derived for it).
    fn in_campaign(mut c: Contact, campaign: &str) -> Contact {
        c.contact_key = outbound_core::testkit::contact_key(campaign, &c.key, &c.phone);
        c.campaign = campaign.into();
        c
    }

    #[tokio::test]
    async fn a_campaign_outside_its_schedule_is_not_called_ended_final_not_started_deferred() {
        use outbound_core::ledger::item::millis;
        use outbound_core::ledger::schedule::schedule_pk;
        let w = world();
        let dialer = w.dialer();
        let keyer = outbound_core::testkit::contact_keyer();
        let now = Utc::now();
        // `spring` ended a minute ago (while its contacts waited in the queue), `autumn` starts
        // tomorrow, `summer` has no schedule.
        w.attempts.insert(
            &schedule_pk("spring"),
            &[(
                "endsAt",
                AttributeValue::N(millis(now - chrono::Duration::minutes(1)).to_string()),
            )],
        );
        let opens_at = now + chrono::Duration::days(1);
        w.attempts.insert(
            &schedule_pk("autumn"),
            &[("startsAt", AttributeValue::N(millis(opens_at).to_string()))],
        );
        let ended = contact("C-1", "+442079460123");
        let ended_too = contact("C-2", "+442079460124");
        // On the do-not-call list as well: that rule comes first.
        let ended_listed = contact("C-3", "+442079460125");
        let early = in_campaign(contact("C-4", "+442079460126"), "autumn");
        let open = in_campaign(contact("C-5", "+442079460127"), "summer");
        for c in [&ended, &ended_too, &ended_listed, &early, &open] {
            w.lease(c);
            w.queue.send(&serde_json::to_string(c).unwrap());
            w.set(
                c,
                &[("dncKey", AttributeValue::S(keyer.do_not_call_key(&c.phone)))],
            );
        }
        w.attempts.insert(
            &outbound_core::dnc::dnc_pk(&keyer.do_not_call_key(&ended_listed.phone)),
            &[("source", AttributeValue::S("agent:c-0".into()))],
        );
        w.connect.script(&[Start::Placed("c-5")]);
        let out = dialer.handle(input(0)).await.unwrap();
        assert_eq!(out.status, "placed");
        let requests = w.connect.requests();
        assert_eq!(requests.len(), 1, "one call, in the open campaign");
        assert_eq!(requests[0].destination, open.phone);
        for c in [&ended, &ended_too] {
            let item = w.attempt(c);
            assert_eq!(item.state, ContactState::Final, "{}", c.key);
            assert_eq!(item.final_reason, Some(FinalReason::CampaignEnded));
            assert_eq!((item.attempt, item.contact_id.as_deref()), (0, None));
            let record = w
                .bucket
                .object(&outbound_core::records::final_object_key(
                    &c.campaign,
                    &c.contact_key,
                ))
                .expect("its final record");
            assert!(
                record.contains("\"final_reason\":\"campaign_ended\""),
                "{record}"
            );
            assert!(record.contains("\"attempts\":0"), "{record}");
        }
        assert_eq!(
            w.attempt(&ended_listed).final_reason,
            Some(FinalReason::DoNotCall),
            "do-not-call before the schedule"
        );
        let deferred = w.attempt(&early);
        assert_eq!((deferred.state, deferred.attempt), (ContactState::Due, 1));
        assert_eq!(deferred.deferred_by.as_deref(), Some("campaign_schedule"));
        assert_eq!(
            millis(deferred.due_at),
            millis(opens_at),
            "due at the start"
        );
        assert_eq!(
            deferred.attempt_started_at, None,
            "the attempt is not counted"
        );
        // Each campaign's schedule read once in the invocation.
        for campaign in ["spring", "autumn", "summer"] {
            let reads = positions(&w.log, &format!("ddb:GetItem {}", schedule_pk(campaign)));
            assert_eq!(reads.len(), 1, "{campaign}: {reads:?}");
        }
        assert_eq!(w.queue.deleted().len(), 5, "every message is done with");
    }

    #[tokio::test]
    async fn a_number_at_its_frequency_cap_is_given_back_until_the_cap_allows_a_call() {
        use outbound_core::frequency_cap::FrequencyCap;
        let w = world();
        let mut dialer = w.dialer();
        dialer.settings.cap = Some(FrequencyCap {
            max_calls: 1,
            period: chrono::Duration::hours(24),
        });
        let keyer = outbound_core::testkit::contact_keyer();
        // The same number in two campaigns: one call a day between them.
        let first = contact("C-1", "+442079460123");
        let mut second = contact("C-1", "+442079460123");
        second.campaign = "autumn".into();
        second.contact_key = outbound_core::testkit::contact_key("autumn", "C-1", &second.phone);
        for c in [&first, &second] {
            w.lease(c);
            w.queue.send(&serde_json::to_string(c).unwrap());
            w.set(
                c,
                &[("dncKey", AttributeValue::S(keyer.do_not_call_key(&c.phone)))],
            );
        }
        w.connect.script(&[Start::Placed("c-1")]);
        let before = Utc::now();
        let out = dialer.handle(input(0)).await.unwrap();
        assert_eq!(out.status, "placed");
        let err = dialer.handle(input(1)).await.unwrap_err();
        assert_eq!(
            err.name,
            ErrorName::QueueEmpty,
            "the lane went on to the next"
        );
        assert_eq!(w.connect.requests().len(), 1, "one call to the number");
        let held = w.attempt(&second);
        assert_eq!((held.state, held.attempt), (ContactState::Due, 1));
        assert_eq!(held.deferred_by.as_deref(), Some("frequency_cap"));
        assert_eq!(held.attempt_started_at, None, "the attempt is not counted");
        assert!(
            held.due_at >= before + chrono::Duration::hours(24)
                && held.due_at <= Utc::now() + chrono::Duration::hours(24),
            "due a day after the first call: {}",
            held.due_at
        );
        assert_eq!(w.queue.deleted().len(), 2, "both messages are done with");
    }

    #[tokio::test]
    async fn a_placement_of_unknown_outcome_is_placed_again_with_the_same_client_token() {
        let w = world();
        let c = contact("C-1", "+442079460123");
        w.offer(&body("C-1", "+442079460123"));
        // Connect fails the request: whether a call was started is unknown. The message comes
        // back; the attempt stays dialing without a contact id.
        w.connect.script(&[Start::Fail("InternalServiceException")]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert_eq!(w.queue.visible_ids(), vec!["m-1".to_string()]);
        let item = w.attempt(&c);
        assert_eq!(
            (item.state, item.contact_id.clone()),
            (ContactState::Dialing, None)
        );

        w.connect.script(&[Start::Placed("c-1")]);
        let out = w.dialer().handle(input(0)).await.unwrap();
        assert_eq!(out.contact_id.as_deref(), Some("c-1"));
        let reqs = w.connect.requests();
        assert_eq!(reqs.len(), 2);
        assert_eq!(reqs[0].client_token, reqs[1].client_token);
        assert_eq!(reqs[0].client_token, attempt_token(&c));
        assert_eq!(w.attempt(&c).contact_id.as_deref(), Some("c-1"));
        assert_eq!(w.queue.deleted(), vec!["m-1".to_string()]);
    }

    #[tokio::test]
    async fn a_call_recorded_in_the_ledger_is_never_placed_again() {
        let w = world();
        let c = contact("C-1", "+442079460123");
        w.offer(&body("C-1", "+442079460123"));
        // The call is placed and named in the ledger, but recording its token fails: the
        // message stays in flight (it comes back after its visibility timeout).
        w.table
            .fail_next("UpdateItem", "CONTACT#c-1", "InternalServerError");
        w.connect.script(&[Start::Placed("c-1")]);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::Retryable);
        assert!(w.queue.deleted().is_empty());
        assert_eq!(w.attempt(&c).contact_id.as_deref(), Some("c-1"));

        // Redelivery: the attempt names its call; it is reconciled, never placed again.
        let (_, m) = w.queue.in_flight.lock().unwrap().drain().next().unwrap();
        w.queue.visible.lock().unwrap().push_back(m);
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueEmpty);
        assert_eq!(w.connect.requests().len(), 1);
        assert_eq!(w.queue.deleted(), vec!["m-1".to_string()]);
    }

    #[tokio::test]
    async fn beyond_the_token_window_an_unknown_placement_is_finished_as_failed_and_redialed() {
        let w = world();
        let c = contact("C-1", "+442079460123");
        w.offer(&body("C-1", "+442079460123"));
        let long_ago = Utc::now() - chrono::Duration::days(8);
        w.set(
            &c,
            &[
                ("state", AttributeValue::S("dialing".into())),
                ("clientToken", AttributeValue::S(attempt_token(&c))),
                (
                    "attemptStartedAt",
                    AttributeValue::N(long_ago.timestamp_millis().to_string()),
                ),
            ],
        );
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::QueueEmpty);
        assert!(
            w.connect.requests().is_empty(),
            "a replay would be a new call"
        );
        let item = w.attempt(&c);
        assert_eq!(
            item.state,
            ContactState::Due,
            "failed is not final by default"
        );
        assert_eq!(item.attempt, 2);
        assert_eq!(item.last_outcome, Some(Outcome::Failed));
        assert!(item.due_at > Utc::now() + chrono::Duration::minutes(29));
    }

    #[tokio::test]
    async fn a_disconnect_recorded_before_the_token_is_completed_by_dial() {
        let w = world();
        // The DISCONNECTED event was processed before dial stored its token.
        w.table.insert(
            &contact_pk("c-1"),
            &[
                (
                    "disconnectedAt",
                    AttributeValue::S("2024-03-04T10:00:01.000Z".into()),
                ),
                ("outcome", AttributeValue::S("no_answer".into())),
            ],
        );
        w.offer(&body("C-1", "+442079460123"));
        w.connect.script(&[Start::Placed("c-1")]);
        let out = w.dialer().handle(input(6)).await.unwrap();
        assert_eq!(out.status, "completed");
        assert_eq!(
            w.sfn.sent(),
            vec![(
                "TOKEN-1".to_string(),
                serde_json::to_string(&lane(7)).unwrap()
            )]
        );
        // Recorded and deleted before the lane was woken.
        assert!(w.log.position("sqs:DeleteMessage") < w.log.position("sfn:SendTaskSuccess"));
        let key = outbound_core::records::result_object_key(
            "spring",
            "r-1",
            &contact("C-1", "+442079460123").contact_key,
            1,
        );
        assert!(w.bucket.object(&key).unwrap().contains("\"no_answer\""));
    }

    #[tokio::test]
    async fn an_invocation_of_only_duplicates_wakes_its_lane_unchanged() {
        let w = world();
        for i in 0..3 {
            let c = contact(&format!("C-{i}"), "+442079460123");
            w.offer(&serde_json::to_string(&c).unwrap());
            w.set(
                &c,
                &[
                    ("state", AttributeValue::S("dialing".into())),
                    ("contactId", AttributeValue::S(format!("c-{i}"))),
                ],
            );
        }
        let mut dialer = w.dialer();
        dialer.settings.max_messages = 2;
        let out = dialer.handle(input(9)).await.unwrap();
        assert_eq!(out.status, "skipped");
        assert_eq!(
            w.sfn.sent(),
            vec![(
                "TOKEN-1".to_string(),
                serde_json::to_string(&lane(9)).unwrap()
            )]
        );
        assert_eq!(w.queue.deleted().len(), 2);
        assert_eq!(w.queue.visible_ids().len(), 1);
    }

    #[tokio::test]
    async fn configuration_problems_are_config_errors() {
        let w = world();
        w.params
            .values
            .lock()
            .unwrap()
            .remove("/connect/blaster/test/callspersecond");
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
        assert!(err.message.contains("callspersecond"));
        w.params.set("/connect/blaster/test/callspersecond", "2");
        w.params.set("/connect/blaster/test/activeBlaster", "maybe");
        let err = w.dialer().handle(input(0)).await.unwrap_err();
        assert_eq!(err.name, ErrorName::ConfigError);
    }

    #[tokio::test]
    async fn bad_input_is_invalid_input_without_echoing_it() {
        let w = world();
        let err = w
            .dialer()
            .handle(
                json!({"runId": "r-1", "lane": 1, "calls": 0, "budget": 5, "timeoutSeconds": 60}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
        assert!(err.message.contains("taskToken"));
        let err = w
            .dialer()
            .handle(
                json!({"taskToken": "SECRET", "runId": "r-1", "lane": "SECRET-LANE",
                           "calls": 0, "budget": 5, "timeoutSeconds": 60}),
            )
            .await
            .unwrap_err();
        assert_eq!(err.name, ErrorName::InvalidInput);
        assert!(!err.message.contains("SECRET"), "{}", err.message);
    }

    #[test]
    fn plausible_numbers() {
        assert!(plausible_e164("+442079460123"));
        assert!(!plausible_e164("447700900123"));
        assert!(!plausible_e164("+44 7700 900123"));
        assert!(!plausible_e164("+123"));
        assert!(!plausible_e164("+1234567890123456"));
    }
}
