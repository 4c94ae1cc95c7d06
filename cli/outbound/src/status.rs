//! `outbound status`: where each contact of a campaign is, from the campaign ledger
//! (docs/architecture.md, "The campaign ledger": one `CONTACT#<campaign>#<key>` item per
//! contact with its `state`), the pace from the results objects written lately, and the queue.
//!
//! The ledger has no index by campaign (its key spreads intake writes), so the counts are one
//! `Scan` of the table with a filter: read capacity of the table's size per refresh, which is
//! why `--watch` refreshes every few seconds, not continuously.

use crate::deployment::{Clients, Deployment};
use crate::error::{CliError, Result};
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, Utc};
use outbound_core::ledger::schedule::{self, CampaignSchedule};
use outbound_core::ledger::CampaignLedger;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// The window the pace is measured over.
pub const PACE_MINUTES: i64 = 10;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CampaignStatus {
    pub campaign: String,
    pub loaded: u64,
    /// Due and `dueAt` passed: waiting for a lane.
    pub due_now: u64,
    /// Due later: a redial's delay, a callback, or a calling window still closed.
    pub due_later: u64,
    /// Contacts a calling rule gave back for later at least once.
    pub deferred: u64,
    pub leased: u64,
    /// Calls in progress: one per lane in use.
    pub dialing: u64,
    pub final_total: u64,
    pub final_by_reason: BTreeMap<String, u64>,
    /// Calls (results records) of the campaign so far.
    pub calls: u64,
    /// Calls per minute over the last [`PACE_MINUTES`] minutes.
    pub calls_per_minute: f64,
    /// When the contacts due now would all be called at that pace (RFC 3339), if it is known.
    pub estimated_finish: Option<String>,
    /// The campaign's schedule and where it stands, when it has one.
    pub schedule: Option<ScheduleStatus>,
}

/// A campaign's schedule as `outbound status` shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ScheduleStatus {
    /// RFC 3339, UTC.
    pub start: Option<String>,
    pub end: Option<String>,
    /// `not_started`, `open` or `ended`.
    pub phase: String,
    /// The phase in words (`not started (opens …)`).
    pub text: String,
}

impl ScheduleStatus {
    pub fn of(schedule: &CampaignSchedule, now: DateTime<Utc>) -> ScheduleStatus {
        let time = |t: Option<DateTime<Utc>>| {
            t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        };
        ScheduleStatus {
            start: time(schedule.start),
            end: time(schedule.end),
            phase: crate::schedule::phase_name(schedule, now).to_string(),
            text: crate::schedule::phase_text(schedule, now),
        }
    }
}

