//! `outbound upload`: the file is read by the intake's own parser (load-list's `csv_intake`)
//! before it leaves the machine, so the rejects the operator sees are the ones the intake would
//! write, with the same line numbers; then it goes to `campaigns/<campaign>/<file name>` in the
//! input bucket, the key layout the intake reads the campaign from.

use crate::deployment::{Clients, Deployment};
use crate::error::{CliError, Result};
use load_list::csv_intake::{campaign_of_object, CsvOptions, CsvReader, IntakeCounts, RowOutcome};
use outbound_core::contact_key::ContactKeyer;
use outbound_core::destinations::DestinationRules;
use outbound_core::records::RejectRecord;
use std::path::Path;

/// What the intake would make of a file.
#[derive(Debug)]
pub struct Check {
    pub counts: IntakeCounts,
    pub rejects: Vec<RejectRecord>,
}

/// The object key of a list for `campaign`: `campaigns/<campaign>/<file name>`. A campaign the
/// intake would refuse is refused here (exit 2), before anything is read.
pub fn object_key(campaign: &str, file: &Path) -> Result<String> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| CliError::usage(format!("{} has no file name", file.display())))?;
    let key = format!("campaigns/{campaign}/{name}");
    match campaign_of_object(&key, None) {
        Ok(id) if id == campaign => Ok(key),
        Ok(id) => Err(CliError::usage(format!(
            "the campaign name '{campaign}' would be read as '{id}': use letters, digits, '-' or '_'"
        ))),
        Err(reason) => Err(CliError::usage(format!("--campaign: {reason}"))),
    }
}

/// Reads `bytes` as the intake reads an uploaded list. A file refused as a whole (not CSV,
/// no `custID`/`phone` header) is a usage error: nothing would be loaded.
pub fn check(
    bytes: &[u8],
    key: &str,
    campaign: &str,
    default_region: Option<phonenumber::country::Id>,
    destinations: DestinationRules,
) -> Result<Check> {
    let opts = CsvOptions {
        campaign: campaign.to_string(),
        object: key.to_string(),
        default_region,
        destinations,
        // Contact keys are not shown and never leave the machine here: any secret names the
        // rows for the duplicate check, which compares customer ids and numbers, not keys.
        keyer: ContactKeyer::from_secret(b"outbound-cli-dry-run".to_vec()),
        customer_id_optional: false,
    };
    let mut reader = CsvReader::new(bytes, opts);
    let mut rejects = Vec::new();
    loop {
        match reader.next_row() {
            Ok(Some(RowOutcome::Rejected(r))) => rejects.push(r),
            Ok(Some(_)) => {}
            Ok(None) => break,
            Err(e) if e.is_refusal() => {
                return Err(CliError::usage(format!(
                    "{key}: not a contact list the intake accepts: {e} (a CSV file with a header row naming custID and phone)"
                )))
            }
            Err(e) => return Err(CliError::failure(format!("reading the file: {e}"))),
        }
    }
    Ok(Check {
        counts: reader.counts(),
        rejects,
    })
}

/// Prints the check: totals, then each reject with its line.
pub fn print_check(file: &Path, c: &Check) {
    println!(
        "{}: {} rows, {} accepted, {} rejected, {} duplicates (counted once)",
        file.display(),
        c.counts.rows,
        c.counts.accepted,
        c.counts.rejected,
        c.counts.duplicates
    );
    for r in &c.rejects {
        println!(
            "  line {:>6}  {}{}",
            r.line,
            r.reason,
            r.phone_masked
                .as_deref()
                .map(|p| format!("  ({p})"))
                .unwrap_or_default()
        );
    }
}

/// The destinations and default region the intake uses: the flags, else the deployment's
/// (load-list's `ALLOWED_COUNTRIES`, the `isocountrycode` parameter).
pub async fn intake_settings(
    allowed_countries: Option<&str>,
    default_region: Option<&str>,
    d: &Deployment,
    clients: &Clients,
) -> Result<(DestinationRules, Option<phonenumber::country::Id>)> {
    let allowed = match allowed_countries {
        Some(list) => list.to_string(),
        None => {
            let function = d.load_list_function.as_deref().ok_or_else(|| {
                CliError::failure(
                    "the deployment's outputs name no load-list function: pass --allowed-countries (the dialer's allowed_countries)",
                )
            })?;
            let conf = clients
                .lambda
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .map_err(|e| {
                    crate::error::aws(&format!("reading the settings of {function}"), &e)
                })?;
            conf.environment()
                .and_then(|e| e.variables())
                .and_then(|v| v.get("ALLOWED_COUNTRIES"))
                .cloned()
                .ok_or_else(|| {
                    CliError::failure(format!(
                        "{function} has no ALLOWED_COUNTRIES: pass --allowed-countries"
                    ))
                })?
        }
    };
    let destinations = DestinationRules::parse(&allowed)
        .map_err(|e| CliError::usage(format!("allowed countries: {e}")))?;
    let region = match default_region {
        Some(r) => Some(r.to_string()),
        None => crate::control::parameter(clients, d, "isocountrycode").await?,
    };
    let region = match region {
        Some(r) => Some(
            outbound_core::phone::region_id(&r)
                .map_err(|e| CliError::usage(format!("default region '{r}': {e}")))?,
        ),
        None => None,
    };
    Ok((destinations, region))
}

