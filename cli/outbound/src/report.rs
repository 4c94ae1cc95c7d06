//! `outbound report`: one self-contained HTML file (no script, no stylesheet or font fetched) of a
//! campaign: figures, outcomes, calls and answers per hour, answer rate by hour and by caller ID,
//! attempts per contact, final reasons and rejects. Charts are inline SVG drawn here; every bar
//! and point carries its figure (`data-label`, `data-value`), so a browser test can check what
//! was drawn against the records.

use crate::error::{CliError, Result};
use chrono::{DateTime, Timelike, Utc};
use outbound_core::records::{FinalRecord, Outcome, RejectRecord, ResultRecord};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// What the report is made of.
#[derive(Debug, Default)]
pub struct ReportData {
    pub campaign: String,
    pub results: Vec<ResultRecord>,
    pub finals: Vec<FinalRecord>,
    pub rejects: Vec<RejectRecord>,
    /// Whether finals and rejects were read (not when the report is built from a results file).
    pub with_finals_and_rejects: bool,
}

/// The figures the charts draw, computed once from the records.
#[derive(Debug, Default, PartialEq)]
pub struct Figures {
    pub calls: u64,
    pub contacts: u64,
    pub answered: u64,
    pub outcomes: BTreeMap<String, u64>,
    /// Hour (UTC, `YYYY-MM-DD HH:00`) → (calls, answered).
    pub per_hour: BTreeMap<String, (u64, u64)>,
    /// Caller ID (`queue number` when none was routed) → (calls, answered).
    pub per_caller_id: BTreeMap<String, (u64, u64)>,
    /// Attempts → contacts that had that many.
    pub attempts_per_contact: BTreeMap<u32, u64>,
    pub final_reasons: BTreeMap<String, u64>,
}

/// The caller ID label of a call that went out with the queue's own number.
pub const QUEUE_NUMBER: &str = "queue number";

fn hour_of(r: &ResultRecord) -> String {
    let at = r.dialed_at.as_deref().unwrap_or(&r.completed_at);
    match DateTime::parse_from_rfc3339(at) {
        Ok(t) => {
            let t = t.with_timezone(&Utc);
            format!("{} {:02}:00", t.format("%Y-%m-%d"), t.hour())
        }
        Err(_) => "unknown".to_string(),
    }
}