fn num(item: &HashMap<String, AttributeValue>, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

/// Adds one ledger item to its campaign's counts.
pub fn count_item(
    by_campaign: &mut BTreeMap<String, CampaignStatus>,
    item: &HashMap<String, AttributeValue>,
    now_ms: i64,
) {
    let Some(pk) = text(item, "pk") else { return };
    let Some(rest) = pk.strip_prefix("CONTACT#") else {
        return;
    };
    // The campaign is its own attribute; the key's part before the last '#' says the same.
    let campaign = text(item, "campaign")
        .map(str::to_string)
        .or_else(|| rest.rsplit_once('#').map(|(c, _)| c.to_string()))
        .unwrap_or_default();
    let s = by_campaign
        .entry(campaign.clone())
        .or_insert_with(|| CampaignStatus {
            campaign,
            ..Default::default()
        });
    s.loaded += 1;
    if num(item, "deferrals").unwrap_or(0) > 0 {
        s.deferred += 1;
    }
    match text(item, "state").unwrap_or("") {
        "due" => {
            if num(item, "dueAt").unwrap_or(0) <= now_ms {
                s.due_now += 1
            } else {
                s.due_later += 1
            }
        }
        "leased" => s.leased += 1,
        "dialing" => s.dialing += 1,
        "final" => {
            s.final_total += 1;
            *s.final_by_reason
                .entry(text(item, "finalReason").unwrap_or("unknown").to_string())
                .or_default() += 1;
        }
        _ => {}
    }
}

/// Pace and finish from the results objects' times (epoch ms) of one campaign.
pub fn pace(s: &mut CampaignStatus, written_ms: &[i64], now: DateTime<Utc>) {
    let since = now.timestamp_millis() - PACE_MINUTES * 60_000;
    s.calls = written_ms.len() as u64;
    let recent = written_ms.iter().filter(|t| **t >= since).count();
    s.calls_per_minute = recent as f64 / PACE_MINUTES as f64;
    let remaining = s.due_now + s.leased + s.dialing;
    s.estimated_finish = if remaining == 0 {
        Some(now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    } else if s.calls_per_minute > 0.0 {
        let minutes = remaining as f64 / s.calls_per_minute;
        Some(
            (now + chrono::Duration::seconds((minutes * 60.0).ceil() as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        )
    } else {
        None
    };
}

/// The counts of every campaign (or of one), from one scan of the ledger.
pub async fn collect(
    d: &Deployment,
    clients: &Clients,
    campaign: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<CampaignStatus>> {
    let table = Deployment::need(
        &d.ledger_table,
        "campaign_ledger_table_name",
        "ledger-table",
    )?;
    let prefix = match campaign {
        Some(c) => format!("CONTACT#{c}#"),
        None => "CONTACT#".to_string(),
    };
    let mut by_campaign = BTreeMap::new();
    let mut pages = clients
        .dynamodb
        .scan()
        .table_name(table)
        .filter_expression("begins_with(pk, :p)")
        .projection_expression("pk, campaign, #state, dueAt, finalReason, deferrals")
        .expression_attribute_names("#state", "state")
        .expression_attribute_values(":p", AttributeValue::S(prefix))
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page = page
            .map_err(|e| crate::error::aws(&format!("reading the campaign ledger {table}"), &e))?;
        for item in page.items() {
            count_item(&mut by_campaign, item, now.timestamp_millis());
        }
    }
    if let Some(c) = campaign {
        if !by_campaign.contains_key(c) {
            return Err(CliError::failure(format!(
                "campaign '{c}' not found in the campaign ledger {table}: check the name (`outbound status` lists the campaigns)"
            )));
        }
    }
    let mut out: Vec<CampaignStatus> = by_campaign.into_values().collect();
    // The schedules of the campaigns shown, in one lookup.
    let ledger = CampaignLedger {
        dynamodb: clients.dynamodb.clone(),
        table_name: table.to_string(),
        final_retention: None,
    };
    let ids: Vec<&str> = out.iter().map(|s| s.campaign.as_str()).collect();
    let schedules = schedule::read_many(&ledger, &ids)
        .await
        .map_err(|e| CliError::failure(format!("reading the campaigns' schedules: {e}")))?;
    for s in &mut out {
        s.schedule = schedules
            .get(&s.campaign)
            .map(|schedule| ScheduleStatus::of(schedule, now));
    }
    if let Some(bucket) = &d.results_bucket {
        for s in &mut out {
            let times = result_times(clients, bucket, &s.campaign).await?;
            pace(s, &times, now);
        }
    }
    Ok(out)
}

/// When each results object of the campaign was written (a listing, no object read).
async fn result_times(clients: &Clients, bucket: &str, campaign: &str) -> Result<Vec<i64>> {
    let prefix = format!(
        "results/campaign={}/",
        outbound_core::records::partition_safe(campaign)
    );
    let mut times = Vec::new();
    let mut pages = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| crate::error::aws(&format!("listing s3://{bucket}/{prefix}"), &e))?;
        times.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.last_modified().and_then(|t| t.to_millis().ok())),
        );
    }
    Ok(times)
}

/// The contact queue's depth: (waiting, in flight).
async fn queue_depth(clients: &Clients, url: &str) -> Result<(u64, u64)> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let out = clients
        .sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(A::ApproximateNumberOfMessages)
        .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .map_err(|e| crate::error::aws("reading the contact queue", &e))?;
    let get = |a: A| {
        out.attributes()
            .and_then(|m| m.get(&a))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Ok((
        get(A::ApproximateNumberOfMessages),
        get(A::ApproximateNumberOfMessagesNotVisible),
    ))
}

/// `[#########---------]  45%`
pub fn progress_bar(done: u64, total: u64, width: usize) -> String {
    let fraction = if total == 0 {
        1.0
    } else {
        done as f64 / total as f64
    };
    let filled = ((fraction * width as f64).round() as usize).min(width);
    format!(
        "[{}{}] {:>3.0}%",
        "#".repeat(filled),
        "-".repeat(width - filled),
        fraction * 100.0
    )
}

