//! `outbound dnc`: the do-not-call list as the module keeps it (`outbound_core::dnc`): one
//! `DNC#<key>` item in the campaign ledger per number, `<key>` the number's do-not-call key under
//! the deployment's secret, which the tool derives from the KMS HMAC key exactly as the intake
//! functions do (`ContactKeyer::from_kms`, one `kms:GenerateMac`). The number is never stored.

use crate::deployment::{Clients, Deployment};
use crate::error::{CliError, Result};
use load_list::csv_intake::{CsvOptions, CsvReader, RowOutcome};
use outbound_core::contact_key::ContactKeyer;
use outbound_core::dnc::{self, DncSource};
use outbound_core::ledger::CampaignLedger;
use std::path::Path;

/// What the listing of a number entered through the tool records as its source (a list's object
/// key in the module's own terms: `list:<object>:<line>`).
pub const CLI_SOURCE: &str = "outbound-cli";

/// A number in E.164, normalised as the intake normalises a list's numbers.
pub fn normalise(raw: &str, region: Option<phonenumber::country::Id>) -> Result<String> {
    outbound_core::phone::normalise(raw, region)
        .map(|e| e.number)
        .map_err(|e| {
            CliError::usage(format!(
                "'{raw}' is not a phone number the intake accepts: {e}"
            ))
        })
}

struct Listing {
    ledger: CampaignLedger,
    keyer: ContactKeyer,
    region: Option<phonenumber::country::Id>,
}

async fn listing(d: &Deployment, clients: &Clients) -> Result<Listing> {
    let table = Deployment::need(
        &d.ledger_table,
        "campaign_ledger_table_name",
        "ledger-table",
    )?;
    let key = Deployment::need(
        &d.contact_key_kms_key_arn,
        "contact_key_kms_key_arn",
        "contact-key-kms-key-arn",
    )?;
    let keyer = ContactKeyer::from_kms(&clients.kms, key)
        .await
        .map_err(|e| {
            CliError::failure(format!("deriving the deployment's do-not-call keys: {e}"))
        })?;
    let region =
        match crate::control::parameter(clients, d, "isocountrycode").await? {
            Some(r) => Some(outbound_core::phone::region_id(&r).map_err(|e| {
                CliError::failure(format!("the isocountrycode parameter '{r}': {e}"))
            })?),
            None => None,
        };
    Ok(Listing {
        ledger: CampaignLedger {
            dynamodb: clients.dynamodb.clone(),
            table_name: table.to_string(),
            final_retention: None,
        },
        keyer,
        region,
    })
}

/// The numbers of a CSV file with a `phone` column, read by the intake's parser as a list
/// uploaded under `dnc/` is read; rejects are printed with their lines.
fn file_numbers(
    path: &Path,
    region: Option<phonenumber::country::Id>,
    destinations: outbound_core::destinations::DestinationRules,
) -> Result<Vec<(String, u64)>> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::usage(format!("cannot read {}: {e}", path.display())))?;
    let name = path.display().to_string();
    let mut reader = CsvReader::new(
        bytes.as_slice(),
        CsvOptions {
            campaign: "do-not-call".into(),
            object: name.clone(),
            default_region: region,
            destinations,
            keyer: ContactKeyer::from_secret(b"outbound-cli-dnc-file".to_vec()),
            customer_id_optional: true,
        },
    );
    let mut numbers = Vec::new();
    loop {
        match reader.next_row() {
            Ok(Some(RowOutcome::Contact(c))) => {
                let line = match c.source {
                    outbound_core::contact::ContactSource::Csv { line, .. } => line,
                    _ => 0,
                };
                numbers.push((c.phone, line));
            }
            Ok(Some(RowOutcome::Rejected(r))) => println!("  line {:>6}  {}", r.line, r.reason),
            Ok(Some(RowOutcome::Duplicate { .. })) => {}
            Ok(None) => return Ok(numbers),
            Err(e) if e.is_refusal() => {
                return Err(CliError::usage(format!(
                "{name}: not a do-not-call list: {e} (a CSV file with a header row naming phone)"
            )))
            }
            Err(e) => return Err(CliError::failure(format!("reading {name}: {e}"))),
        }
    }
}

