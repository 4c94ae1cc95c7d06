//! The deployment the tool operates: its resource names (Terraform outputs, a file of them, or
//! flags) and the AWS clients (the SDK's default chain, an optional endpoint for the local stack).

use crate::cli::DeploymentArgs;
use crate::error::{CliError, Result};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// The resource names of one deployment, as the root module's outputs name them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Deployment {
    pub input_bucket: Option<String>,
    pub results_bucket: Option<String>,
    pub ledger_table: Option<String>,
    pub queue_url: Option<String>,
    pub state_machine_arn: Option<String>,
    pub ssm_prefix: Option<String>,
    pub contact_key_kms_key_arn: Option<String>,
    /// `lambda_function_names["load-list"]`: its ALLOWED_COUNTRIES are the upload check's.
    pub load_list_function: Option<String>,
}

const NO_DEPLOYMENT: &str = "no deployment found: run in the directory of the Terraform configuration (or pass --terraform-dir DIR), give its outputs with --outputs FILE (terraform output -json > FILE), or name the resources with flags (see --help)";

impl Deployment {
    /// Outputs as `terraform output -json` prints them (`{"name": {"value": …}}`) or as a plain
    /// object of values (`{"name": …}`).
    pub fn from_outputs(json: &Value) -> Deployment {
        let get = |name: &str| -> Option<&Value> {
            let v = json.get(name)?;
            Some(v.get("value").unwrap_or(v))
        };
        let text = |name: &str| get(name).and_then(Value::as_str).map(str::to_string);
        Deployment {
            input_bucket: text("input_bucket_name"),
            results_bucket: text("results_bucket_name"),
            ledger_table: text("campaign_ledger_table_name"),
            queue_url: text("queue_url"),
            state_machine_arn: text("state_machine_arn"),
            ssm_prefix: text("ssm_prefix"),
            contact_key_kms_key_arn: text("contact_key_kms_key_arn"),
            load_list_function: get("lambda_function_names")
                .and_then(|m| m.get("load-list"))
                .and_then(Value::as_str)
                .map(str::to_string),
        }
    }

    /// The outputs file, else `terraform output -json` in the Terraform directory, then the
    /// flags over them. Nothing found and no flag given: [`NO_DEPLOYMENT`].
    pub fn resolve(args: &DeploymentArgs) -> Result<Deployment> {
        let mut d = if let Some(file) = &args.outputs {
            let text = std::fs::read_to_string(file).map_err(|e| {
                CliError::usage(format!(
                    "cannot read the outputs file {}: {e}",
                    file.display()
                ))
            })?;
            let json: Value = serde_json::from_str(&text).map_err(|e| {
                CliError::usage(format!(
                    "{} is not JSON ({e}): write it with `terraform output -json > {}`",
                    file.display(),
                    file.display()
                ))
            })?;
            Deployment::from_outputs(&json)
        } else if flags_name_everything(args) {
            Deployment::default()
        } else {
            terraform_outputs(&args.terraform_dir)
                .map(|j| Deployment::from_outputs(&j))
                .unwrap_or_default()
        };
        let over = |slot: &mut Option<String>, flag: &Option<String>| {
            if let Some(v) = flag {
                *slot = Some(v.clone());
            }
        };
        over(&mut d.input_bucket, &args.input_bucket);
        over(&mut d.results_bucket, &args.results_bucket);
        over(&mut d.ledger_table, &args.ledger_table);
        over(&mut d.queue_url, &args.queue_url);
        over(&mut d.state_machine_arn, &args.state_machine_arn);
        over(&mut d.ssm_prefix, &args.ssm_prefix);
        over(
            &mut d.contact_key_kms_key_arn,
            &args.contact_key_kms_key_arn,
        );
        if d == Deployment::default() {
            return Err(CliError::failure(NO_DEPLOYMENT));
        }
        Ok(d)
    }

    /// A name the command needs, or an error naming the output and the flag that give it.
    pub fn need<'a>(field: &'a Option<String>, output: &str, flag: &str) -> Result<&'a str> {
        field.as_deref().ok_or_else(|| {
            CliError::failure(format!(
                "the deployment has no {output} (is the dialer enabled?): pass --{flag} or check --terraform-dir/--outputs"
            ))
        })
    }

    /// `<prefix><name>`, the prefix normalised to end with `/` as the functions normalise it.
    pub fn parameter(&self, name: &str) -> Result<String> {
        let prefix = Self::need(&self.ssm_prefix, "ssm_prefix", "ssm-prefix")?;
        let mut p = prefix.to_string();
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        if !p.ends_with('/') {
            p.push('/');
        }
        Ok(format!("{p}{name}"))
    }
}