pub fn render(s: &CampaignStatus) -> String {
    let reasons = if s.final_by_reason.is_empty() {
        "-".to_string()
    } else {
        s.final_by_reason
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let schedule = s
        .schedule
        .as_ref()
        .map(|sc| {
            format!(
                "  schedule           {} to {}: {}\n",
                sc.start.as_deref().unwrap_or("-"),
                sc.end.as_deref().unwrap_or("-"),
                sc.text
            )
        })
        .unwrap_or_default();
    format!(
        "campaign {}\n{schedule}  {}  {} of {} final\n  loaded             {}\n  due now            {}\n  due later          {} (redials, callbacks, closed windows; {} deferred by a calling rule)\n  leased (queued)    {}\n  dialing            {} (lanes in use)\n  final              {} ({})\n  calls              {} ({:.1} per minute over the last {} minutes)\n  estimated finish   {}\n",
        s.campaign,
        progress_bar(s.final_total, s.loaded, 30),
        s.final_total,
        s.loaded,
        s.loaded,
        s.due_now,
        s.due_later,
        s.deferred,
        s.leased,
        s.dialing,
        s.final_total,
        reasons,
        s.calls,
        s.calls_per_minute,
        PACE_MINUTES,
        s.estimated_finish.as_deref().unwrap_or("unknown (no call in the last minutes)")
    )
}

pub async fn run(args: &crate::cli::StatusArgs, d: &Deployment, clients: &Clients) -> Result<()> {
    loop {
        let now = Utc::now();
        let all = collect(d, clients, args.campaign.as_deref(), now).await?;
        let queue = match &d.queue_url {
            Some(url) => Some(queue_depth(clients, url).await?),
            None => None,
        };
        let mut page = String::new();
        if args.watch {
            // Clear the screen and go home: the figures replace the last ones.
            page.push_str("\x1b[2J\x1b[H");
        }
        if args.json {
            let value = serde_json::json!({
                "at": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "campaigns": all,
                "queue": queue.map(|(w, f)| serde_json::json!({"waiting": w, "inFlight": f})),
            });
            page.push_str(&value.to_string());
            page.push('\n');
        } else {
            if all.is_empty() {
                page.push_str("no campaign in the ledger yet: `outbound upload FILE --campaign NAME` starts one\n");
            }
            for s in &all {
                page.push_str(&render(s));
            }
            if let Some((waiting, in_flight)) = queue {
                page.push_str(&format!(
                    "contact queue: {waiting} waiting, {in_flight} in flight\n"
                ));
            }
        }
        print!("{page}");
        let done = all.iter().all(|s| s.final_total == s.loaded);
        if !args.watch || done {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_secs(args.interval)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(pairs: &[(&str, AttributeValue)]) -> HashMap<String, AttributeValue> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
    fn s(v: &str) -> AttributeValue {
        AttributeValue::S(v.into())
    }
    fn n(v: i64) -> AttributeValue {
        AttributeValue::N(v.to_string())
    }

    #[test]
    fn each_state_is_counted_and_due_splits_at_now() {
        let now = 1_000_000;
        let mut m = BTreeMap::new();
        for it in [
            item(&[
                ("pk", s("CONTACT#a#1")),
                ("state", s("due")),
                ("dueAt", n(now - 1)),
            ]),
            item(&[
                ("pk", s("CONTACT#a#2")),
                ("state", s("due")),
                ("dueAt", n(now + 1)),
                ("deferrals", n(2)),
            ]),
            item(&[("pk", s("CONTACT#a#3")), ("state", s("dialing"))]),
            item(&[
                ("pk", s("CONTACT#a#4")),
                ("state", s("final")),
                ("finalReason", s("connected")),
            ]),
            item(&[
                ("pk", s("CONTACT#a#5")),
                ("state", s("final")),
                ("finalReason", s("dnc")),
            ]),
            item(&[
                ("pk", s("CONTACT#b#1")),
                ("campaign", s("b")),
                ("state", s("leased")),
            ]),
            item(&[("pk", s("DNC#x"))]),
        ] {
            count_item(&mut m, &it, now);
        }
        let a = &m["a"];
        assert_eq!(
            (
                a.loaded,
                a.due_now,
                a.due_later,
                a.deferred,
                a.dialing,
                a.final_total
            ),
            (5, 1, 1, 1, 1, 2)
        );
        assert_eq!(a.final_by_reason["dnc"], 1);
        assert_eq!(m["b"].leased, 1);
        assert_eq!(m.len(), 2, "a DNC item is no campaign");
    }

    #[test]
    fn the_finish_is_the_remaining_contacts_at_the_recent_pace() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .unwrap()
            .to_utc();
        let mut st = CampaignStatus {
            due_now: 18,
            dialing: 2,
            ..Default::default()
        };
        // 20 calls in the last 10 minutes (2 per minute), 5 older ones.
        let mut times: Vec<i64> = (0..20)
            .map(|i| now.timestamp_millis() - i * 20_000)
            .collect();
        times.extend((0..5).map(|i| now.timestamp_millis() - 3_600_000 - i));
        pace(&mut st, &times, now);
        assert_eq!(st.calls, 25);
        assert!((st.calls_per_minute - 2.0).abs() < 1e-9);
        assert_eq!(st.estimated_finish.as_deref(), Some("2026-12-07T10:10:00Z"));
    }

    #[test]
    fn the_bar_fills_with_the_final_share() {
        assert_eq!(progress_bar(1, 2, 10), "[#####-----]  50%");
        assert_eq!(progress_bar(0, 0, 4), "[####] 100%");
    }
}