pub async fn run(cmd: &crate::cli::DncCommand, d: &Deployment, clients: &Clients) -> Result<()> {
    use crate::cli::DncCommand;
    let l = listing(d, clients).await?;
    let numbers = |raw: &[String]| -> Result<Vec<String>> {
        raw.iter().map(|n| normalise(n, l.region)).collect()
    };
    match cmd {
        DncCommand::Add {
            numbers: raw,
            file,
            allowed_countries,
        } => {
            if raw.is_empty() && file.is_none() {
                return Err(CliError::usage("dnc add: give numbers or --file FILE"));
            }
            let mut entries: Vec<(String, String, u64)> = numbers(raw)?
                .into_iter()
                .map(|n| (n, CLI_SOURCE.to_string(), 0))
                .collect();
            if let Some(path) = file {
                let (destinations, _) =
                    crate::upload::intake_settings(allowed_countries.as_deref(), None, d, clients)
                        .await?;
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("file")
                    .to_string();
                for (n, line) in file_numbers(path, l.region, destinations)? {
                    entries.push((n, name.clone(), line));
                }
            }
            let (mut added, mut already) = (0, 0);
            let now = chrono::Utc::now();
            for (number, object, line) in &entries {
                let key = l.keyer.do_not_call_key(number);
                // Numbers typed on the command line have no file: the source says an operator.
                let source = DncSource::Operator {
                    file: (object != CLI_SOURCE).then_some(object.as_str()),
                    line: *line,
                };
                let new = dnc::add(&l.ledger, &key, &source, now)
                    .await
                    .map_err(|e| CliError::failure(format!("listing {number}: {e}")))?;
                if new {
                    added += 1
                } else {
                    already += 1
                }
                if file.is_none() {
                    println!(
                        "{number}: {}",
                        if new { "listed" } else { "already listed" }
                    );
                }
            }
            println!("{added} numbers listed, {already} already listed");
        }
        DncCommand::Remove { numbers: raw } => {
            for number in numbers(raw)? {
                let key = l.keyer.do_not_call_key(&number);
                let out = l
                    .ledger
                    .dynamodb
                    .delete_item()
                    .table_name(&l.ledger.table_name)
                    .key(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S(dnc::dnc_pk(&key)),
                    )
                    .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
                    .send()
                    .await
                    .map_err(|e| crate::error::aws("removing from the do-not-call list", &e))?;
                let was = out.attributes().is_some_and(|a| !a.is_empty());
                println!(
                    "{number}: {}",
                    if was { "removed" } else { "was not listed" }
                );
            }
        }
        DncCommand::Check { numbers: raw } => {
            let normalised = numbers(raw)?;
            let keys: Vec<String> = normalised
                .iter()
                .map(|n| l.keyer.do_not_call_key(n))
                .collect();
            let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
            let found = dnc::listed(&l.ledger, &refs)
                .await
                .map_err(|e| CliError::failure(format!("reading the do-not-call list: {e}")))?;
            for (number, key) in normalised.iter().zip(&keys) {
                println!(
                    "{number}: {}",
                    if found.contains(key) {
                        "listed"
                    } else {
                        "not listed"
                    }
                );
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_normalised_like_the_intakes() {
        let gb = outbound_core::phone::region_id("GB").unwrap();
        assert_eq!(
            normalise("020 7946 0001", Some(gb)).unwrap(),
            "+442079460001"
        );
        assert_eq!(
            normalise("+44 20 7946 0001", None).unwrap(),
            "+442079460001"
        );
        assert_eq!(normalise("hello", Some(gb)).unwrap_err().exit_code(), 2);
    }
}
