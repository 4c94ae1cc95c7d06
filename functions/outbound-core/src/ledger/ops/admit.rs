//! Admitting contacts: one conditional put per contact, so a file loaded twice, or two files
//! that overlap, add each contact once.

use super::*;

/// How a contact is admitted.
#[derive(Debug, Clone, Copy)]
pub struct AdmitOptions<'a> {
    /// Not dialed before this time (the campaign's start, or now).
    pub due_at: DateTime<Utc>,
    /// The file's redial override, stored on the contact; `None`: the deployment's rules.
    pub rules: Option<&'a RedialRules>,
    /// The round of a recurring source (a Pinpoint campaign's activity). A contact the campaign
    /// holds as `final` from another round is admitted again as new; one still being dialed,
    /// or from this same round, is not.
    pub round: Option<&'a str>,
    /// The deployment's keyer: the contact's do-not-call key is stored on its item (`dncKey`)
    /// so the functions that check the list ([`crate::dnc`]) need no secret. `None`: not stored
    /// (the contact is then never found on the list).
    pub dnc: Option<&'a crate::contact_key::ContactKeyer>,
}

/// What `admit` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A new contact, now `due`.
    Admitted,
    /// The campaign already holds this contact (the same file again, an overlapping file, or a
    /// retry of this batch): nothing was written. `state` is the existing item's.
    AlreadyPresent { state: Option<ContactState> },
}

/// Admits one contact: a conditional put (`attribute_not_exists(pk)`), so a contact already in
/// the campaign, whatever its state, is never reset.
pub async fn admit(
    ledger: &CampaignLedger,
    contact: &Contact,
    options: &AdmitOptions<'_>,
    now: DateTime<Utc>,
) -> Result<Admission, FunctionError> {
    let mut item = super::super::item::new_item_of_round(
        contact,
        options.due_at,
        options.rules,
        options.round,
        now,
    )
    .map_err(|e| FunctionError::invalid_input(format!("contact source: {e}")))?;
    if let Some(keyer) = options.dnc {
        item.insert(
            "dncKey".to_string(),
            s(keyer.do_not_call_key(&contact.phone)),
        );
    }
    let mut request = ledger
        .dynamodb
        .put_item()
        .table_name(&ledger.table_name)
        .set_item(Some(item));
    request = match options.round {
        None => request
            .condition_expression("attribute_not_exists(#pk)")
            .set_expression_attribute_names(Some(names(&["pk"]))),
        Some(round) => request
            .condition_expression(
                "attribute_not_exists(#pk) OR (#state = :final AND (attribute_not_exists(#round) OR #round <> :round))",
            )
            .set_expression_attribute_names(Some(names(&["pk", "state", "round"])))
            .expression_attribute_values(":final", s(ContactState::Final.as_str()))
            .expression_attribute_values(":round", s(round)),
    };
    let result = request
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .send()
        .await;
    match result {
        Ok(_) => Ok(Admission::Admitted),
        Err(e) => match put_conflict(&e) {
            Some(old) => Ok(Admission::AlreadyPresent {
                state: old
                    .as_ref()
                    .and_then(|i| i.get("state"))
                    .and_then(|v| v.as_s().ok())
                    .and_then(|raw| ContactState::parse(raw)),
            }),
            // The item itself is refused (too large, say): this contact's problem, not the
            // table's.
            None if e
                .as_service_error()
                .and_then(aws_sdk_dynamodb::error::ProvideErrorMetadata::code)
                == Some("ValidationException") =>
            {
                Err(FunctionError::invalid_input(format!(
                    "PutItem (ledger admit) refused the contact: {}",
                    crate::completion::sdk_code(&e)
                )))
            }
            None => Err(store_error("PutItem (ledger admit)", &e)),
        },
    }
}

/// Admits many contacts, [`ADMIT_CONCURRENCY`] conditional puts at a time, and answers for each
/// in input order.
///
/// Not `BatchWriteItem`: it takes no condition and would reset a contact already dialed. Not
/// `TransactWriteItems`: one contact already present cancels the whole transaction, and each
/// write costs double. A failed contact does not stop the others; running the same contacts
/// again is safe (those admitted the first time answer `AlreadyPresent`).
pub async fn admit_all(
    ledger: &CampaignLedger,
    contacts: &[Contact],
    options: &AdmitOptions<'_>,
    now: DateTime<Utc>,
) -> Vec<Result<Admission, FunctionError>> {
    stream::iter(contacts)
        .map(|contact| admit(ledger, contact, options, now))
        .buffered(ADMIT_CONCURRENCY)
        .collect()
        .await
}
