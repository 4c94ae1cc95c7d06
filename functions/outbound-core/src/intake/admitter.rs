//! Admits contacts into the campaign ledger as the intake reads them: one conditional put per
//! contact (`ledger::admit`), many in flight, so a contact the campaign already holds (the same
//! file again, an overlapping file, a retried invocation) is counted, never written twice.
//!
//! Like the queue sender (`super::sender`) it never drops a contact silently: a contact the table
//! refuses for its content comes back as [`Failed`] (for the reject report), and a table that
//! keeps failing stops the admitter ([`AdmitAbort`]), so the caller fails the invocation and its
//! retry admits what is missing.

use super::origin::{Failed, Origin};
use super::{is_transient, RetryPolicy};
use crate::contact::{Contact, ContactSource};
use crate::error::FunctionError;
use crate::ledger::{admit, Admission, AdmitOptions, CampaignLedger, RedialRules};
use crate::mask::mask_phone;
use chrono::{DateTime, Utc};
use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use std::sync::Arc;

/// Conditional puts in flight at once by default.
pub const DEFAULT_ADMIT_IN_FLIGHT: usize = crate::ledger::ops::ADMIT_CONCURRENCY;

/// The admitter gave up: the ledger cannot be reached (or refuses the function).
#[derive(Debug)]
pub struct AdmitAbort {
    pub error: FunctionError,
    pub admitted: u64,
    pub already_present: u64,
    pub failed: Vec<Failed>,
    /// Contacts pushed whose admission is not known to have happened.
    pub unsent: Vec<Origin>,
}

/// What a finished admitter did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct AdmitSummary {
    /// New contacts, now due.
    pub admitted: u64,
    /// Contacts the campaign already held: nothing written.
    pub already_present: u64,
    /// Contacts the table refused for their content.
    pub failed: Vec<Failed>,
}

type Answer = (Origin, Result<Admission, FunctionError>, Option<Contact>);

/// A contact the admitter saw the ledger hold as `due` or `final` (see
/// [`LedgerAdmitter::tracking`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueContact {
    pub contact: Contact,
    /// `true`: admitted by this push; `false`: the campaign already held it (an earlier upload,
    /// or an invocation that died before it finished the contact's checks).
    pub new: bool,
    /// The state the ledger holds it in: `Due`, or `Final` (already present only).
    pub state: crate::ledger::ContactState,
}

/// Admits contacts, [`DEFAULT_ADMIT_IN_FLIGHT`] at a time.
pub struct LedgerAdmitter {
    ledger: CampaignLedger,
    due_at: DateTime<Utc>,
    rules: Option<Arc<RedialRules>>,
    round: Option<Arc<str>>,
    dnc: Option<Arc<crate::contact_key::ContactKeyer>>,
    policy: RetryPolicy,
    max_in_flight: usize,
    in_flight: FuturesUnordered<BoxFuture<'static, Answer>>,
    summary: AdmitSummary,
    abort: Option<FunctionError>,
    unsent: Vec<Origin>,
    /// Keeps the contacts admitted, or found due, for [`LedgerAdmitter::take_due`].
    track: bool,
    due: Vec<DueContact>,
}

fn origin_of(contact: &Contact, line: Option<u64>) -> Origin {
    Origin {
        line: line.unwrap_or(match &contact.source {
            ContactSource::Csv { line, .. } => *line,
            ContactSource::Pinpoint { .. } => 0,
        }),
        customer_key: contact.key.clone(),
        phone_masked: mask_phone(&contact.phone),
        contact_key: contact.contact_key.clone(),
    }
}

impl LedgerAdmitter {
    /// Contacts are admitted due at `due_at`, with the file's redial override `rules` (`None`:
    /// the deployment's rules).
    pub fn new(ledger: CampaignLedger, due_at: DateTime<Utc>, rules: Option<RedialRules>) -> Self {
        Self {
            ledger,
            due_at,
            rules: rules.map(Arc::new),
            round: None,
            dnc: None,
            policy: RetryPolicy::DEFAULT,
            max_in_flight: DEFAULT_ADMIT_IN_FLIGHT,
            in_flight: FuturesUnordered::new(),
            summary: AdmitSummary::default(),
            abort: None,
            unsent: Vec::new(),
            track: false,
            due: Vec::new(),
        }
    }

    /// Keeps every contact the ledger answers for as due (new, or already present and still
    /// `due`) or already final until [`LedgerAdmitter::take_due`] takes them: the intake checks
    /// them against the do-not-call list (and finishes a suppression an earlier invocation left
    /// without its final record). The caller takes them as it goes, so they stay few.
    pub fn tracking(mut self) -> Self {
        self.track = true;
        self
    }