pub fn figures(data: &ReportData) -> Figures {
    let mut f = Figures::default();
    let mut attempts: HashMap<&str, u32> = HashMap::new();
    for r in &data.results {
        let answered = r.outcome == Outcome::Connected;
        f.calls += 1;
        f.answered += answered as u64;
        *f.outcomes
            .entry(r.outcome.as_str().to_string())
            .or_default() += 1;
        let h = f.per_hour.entry(hour_of(r)).or_default();
        h.0 += 1;
        h.1 += answered as u64;
        let c = f
            .per_caller_id
            .entry(
                r.caller_id
                    .clone()
                    .unwrap_or_else(|| QUEUE_NUMBER.to_string()),
            )
            .or_default();
        c.0 += 1;
        c.1 += answered as u64;
        let a = attempts.entry(&r.contact_key).or_default();
        *a = (*a).max(r.attempt);
    }
    f.contacts = attempts.len() as u64;
    for n in attempts.values() {
        *f.attempts_per_contact.entry(*n).or_default() += 1;
    }
    // Hours without a call between the first and the last are drawn empty: a gap is a finding.
    if let (Some(first), Some(last)) = (
        f.per_hour.keys().find(|k| *k != "unknown").cloned(),
        f.per_hour.keys().rfind(|k| *k != "unknown").cloned(),
    ) {
        let parse = |k: &str| {
            chrono::NaiveDateTime::parse_from_str(&format!("{k}:00"), "%Y-%m-%d %H:%M:%S").ok()
        };
        if let (Some(mut t), Some(end)) = (parse(&first), parse(&last)) {
            while t < end {
                t += chrono::Duration::hours(1);
                f.per_hour
                    .entry(t.format("%Y-%m-%d %H:00").to_string())
                    .or_default();
            }
        }
    }
    for fr in &data.finals {
        *f.final_reasons.entry(fr.final_reason.clone()).or_default() += 1;
    }
    f
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn rate(answered: u64, calls: u64) -> f64 {
    if calls == 0 {
        0.0
    } else {
        answered as f64 / calls as f64
    }
}

const W: f64 = 720.0;
const H: f64 = 290.0;
const LEFT: f64 = 48.0;
// Room for a turned `YYYY-MM-DD HH:00` label under the axis.
const BOTTOM: f64 = 86.0;
const TOP: f64 = 16.0;

/// A vertical bar chart: one group per label, one bar per series in each group.
/// `groups`: (label, [(series, value)]). Values are counts, or rates with `percent`.
fn bar_chart(
    id: &str,
    title: &str,
    series: &[&str],
    groups: &[(String, Vec<f64>)],
    percent: bool,
) -> String {
    let mut svg = String::new();
    let max = groups
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max);
    let top = if percent { 1.0 } else { max.max(1.0) };
    let plot_h = H - BOTTOM - TOP;
    let plot_w = W - LEFT - 8.0;
    let group_w = plot_w / groups.len().max(1) as f64;
    let bar_w = (group_w * 0.8 / series.len() as f64).max(1.0);
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
        escape(title),
        escape(title)
    );
    let axis = |v: f64| {
        if percent {
            format!("{:.0}%", v * 100.0)
        } else if v.fract() == 0.0 {
            format!("{v}")
        } else {
            // Half of an odd count: 2.5, not a rounded 3 that no bar reaches.
            format!("{v:.1}")
        }
    };
    for tick in [0.0, 0.5, 1.0] {
        let y = TOP + plot_h * (1.0 - tick);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{}</text>"##,
            W - 8.0,
            LEFT - 4.0,
            y + 3.0,
            axis(top * tick)
        );
    }
    let colours = ["#4472c4", "#70ad47", "#ed7d31"];
    for (gi, (label, values)) in groups.iter().enumerate() {
        let gx = LEFT + gi as f64 * group_w + group_w * 0.1;
        for (si, v) in values.iter().enumerate() {
            let h = plot_h * (v / top);
            let value = if percent {
                format!("{v:.4}")
            } else {
                format!("{v}")
            };
            let _ = write!(
                svg,
                r#"<rect class="bar" data-series="{}" data-label="{}" data-value="{value}" x="{:.1}" y="{:.1}" width="{bar_w:.1}" height="{h:.1}" fill="{}"><title>{}: {}</title></rect>"#,
                escape(series[si]),
                escape(label),
                gx + si as f64 * bar_w,
                TOP + plot_h - h,
                colours[si % colours.len()],
                escape(label),
                axis(*v),
            );
        }
        // Labels are turned so that 24 hours of `HH:00` stay legible.
        let lx = gx + bar_w * values.len() as f64 / 2.0;
        let _ = write!(
            svg,
            r#"<text class="label" x="{lx:.1}" y="{:.1}" font-size="10" text-anchor="end" transform="rotate(-35 {lx:.1} {:.1})">{}</text>"#,
            H - BOTTOM + 12.0,
            H - BOTTOM + 12.0,
            escape(label)
        );
    }
    if series.len() > 1 {
        for (si, s) in series.iter().enumerate() {
            let x = W - 160.0 + si as f64 * 70.0;
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="2" width="10" height="10" fill="{}"/><text x="{}" y="11" font-size="11">{}</text>"#,
                colours[si % colours.len()],
                x + 14.0,
                escape(s)
            );
        }
    }
    svg.push_str("</svg></figure>\n");
    svg
}