fn flags_name_everything(args: &DeploymentArgs) -> bool {
    args.input_bucket.is_some()
        && args.results_bucket.is_some()
        && args.ledger_table.is_some()
        && args.ssm_prefix.is_some()
}

/// `terraform output -json` in `dir`; `None` when terraform is missing, fails or has no outputs.
fn terraform_outputs(dir: &Path) -> Option<Value> {
    let out = std::process::Command::new("terraform")
        .arg(format!("-chdir={}", dir.display()))
        .args(["output", "-json"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let json: Value = serde_json::from_slice(&out.stdout).ok()?;
    json.as_object().filter(|o| !o.is_empty())?;
    Some(json)
}

/// The AWS clients, built once from the SDK's default chain.
pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub sfn: aws_sdk_sfn::Client,
    pub kms: aws_sdk_kms::Client,
    pub lambda: aws_sdk_lambda::Client,
}

impl Clients {
    pub async fn new(args: &DeploymentArgs) -> Result<Clients> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(region) = &args.region {
            loader = loader.region(aws_config::Region::new(region.clone()));
        }
        if let Some(url) = &args.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        if sdk.region().is_none() {
            return Err(CliError::failure(
                "no AWS region: pass --region or set AWS_REGION (or a region in the AWS profile)",
            ));
        }
        // A custom endpoint (the local stack, an S3-compatible proxy) serves buckets by path,
        // not by virtual host: `<bucket>.localhost` does not resolve.
        let custom_endpoint = args.endpoint_url.is_some()
            || std::env::var_os("AWS_ENDPOINT_URL").is_some()
            || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&sdk)
                .force_path_style(custom_endpoint)
                .build(),
        );
        Ok(Clients {
            s3,
            dynamodb: aws_sdk_dynamodb::Client::new(&sdk),
            ssm: aws_sdk_ssm::Client::new(&sdk),
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sfn: aws_sdk_sfn::Client::new(&sdk),
            kms: aws_sdk_kms::Client::new(&sdk),
            lambda: aws_sdk_lambda::Client::new(&sdk),
        })
    }
}

/// Every object under `prefix` of `bucket`: (key, body, last modified epoch ms).
pub async fn read_objects(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<(String, String, i64)>> {
    let mut keys: BTreeMap<String, i64> = BTreeMap::new();
    let mut pages = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        let page =
            page.map_err(|e| crate::error::aws(&format!("listing s3://{bucket}/{prefix}"), &e))?;
        for o in page.contents() {
            if let Some(k) = o.key() {
                let modified = o
                    .last_modified()
                    .map(|t| t.to_millis().unwrap_or(0))
                    .unwrap_or(0);
                keys.insert(k.to_string(), modified);
            }
        }
    }
    let mut out = Vec::with_capacity(keys.len());
    for (key, modified) in keys {
        let obj = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .map_err(|e| crate::error::aws(&format!("reading s3://{bucket}/{key}"), &e))?;
        let bytes = obj
            .body
            .collect()
            .await
            .map_err(|e| CliError::failure(format!("reading s3://{bucket}/{key}: {e}")))?
            .into_bytes();
        out.push((key, String::from_utf8_lossy(&bytes).into_owned(), modified));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_in_terraform_form_and_plain_form_give_the_same_names() {
        let tf = serde_json::json!({
            "input_bucket_name": {"value": "in", "type": "string", "sensitive": false},
            "ssm_prefix": {"value": "/connect/blaster/x/"},
            "lambda_function_names": {"value": {"load-list": "x-load-list"}},
            "queue_url": {"value": null}
        });
        let plain = serde_json::json!({
            "input_bucket_name": "in",
            "ssm_prefix": "/connect/blaster/x/",
            "lambda_function_names": {"load-list": "x-load-list"}
        });
        let a = Deployment::from_outputs(&tf);
        assert_eq!(a, Deployment::from_outputs(&plain));
        assert_eq!(a.input_bucket.as_deref(), Some("in"));
        assert_eq!(a.load_list_function.as_deref(), Some("x-load-list"));
        assert_eq!(a.queue_url, None, "a null output is no name");
        assert_eq!(
            a.parameter("activeBlaster").unwrap(),
            "/connect/blaster/x/activeBlaster"
        );
    }

    #[test]
    fn a_prefix_without_slashes_is_normalised() {
        let d = Deployment {
            ssm_prefix: Some("connect/blaster/x".into()),
            ..Default::default()
        };
        assert_eq!(
            d.parameter("isocountrycode").unwrap(),
            "/connect/blaster/x/isocountrycode"
        );
    }

    #[test]
    fn a_missing_name_says_which_flag_gives_it() {
        let e = Deployment::need(&None, "queue_url", "queue-url").unwrap_err();
        assert!(e.to_string().contains("--queue-url"), "{e}");
        assert_eq!(e.exit_code(), 1);
    }
}