    /// The contacts answered as due since the last call (only with [`LedgerAdmitter::tracking`]).
    pub fn take_due(&mut self) -> Vec<DueContact> {
        std::mem::take(&mut self.due)
    }

    /// How many contacts answered as due wait to be taken.
    pub fn due_waiting(&self) -> usize {
        self.due.len()
    }

    /// Admits as round `round` of a recurring source (see `ledger::AdmitOptions::round`).
    pub fn with_round(mut self, round: impl Into<String>) -> Self {
        self.round = Some(Arc::from(round.into()));
        self
    }

    /// Stores each contact's do-not-call key (`crate::dnc`) on its item, under `keyer`.
    pub fn with_dnc_keys(mut self, keyer: crate::contact_key::ContactKeyer) -> Self {
        self.dnc = Some(Arc::new(keyer));
        self
    }

    pub fn with_policy(mut self, policy: RetryPolicy) -> Self {
        self.policy = policy;
        self
    }

    pub fn with_max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// Admits a contact (`line`: its position when the source has no line of its own). Fails
    /// once the ledger is unreachable: the caller stops reading and calls
    /// [`LedgerAdmitter::finish`].
    pub async fn push(&mut self, contact: Contact, line: Option<u64>) -> Result<(), FunctionError> {
        let origin = origin_of(&contact, line);
        if let Some(err) = &self.abort {
            self.unsent.push(origin);
            return Err(err.clone());
        }
        let (ledger, due_at, rules, round, dnc, policy, track) = (
            self.ledger.clone(),
            self.due_at,
            self.rules.clone(),
            self.round.clone(),
            self.dnc.clone(),
            self.policy,
            self.track,
        );
        self.in_flight.push(Box::pin(async move {
            let options = AdmitOptions {
                due_at,
                rules: rules.as_deref(),
                round: round.as_deref(),
                dnc: dnc.as_deref(),
            };
            let answer = policy
                .retry(|| admit(&ledger, &contact, &options, Utc::now()))
                .await;
            (origin, answer, track.then_some(contact))
        }));
        while self.in_flight.len() >= self.max_in_flight {
            self.collect_one().await;
        }
        match &self.abort {
            Some(err) => Err(err.clone()),
            None => Ok(()),
        }
    }

    /// Waits for every admission in flight.
    pub async fn finish(mut self) -> Result<AdmitSummary, AdmitAbort> {
        self.drain().await;
        match self.abort {
            Some(error) => Err(AdmitAbort {
                error,
                admitted: self.summary.admitted,
                already_present: self.summary.already_present,
                failed: self.summary.failed,
                unsent: self.unsent,
            }),
            None => Ok(self.summary),
        }
    }

    /// Waits for every admission in flight; the admitter takes more afterwards (the contacts
    /// answered as due are then all waiting in [`LedgerAdmitter::take_due`]).
    pub async fn drain(&mut self) {
        while !self.in_flight.is_empty() {
            self.collect_one().await;
        }
    }

    async fn collect_one(&mut self) {
        let Some((origin, answer, contact)) = self.in_flight.next().await else {
            return;
        };
        match answer {
            Ok(Admission::Admitted) => {
                self.summary.admitted += 1;
                if let Some(contact) = contact {
                    self.due.push(DueContact {
                        contact,
                        new: true,
                        state: crate::ledger::ContactState::Due,
                    });
                }
            }
            Ok(Admission::AlreadyPresent { state }) => {
                self.summary.already_present += 1;
                use crate::ledger::ContactState::{Due, Final};
                if let (Some(contact), Some(state @ (Due | Final))) = (contact, state) {
                    self.due.push(DueContact {
                        contact,
                        new: false,
                        state,
                    });
                }
            }
            Err(e) if e.name == crate::error::ErrorName::InvalidInput => {
                self.summary.failed.push(Failed {
                    origin,
                    reason: format!("the campaign ledger refused the contact: {}", e.message),
                })
            }
            Err(e) => {
                // Transient past the retries, or the table itself refused (missing, access
                // denied): every other contact would fail the same way.
                debug_assert!(
                    is_transient(e.name) || e.name == crate::error::ErrorName::ConfigError
                );
                self.unsent.push(origin);
                if self.abort.is_none() {
                    tracing::error!(error = %e, "the campaign ledger keeps failing: stopping");
                    self.abort = Some(e);
                }
            }
        }
    }
}
