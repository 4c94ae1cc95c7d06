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
    super::close::finalize_due_pk(
        ledger,
        campaign,
        shard_of(contact_key),
        super::super::item::contact_pk(campaign, contact_key),
        reason,
        now,
        "ledger suppression at intake",
    )
    .await
}