/// A line of rates (0–1), one point per label.
fn line_chart(id: &str, title: &str, points: &[(String, f64)]) -> String {
    let mut svg = String::new();
    let plot_h = H - BOTTOM - TOP;
    let plot_w = W - LEFT - 8.0;
    let step = plot_w / points.len().max(1) as f64;
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" role="img" aria-label="{}">"#,
        escape(title),
        escape(title)
    );
    for tick in [0.0, 0.5, 1.0] {
        let y = TOP + plot_h * (1.0 - tick);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{}" y="{:.1}" font-size="10" text-anchor="end">{:.0}%</text>"##,
            W - 8.0,
            LEFT - 4.0,
            y + 3.0,
            tick * 100.0
        );
    }
    let xy: Vec<(f64, f64)> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| (LEFT + step * (i as f64 + 0.5), TOP + plot_h * (1.0 - v)))
        .collect();
    if xy.len() > 1 {
        let path: Vec<String> = xy.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            svg,
            r##"<polyline fill="none" stroke="#4472c4" stroke-width="2" points="{}"/>"##,
            path.join(" ")
        );
    }
    for ((label, v), (x, y)) in points.iter().zip(&xy) {
        let _ = write!(
            svg,
            r##"<circle class="point" data-label="{}" data-value="{v:.4}" cx="{x:.1}" cy="{y:.1}" r="4" fill="#4472c4"><title>{}: {:.1}%</title></circle><text class="label" x="{x:.1}" y="{:.1}" font-size="10" text-anchor="end" transform="rotate(-35 {x:.1} {:.1})">{}</text>"##,
            escape(label),
            escape(label),
            v * 100.0,
            H - BOTTOM + 12.0,
            H - BOTTOM + 12.0,
            escape(label)
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

fn table(id: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    let mut t = format!(r#"<table id="{id}"><thead><tr>"#);
    for h in head {
        let _ = write!(t, "<th>{}</th>", escape(h));
    }
    t.push_str("</tr></thead><tbody>");
    for r in rows {
        t.push_str("<tr>");
        for c in r {
            let _ = write!(t, "<td>{}</td>", escape(c));
        }
        t.push_str("</tr>");
    }
    t.push_str("</tbody></table>\n");
    t
}

/// The whole page.
pub fn render(data: &ReportData, generated_at: DateTime<Utc>) -> String {
    let f = figures(data);
    let mut body = String::new();
    let figure = |name: &str, label: &str, value: String| {
        format!(
            r#"<div class="figure"><dt>{}</dt><dd data-figure="{name}">{}</dd></div>"#,
            escape(label),
            escape(&value)
        )
    };
    body.push_str("<dl class=\"figures\">");
    body.push_str(&figure("calls", "calls", f.calls.to_string()));
    body.push_str(&figure(
        "contacts",
        "contacts dialed",
        f.contacts.to_string(),
    ));
    body.push_str(&figure("answered", "answered", f.answered.to_string()));
    body.push_str(&figure(
        "answer-rate",
        "answer rate",
        format!("{:.1}%", rate(f.answered, f.calls) * 100.0),
    ));
    if data.with_finals_and_rejects {
        body.push_str(&figure(
            "finals",
            "final contacts",
            data.finals.len().to_string(),
        ));
        body.push_str(&figure(
            "rejects",
            "rejected rows",
            data.rejects.len().to_string(),
        ));
    }
    body.push_str("</dl>\n");

    let one = |m: &BTreeMap<String, u64>| -> Vec<(String, Vec<f64>)> {
        m.iter()
            .map(|(k, v)| (k.clone(), vec![*v as f64]))
            .collect()
    };
    body.push_str("<h2>Outcomes</h2>\n");
    body.push_str(&bar_chart(
        "chart-outcomes",
        "Calls by outcome",
        &["calls"],
        &one(&f.outcomes),
        false,
    ));

    body.push_str("<h2>Calls and answers per hour (UTC)</h2>\n");
    let hourly: Vec<(String, Vec<f64>)> = f
        .per_hour
        .iter()
        .map(|(h, (c, a))| (h.clone(), vec![*c as f64, *a as f64]))
        .collect();
    body.push_str(&bar_chart(
        "chart-hourly",
        "Calls and answers per hour",
        &["calls", "answered"],
        &hourly,
        false,
    ));
    let hourly_rate: Vec<(String, f64)> = f
        .per_hour
        .iter()
        .filter(|(_, (c, _))| *c > 0)
        .map(|(h, (c, a))| (h.clone(), rate(*a, *c)))
        .collect();
    body.push_str(&line_chart(
        "chart-answer-rate-hour",
        "Answer rate by hour",
        &hourly_rate,
    ));

    body.push_str("<h2>Answer rate by caller ID</h2>\n");
    let by_caller: Vec<(String, Vec<f64>)> = f
        .per_caller_id
        .iter()
        .map(|(k, (c, a))| (k.clone(), vec![rate(*a, *c)]))
        .collect();
    body.push_str(&bar_chart(
        "chart-answer-rate-caller-id",
        "Answer rate by caller ID",
        &["answer rate"],
        &by_caller,
        true,
    ));
    body.push_str(&table(
        "table-caller-id",
        &["caller ID", "calls", "answered", "answer rate"],
        &f.per_caller_id
            .iter()
            .map(|(k, (c, a))| {
                vec![
                    k.clone(),
                    c.to_string(),
                    a.to_string(),
                    format!("{:.1}%", rate(*a, *c) * 100.0),
                ]
            })
            .collect::<Vec<_>>(),
    ));

    body.push_str("<h2>Attempts per contact</h2>\n");
    let attempts: Vec<(String, Vec<f64>)> = f
        .attempts_per_contact
        .iter()
        .map(|(n, c)| (n.to_string(), vec![*c as f64]))
        .collect();
    body.push_str(&bar_chart(
        "chart-attempts",
        "Contacts by number of attempts",
        &["contacts"],
        &attempts,
        false,
    ));

    if data.with_finals_and_rejects {
        body.push_str("<h2>Final reasons</h2>\n");
        body.push_str(&table(
            "table-final-reasons",
            &["reason", "contacts"],
            &f.final_reasons
                .iter()
                .map(|(k, v)| vec![k.clone(), v.to_string()])
                .collect::<Vec<_>>(),
        ));
        body.push_str("<h2>Rejected rows</h2>\n");
        let mut rejects = data.rejects.clone();
        rejects.sort_by(|a, b| (&a.source, a.line).cmp(&(&b.source, b.line)));
        body.push_str(&table(
            "table-rejects",
            &["file", "line", "reason", "number"],
            &rejects
                .iter()
                .map(|r| {
                    vec![
                        r.source.clone(),
                        r.line.to_string(),
                        r.reason.clone(),
                        r.phone_masked.clone().unwrap_or_default(),
                    ]
                })
                .collect::<Vec<_>>(),
        ));
    }

    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Campaign {c}: outbound report</title>
<style>
body{{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:760px}}
dl.figures{{display:flex;flex-wrap:wrap;gap:1em}} .figure{{border:1px solid #ddd;padding:.5em 1em}}
dt{{font-size:.8em;color:#666}} dd{{margin:0;font-size:1.4em}}
figure{{margin:1em 0}} figcaption{{font-size:.9em;color:#444}}
table{{border-collapse:collapse;margin:1em 0}} td,th{{border:1px solid #ddd;padding:.2em .6em;text-align:left}}
</style></head>
<body>
<h1>Campaign {c}</h1>
<p class="generated">Generated {g} from {n} results records{src}.</p>
{body}</body></html>
"#,
        c = escape(&data.campaign),
        g = generated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        n = data.results.len(),
        src = if data.with_finals_and_rejects {
            ", the final records and the reject reports"
        } else {
            ""
        },
    )
}

pub async fn run(
    args: &crate::cli::ReportArgs,
    d: Option<&crate::deployment::Deployment>,
    clients: Option<&crate::deployment::Clients>,
) -> Result<()> {
    let data = match (&args.from, d, clients) {
        (Some(path), _, _) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
            let mut results: Vec<ResultRecord> =
                crate::results::parse_lines(&path.display().to_string(), &text)?;
            results.retain(|r| r.campaign == args.campaign);
            if results.is_empty() {
                return Err(CliError::failure(format!(
                    "{} holds no record of campaign '{}'",
                    path.display(),
                    args.campaign
                )));
            }
            crate::results::sort(&mut results);
            ReportData {
                campaign: args.campaign.clone(),
                results,
                ..Default::default()
            }
        }
        (None, Some(d), Some(c)) => ReportData {
            campaign: args.campaign.clone(),
            results: crate::results::fetch(d, c, &args.campaign).await?,
            finals: crate::results::fetch_finals(d, c, &args.campaign).await?,
            rejects: crate::results::fetch_rejects(d, c, &args.campaign).await?,
            with_finals_and_rejects: true,
        },
        _ => unreachable!("the deployment is resolved unless --from is given"),
    };
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| format!("report-{}.html", args.campaign).into());
    std::fs::write(&path, render(&data, Utc::now()))
        .map_err(|e| CliError::usage(format!("cannot write {}: {e}", path.display())))?;
    println!("{}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(key: &str, attempt: u32, outcome: &str, caller: Option<&str>, at: &str) -> ResultRecord {
        serde_json::from_value(serde_json::json!({
            "campaign": "c", "run_id": "r", "contact_key": key, "customer_key": "k",
            "phone_masked": "+44*******001", "attempt": attempt, "contact_id": null,
            "outcome": outcome, "disposition": null, "lane": 1, "caller_id": caller,
            "dialed_at": at, "disconnected_at": null, "completed_at": at, "source": {}
        }))
        .unwrap()
    }

    #[test]
    fn figures_count_calls_answers_hours_and_attempts() {
        let data = ReportData {
            campaign: "c".into(),
            results: vec![
                rec("a", 1, "busy", None, "2026-12-07T09:10:00Z"),
                rec("a", 2, "connected", Some("+441"), "2026-12-07T11:05:00Z"),
                rec("b", 1, "connected", Some("+441"), "2026-12-07T09:20:00Z"),
                rec("c", 1, "no_answer", None, "2026-12-07T09:30:00+01:00"),
            ],
            ..Default::default()
        };
        let f = figures(&data);
        assert_eq!((f.calls, f.contacts, f.answered), (4, 3, 2));
        assert_eq!(f.per_hour["2026-12-07 08:00"], (1, 0), "offsets become UTC");
        assert_eq!(f.per_hour["2026-12-07 09:00"], (2, 1));
        assert_eq!(
            f.per_hour["2026-12-07 10:00"],
            (0, 0),
            "an hour without calls is drawn"
        );
        assert_eq!(f.per_caller_id[QUEUE_NUMBER], (2, 0));
        assert_eq!(f.attempts_per_contact, BTreeMap::from([(1, 2), (2, 1)]));
        let html = render(&data, Utc::now());
        assert_eq!(
            html.matches(r#"class="bar" data-series="calls""#).count(),
            3 + 4,
            "3 outcomes and 4 hours: {html}"
        );
        assert!(!html.contains("<script"), "no script in the report");
    }

    #[test]
    fn text_from_the_records_is_escaped() {
        assert_eq!(
            escape(r#"<b a="x">&'"#),
            "&lt;b a=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