/// A dry run given both settings needs no deployment and no AWS access.
pub fn offline(args: &crate::cli::UploadArgs) -> bool {
    args.dry_run && args.allowed_countries.is_some() && args.default_region.is_some()
}

/// `--dry-run --allowed-countries … --default-region …`: the check alone, on this machine.
pub fn run_offline(args: &crate::cli::UploadArgs) -> Result<()> {
    let destinations = DestinationRules::parse(args.allowed_countries.as_deref().unwrap_or(""))
        .map_err(|e| CliError::usage(format!("--allowed-countries: {e}")))?;
    let region = args
        .default_region
        .as_deref()
        .map(|r| {
            outbound_core::phone::region_id(r)
                .map_err(|e| CliError::usage(format!("--default-region '{r}': {e}")))
        })
        .transpose()?;
    let (_, _) = check_and_print(args, destinations, region)?;
    println!("dry run: nothing uploaded");
    Ok(())
}

fn check_and_print(
    args: &crate::cli::UploadArgs,
    destinations: DestinationRules,
    region: Option<phonenumber::country::Id>,
) -> Result<(Vec<u8>, Check)> {
    let key = object_key(&args.campaign, &args.file)?;
    let bytes = std::fs::read(&args.file)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let c = check(&bytes, &key, &args.campaign, region, destinations)?;
    print_check(&args.file, &c);
    Ok((bytes, c))
}

pub async fn run(args: &crate::cli::UploadArgs, d: &Deployment, clients: &Clients) -> Result<()> {
    let key = object_key(&args.campaign, &args.file)?;
    let (destinations, region) = intake_settings(
        args.allowed_countries.as_deref(),
        args.default_region.as_deref(),
        d,
        clients,
    )
    .await?;
    let (bytes, c) = check_and_print(args, destinations, region)?;
    if args.dry_run {
        println!("dry run: nothing uploaded");
        return Ok(());
    }
    if c.counts.accepted == 0 {
        return Err(CliError::failure(
            "no row of the file would be loaded: nothing uploaded (fix the rejects above)",
        ));
    }
    let bucket = Deployment::need(&d.input_bucket, "input_bucket_name", "input-bucket")?;
    // The plan there may be from an earlier upload of the same file: the wait looks for a new one.
    let previous = if args.plan_only {
        crate::plan::before_upload(d, clients, &args.campaign, &key).await?
    } else {
        None
    };
    let mut put = clients
        .s3
        .put_object()
        .bucket(bucket)
        .key(&key)
        .content_type("text/csv")
        .body(bytes.into());
    if args.plan_only {
        // load-list reads the object's metadata: a dry run is planned, never admitted.
        put = put.metadata("dry-run", "true");
    }
    put.send()
        .await
        .map_err(|e| crate::error::aws(&format!("uploading to s3://{bucket}/{key}"), &e))?;
    if args.plan_only {
        eprintln!(
            "uploaded s3://{bucket}/{key} as a dry run (nothing is admitted or dialed): waiting up to {} s for its plan",
            args.wait
        );
        return crate::plan::wait_and_print(
            d,
            clients,
            &args.campaign,
            &key,
            previous,
            std::time::Duration::from_secs(args.wait),
            args.json,
        )
        .await;
    }
    println!(
        "uploaded s3://{bucket}/{key}: campaign {} starts (or joins the run in progress); `outbound status --campaign {} --watch` follows it",
        args.campaign, args.campaign
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gb() -> DestinationRules {
        DestinationRules::parse("GB").unwrap()
    }

    #[test]
    fn rejects_come_with_the_intakes_line_numbers() {
        let csv = b"custID,phone\nC-1,+442079460001\nC-2,not a number\n\nC-3,+12025550123\nC-1,+442079460001\n";
        let c = check(csv, "campaigns/x/l.csv", "x", None, gb()).unwrap();
        assert_eq!(c.counts.rows, 4);
        assert_eq!(c.counts.accepted, 1);
        assert_eq!(c.counts.duplicates, 1);
        let lines: Vec<u64> = c.rejects.iter().map(|r| r.line).collect();
        assert_eq!(
            lines,
            vec![3, 5],
            "the blank line 4 is counted: {:?}",
            c.rejects
        );
    }

    #[test]
    fn a_national_number_takes_the_default_region() {
        let csv = b"custID,phone\nC-1,020 7946 0001\n";
        let region = outbound_core::phone::region_id("GB").unwrap();
        let with = check(csv, "k", "x", Some(region), gb()).unwrap();
        assert_eq!(with.counts.accepted, 1);
        let without = check(csv, "k", "x", None, gb()).unwrap();
        assert_eq!(without.counts.rejected, 1);
    }

    #[test]
    fn a_file_that_is_not_a_contact_list_is_a_usage_error() {
        let e = check(b"\x89PNG\r\n\x1a\n", "k", "x", None, gb()).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("custID and phone"), "{e}");
    }

    #[test]
    fn the_key_puts_the_campaign_in_the_prefix() {
        assert_eq!(
            object_key("spring-2027", Path::new("lists/renewals.csv")).unwrap(),
            "campaigns/spring-2027/renewals.csv"
        );
        assert_eq!(
            object_key("no spaces", Path::new("a.csv"))
                .unwrap_err()
                .exit_code(),
            2
        );
    }
}
