//! `outbound schedule <campaign>`: when a campaign may call (`outbound_core::ledger::schedule`:
//! one `SCHEDULE#<campaign>` item in the campaign ledger, `start` inclusive, `end` exclusive).
//!
//! Without options it shows the schedule and where the campaign stands (`not started`,
//! `open`, `ended`). `--start T` / `--end T` (RFC 3339 with an offset) set a bound and keep the
//! other one as stored, so moving the end of a running campaign does not drop its start; the
//! word `none` removes that bound (`--end none`: no end). `--clear` removes the schedule: the
//! campaign calls whenever contacts are due. Changes are recorded with the source `operator`.
//!
//! After a change, a run is started when none is running (as `outbound resume` does): a
//! campaign whose start was moved to now is dialed at once rather than at the next sweep, and
//! one whose end was moved to the past is closed at once. A run with nothing to do releases
//! itself.

use crate::deployment::{Clients, Deployment};
use crate::error::{CliError, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use outbound_core::ledger::schedule::{self, CampaignSchedule, Phase, StoredSchedule};
use outbound_core::ledger::CampaignLedger;

/// Who set a schedule from this tool.
pub const OPERATOR_SOURCE: &str = "operator";

/// What `--start`/`--end` asked for one bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Not given: keep the stored one.
    Keep,
    /// `none`: remove it.
    Remove,
    Set(DateTime<Utc>),
}

/// Reads `--start`/`--end`: an RFC 3339 time with its offset, or `none`.
pub fn parse_bound(flag: &str, raw: Option<&str>) -> Result<Bound> {
    let Some(raw) = raw.map(str::trim) else {
        return Ok(Bound::Keep);
    };
    if raw.eq_ignore_ascii_case("none") {
        return Ok(Bound::Remove);
    }
    DateTime::parse_from_rfc3339(raw)
        .map(|t| Bound::Set(t.with_timezone(&Utc)))
        .map_err(|e| {
            CliError::usage(format!(
                "--{flag} '{raw}' is not an RFC 3339 time with its offset ({e}): for example \
                 2026-12-08T09:00:00-05:00 or 2026-12-08T14:00:00Z, or `none` to remove it"
            ))
        })
}

/// The schedule after applying `start` and `end` to `stored`; refused when it would have no
/// bound (that is `--clear`) or end before it starts.
pub fn merge(
    stored: Option<CampaignSchedule>,
    start: Bound,
    end: Bound,
) -> Result<CampaignSchedule> {
    let old = stored.unwrap_or_default();
    let apply = |bound: Bound, old: Option<DateTime<Utc>>| match bound {
        Bound::Keep => old,
        Bound::Remove => None,
        Bound::Set(t) => Some(t),
    };
    let merged = CampaignSchedule {
        start: apply(start, old.start),
        end: apply(end, old.end),
    };
    if merged.start.is_none() && merged.end.is_none() {
        return Err(CliError::usage(
            "the schedule would have neither start nor end: use --clear to remove it",
        ));
    }
    merged
        .validate()
        .map_err(|e| CliError::usage(format!("schedule refused: {e}")))?;
    Ok(merged)
}

fn time(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "-".to_string(),
        |t| t.to_rfc3339_opts(SecondsFormat::Secs, true),
    )
}

/// The phase in words, as `outbound status` shows it too.
pub fn phase_text(schedule: &CampaignSchedule, now: DateTime<Utc>) -> String {
    match schedule.phase(now) {
        Phase::NotStarted { opens_at } => format!("not started (opens {})", time(Some(opens_at))),
        Phase::Open => match schedule.end {
            Some(end) => format!("open (ends {})", time(Some(end))),
            None => "open".to_string(),
        },
        Phase::Ended { at } => format!(
            "ended {} (due contacts are made final as campaign_ended)",
            time(Some(at))
        ),
    }
}

/// The phase's name for JSON: `not_started`, `open`, `ended`.
pub fn phase_name(schedule: &CampaignSchedule, now: DateTime<Utc>) -> &'static str {
    match schedule.phase(now) {
        Phase::NotStarted { .. } => "not_started",
        Phase::Open => "open",
        Phase::Ended { .. } => "ended",
    }
}

fn render(campaign: &str, stored: Option<&StoredSchedule>, now: DateTime<Utc>) -> String {
    match stored {
        None => format!("campaign {campaign}: no schedule (calls whenever contacts are due)\n"),
        Some(s) => format!(
            "campaign {campaign}\n  start    {}\n  end      {}\n  phase    {}\n  set by   {}{}\n",
            time(s.schedule.start),
            time(s.schedule.end),
            phase_text(&s.schedule, now),
            s.source,
            s.updated_at
                .map(|t| format!(" at {}", time(Some(t))))
                .unwrap_or_default()
        ),
    }
}

fn ledger(d: &Deployment, clients: &Clients) -> Result<CampaignLedger> {
    let table = Deployment::need(
        &d.ledger_table,
        "campaign_ledger_table_name",
        "ledger-table",
    )?;
    Ok(CampaignLedger {
        dynamodb: clients.dynamodb.clone(),
        table_name: table.to_string(),
        final_retention: None,
    })
}

