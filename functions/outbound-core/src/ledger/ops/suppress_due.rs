//! Suppressing a contact that is still due: the intake's do-not-call check. A contact admitted
//! a moment ago (or found due again when its file is uploaded again) whose number is on the
//! do-not-call list is made final without ever being leased.

use super::*;

/// Makes a `due` contact final for `reason` (the number is on the do-not-call list) without a
/// call: `due` → `final`, out of the `due` index (`dueShard` removed). `attempt` becomes the
/// attempts really made (the due attempt less one: 0 for a contact just admitted), so the final
/// record counts no call that never was. Conditional on `state = due`: `None` when the contact
/// is no longer due (already final, leased by a feeder that will check the list itself), so
/// only one caller ever wins the transition and writes the contact's final record.
pub async fn suppress_due(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    reason: super::super::item::FinalReason,
    now: DateTime<Utc>,
) -> Result<Option<LedgerContact>, FunctionError> {
    let mut set = String::from(
        "SET #state = :final, #finalReason = :reason, #finalAt = :now, #attempt = #attempt - :one",
    );
    let mut attributes = vec!["state", "finalReason", "finalAt", "attempt", "dueShard"];
    let mut request = update_contact(
        ledger,
        super::super::item::contact_pk(campaign, contact_key),
    );
    if let Some(retention) = ledger.final_retention {
        set.push_str(", #expiresAt = :expiresAt");
        attributes.push("expiresAt");
        request =
            request.expression_attribute_values(":expiresAt", n((now + retention).timestamp()));
    }
    let result = request
        .update_expression(format!("{set} REMOVE #dueShard"))
        .condition_expression("#state = :due")
        .set_expression_attribute_names(Some(names(&attributes)))
        .expression_attribute_values(":final", s(ContactState::Final.as_str()))
        .expression_attribute_values(":due", s(ContactState::Due.as_str()))
        .expression_attribute_values(":reason", s(reason.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":one", n(1))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
        Err(e) if update_conflict(&e).is_some() => Ok(None),
        Err(e) => Err(store_error("UpdateItem (ledger suppression at intake)", &e)),
    }
}
