//! `outbound plan`: the plan load-list writes for each uploaded file once its intake finishes
//! (`plans/campaign=<campaign>/<file>.json` and `.txt` in the results bucket), and the wait for
//! it behind `outbound upload --plan-only`.

use crate::cli::PlanArgs;
use crate::deployment::{Clients, Deployment};
use crate::error::{CliError, Result};
use outbound_core::records::{plan_object_key, plan_prefix};
use std::time::{Duration, Instant};

/// How often `upload --plan-only` looks for the plan.
const POLL: Duration = Duration::from_secs(1);

/// The JSON plans of `campaign`: key and last-modified time (ms).
async fn list(s3: &aws_sdk_s3::Client, bucket: &str, campaign: &str) -> Result<Vec<(String, i64)>> {
    let prefix = plan_prefix(campaign);
    let mut out = Vec::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(&prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| crate::error::aws(&format!("listing s3://{bucket}/{prefix}"), &e))?;
        for o in page.contents() {
            if let Some(key) = o.key().filter(|k| k.ends_with(".json")) {
                let modified = o
                    .last_modified()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0);
                out.push((key.to_string(), modified));
            }
        }
    }
    Ok(out)
}

/// Which plan to show: `file`'s (its object key, or the name `outbound upload` put under
/// `campaigns/<campaign>/`), else the latest.
pub fn choose(plans: &[(String, i64)], campaign: &str, file: Option<&str>) -> Option<String> {
    match file {
        Some(file) => {
            let candidates = [
                plan_object_key(campaign, file, "json"),
                plan_object_key(campaign, &format!("campaigns/{campaign}/{file}"), "json"),
            ];
            candidates
                .into_iter()
                .find(|c| plans.iter().any(|(k, _)| k == c))
        }
        None => plans
            .iter()
            .max_by(|a, b| (a.1, &a.0).cmp(&(b.1, &b.0)))
            .map(|(k, _)| k.clone()),
    }
}

async fn read(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<String> {
    let obj = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| crate::error::aws(&format!("reading s3://{bucket}/{key}"), &e))?;
    let bytes = obj
        .body
        .collect()
        .await
        .map_err(|e| CliError::failure(format!("reading s3://{bucket}/{key}: {e}")))?
        .into_bytes();
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Prints the plan at `json_key`: its JSON, or the text written beside it.
async fn print(s3: &aws_sdk_s3::Client, bucket: &str, json_key: &str, json: bool) -> Result<()> {
    if json {
        let body = read(s3, bucket, json_key).await?;
        serde_json::from_str::<serde_json::Value>(&body).map_err(|e| {
            CliError::failure(format!("s3://{bucket}/{json_key} is not a plan: {e}"))
        })?;
        print!("{}", body.trim_end());
        println!();
    } else {
        let text_key = format!("{}.txt", json_key.trim_end_matches(".json"));
        print!("{}", read(s3, bucket, &text_key).await?);
    }
    Ok(())
}

pub async fn run(args: &PlanArgs, d: &Deployment, clients: &Clients) -> Result<()> {
    let bucket = Deployment::need(&d.results_bucket, "results_bucket_name", "results-bucket")?;
    let plans = list(&clients.s3, bucket, &args.campaign).await?;
    let Some(key) = choose(&plans, &args.campaign, args.file.as_deref()) else {
        let prefix = plan_prefix(&args.campaign);
        return Err(match (&args.file, plans.is_empty()) {
            (_, true) => CliError::failure(format!(
                "campaign '{}' has no plan in s3://{bucket}/{prefix}: check the name, or wait for its file's intake to finish (`outbound upload --plan-only` plans a file without dialing)",
                args.campaign
            )),
            (Some(file), false) => CliError::failure(format!(
                "no plan for file '{file}' in s3://{bucket}/{prefix}; plans there: {}",
                plans
                    .iter()
                    .map(|(k, _)| k.trim_start_matches(&prefix).trim_end_matches(".json"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            (None, false) => unreachable!("a plan is chosen when there is one"),
        });
    };
    print(&clients.s3, bucket, &key, args.json).await
}

/// The ETag of the plan at `key`, `None` when there is none.
async fn etag(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<Option<String>> {
    match s3.head_object().bucket(bucket).key(key).send().await {
        Ok(o) => Ok(Some(o.e_tag().unwrap_or_default().to_string())),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_not_found()) => Ok(None),
        Err(e) => Err(crate::error::aws(
            &format!("reading s3://{bucket}/{key}"),
            &e,
        )),
    }
}

/// The plan of `campaign`'s `object` as it is before an upload (its ETag, if any): the wait
/// after the upload looks for another one.
pub async fn before_upload(
    d: &Deployment,
    clients: &Clients,
    campaign: &str,
    object: &str,
) -> Result<Option<String>> {
    let bucket = Deployment::need(&d.results_bucket, "results_bucket_name", "results-bucket")?;
    etag(
        &clients.s3,
        bucket,
        &plan_object_key(campaign, object, "json"),
    )
    .await
}

/// Waits up to `wait` for the plan of `object` to be written anew (an ETag other than
/// `previous`), then prints it.
pub async fn wait_and_print(
    d: &Deployment,
    clients: &Clients,
    campaign: &str,
    object: &str,
    previous: Option<String>,
    wait: Duration,
    json: bool,
) -> Result<()> {
    let bucket = Deployment::need(&d.results_bucket, "results_bucket_name", "results-bucket")?;
    let key = plan_object_key(campaign, object, "json");
    let deadline = Instant::now() + wait;
    loop {
        let now = etag(&clients.s3, bucket, &key).await?;
        if now.is_some() && now != previous {
            return print(&clients.s3, bucket, &key, json).await;
        }
        if Instant::now() >= deadline {
            return Err(CliError::failure(format!(
                "no plan at s3://{bucket}/{key} after {} s: load-list may still be reading the file (a big one takes several invocations) or may have failed (see its log and the reject report); `outbound plan {campaign} --file {object}` shows the plan once it is written",
                wait.as_secs()
            )));
        }
        tokio::time::sleep(POLL.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_plan_or_the_files() {
        let plans = vec![
            (
                "plans/campaign=spring/campaigns_spring_week1.csv.json".to_string(),
                1_000,
            ),
            (
                "plans/campaign=spring/campaigns_spring_week2.csv.json".to_string(),
                2_000,
            ),
            (
                "plans/campaign=spring/uploads_spring.csv.json".to_string(),
                1_500,
            ),
        ];
        assert_eq!(
            choose(&plans, "spring", None).as_deref(),
            Some("plans/campaign=spring/campaigns_spring_week2.csv.json")
        );
        assert_eq!(
            choose(&plans, "spring", Some("week1.csv")).as_deref(),
            Some("plans/campaign=spring/campaigns_spring_week1.csv.json")
        );
        assert_eq!(
            choose(&plans, "spring", Some("uploads/spring.csv")).as_deref(),
            Some("plans/campaign=spring/uploads_spring.csv.json")
        );
        assert_eq!(choose(&plans, "spring", Some("week3.csv")), None);
        assert_eq!(choose(&[], "spring", None), None);
    }
}