pub async fn run(args: &crate::cli::ScheduleArgs, d: &Deployment, clients: &Clients) -> Result<()> {
    // The campaign id as the intake accepts it (it is part of the item's key).
    crate::upload::object_key(&args.campaign, std::path::Path::new("schedule"))?;
    let start = parse_bound("start", args.start.as_deref())?;
    let end = parse_bound("end", args.end.as_deref())?;
    let ledger = ledger(d, clients)?;
    let campaign = args.campaign.as_str();
    let read = |what: &'static str| {
        let ledger = ledger.clone();
        async move {
            schedule::read(&ledger, campaign)
                .await
                .map_err(|e| CliError::failure(format!("{what} the schedule of '{campaign}': {e}")))
        }
    };
    let changed = if args.clear {
        let was = schedule::clear(&ledger, campaign).await.map_err(|e| {
            CliError::failure(format!("removing the schedule of '{campaign}': {e}"))
        })?;
        println!(
            "{}",
            if was {
                format!("campaign {campaign}: schedule removed (calls whenever contacts are due)")
            } else {
                format!("campaign {campaign} had no schedule")
            }
        );
        was
    } else if start != Bound::Keep || end != Bound::Keep {
        let stored = read("reading").await?.map(|s| s.schedule);
        let merged = merge(stored, start, end)?;
        schedule::write(&ledger, campaign, &merged, OPERATOR_SOURCE, Utc::now())
            .await
            .map_err(|e| CliError::failure(format!("setting the schedule of '{campaign}': {e}")))?;
        true
    } else {
        false
    };
    let now = Utc::now();
    if !args.clear {
        let stored = read("reading").await?;
        if args.json {
            let value = match &stored {
                None => serde_json::json!({"campaign": campaign, "schedule": null}),
                Some(s) => serde_json::json!({
                    "campaign": campaign,
                    "schedule": {
                        "start": s.schedule.start.map(|t| time(Some(t))),
                        "end": s.schedule.end.map(|t| time(Some(t))),
                        "source": s.source,
                        "updatedAt": s.updated_at.map(|t| time(Some(t))),
                        "phase": phase_name(&s.schedule, now),
                    },
                }),
            };
            println!("{value}");
        } else {
            print!("{}", render(campaign, stored.as_ref(), now));
        }
    }
    if changed {
        start_run_if_idle(d, clients).await?;
    }
    Ok(())
}

/// Starts a run when none is running, so the new schedule takes effect now rather than at the
/// next sweep.
async fn start_run_if_idle(d: &Deployment, clients: &Clients) -> Result<()> {
    let Some(arn) = d.state_machine_arn.as_deref() else {
        eprintln!(
            "no state machine known (state_machine_arn): the next sweep applies the schedule"
        );
        return Ok(());
    };
    if !crate::control::running(clients, arn).await?.is_empty() {
        eprintln!("a run is in progress: its next wave applies the schedule");
        return Ok(());
    }
    let out = clients
        .sfn
        .start_execution()
        .state_machine_arn(arn)
        .input("{}")
        .send()
        .await
        .map_err(|e| crate::error::aws("starting the state machine", &e))?;
    eprintln!("started a run to apply it: {}", out.execution_arn());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 8, h, 0, 0).unwrap()
    }

    #[test]
    fn a_bound_is_a_time_with_its_offset_or_none() {
        assert_eq!(parse_bound("end", None).unwrap(), Bound::Keep);
        assert_eq!(parse_bound("end", Some("None")).unwrap(), Bound::Remove);
        assert_eq!(
            parse_bound("end", Some("2026-12-08T09:00:00-05:00")).unwrap(),
            Bound::Set(at(14))
        );
        for bad in ["2026-12-08T09:00:00", "tomorrow", "2026-12-08 09:00"] {
            let err = parse_bound("end", Some(bad)).unwrap_err();
            assert_eq!(err.exit_code(), 2);
            assert!(err.to_string().contains("--end"), "{err}");
        }
    }

    #[test]
    fn one_bound_given_keeps_the_other() {
        let stored = CampaignSchedule {
            start: Some(at(9)),
            end: Some(at(17)),
        };
        assert_eq!(
            merge(Some(stored), Bound::Keep, Bound::Set(at(20))).unwrap(),
            CampaignSchedule {
                start: Some(at(9)),
                end: Some(at(20))
            }
        );
        assert_eq!(
            merge(Some(stored), Bound::Remove, Bound::Keep).unwrap(),
            CampaignSchedule {
                start: None,
                end: Some(at(17))
            }
        );
        assert_eq!(
            merge(None, Bound::Set(at(9)), Bound::Keep).unwrap(),
            CampaignSchedule {
                start: Some(at(9)),
                end: None
            }
        );
        let err = merge(Some(stored), Bound::Set(at(18)), Bound::Keep).unwrap_err();
        assert!(err.to_string().contains("must come after"), "{err}");
        let err = merge(Some(stored), Bound::Remove, Bound::Remove).unwrap_err();
        assert!(err.to_string().contains("--clear"), "{err}");
    }

    #[test]
    fn the_phase_reads_in_words() {
        let s = CampaignSchedule {
            start: Some(at(9)),
            end: Some(at(17)),
        };
        assert!(phase_text(&s, at(8)).starts_with("not started (opens 2026-12-08T09:00:00Z"));
        assert_eq!(phase_text(&s, at(10)), "open (ends 2026-12-08T17:00:00Z)");
        assert!(phase_text(&s, at(18)).starts_with("ended 2026-12-08T17:00:00Z"));
        assert_eq!(phase_name(&s, at(18)), "ended");
    }
}
