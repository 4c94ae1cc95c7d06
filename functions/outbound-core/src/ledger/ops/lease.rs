//! Leasing due contacts to a run, and taking back what a dead run left behind (leases that ran
//! out, attempts past their deadline), through the `due` and `held` indexes.

use super::*;

/// What `lease_due` took.
#[derive(Debug, Clone, Default)]
pub struct LeasedBatch {
    /// The contacts now `leased` by the caller, oldest `dueAt` first.
    pub leased: Vec<LedgerContact>,
    /// Contacts the index offered that had moved on (leased by another feeder, or the index
    /// was behind): not leased, not an error.
    pub contended: usize,
}

/// One of the two sparse indexes, read as "keys whose time has come".
pub(super) struct IndexRange {
    index: &'static str,
    partition_attr: &'static str,
    sort_attr: &'static str,
    /// How the sort key compares with now: `<=` (due at now) or `<` (deadline passed).
    before: &'static str,
}

pub(super) const DUE_AT_NOW: IndexRange = IndexRange {
    index: DUE_INDEX,
    partition_attr: "dueShard",
    sort_attr: "dueAt",
    before: "<=",
};

const HELD_PAST_DEADLINE: IndexRange = IndexRange {
    index: HELD_INDEX,
    partition_attr: "heldShard",
    sort_attr: "leaseUntil",
    before: "<",
};

/// (sort value, pk) of up to `limit` keys of one index partition, oldest first.
async fn query_index(
    ledger: &CampaignLedger,
    range: &IndexRange,
    partition: String,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(i64, String)>, FunctionError> {
    let out = ledger
        .dynamodb
        .query()
        .table_name(&ledger.table_name)
        .index_name(range.index)
        .key_condition_expression(format!(
            "#{} = :p AND #{} {} :now",
            range.partition_attr, range.sort_attr, range.before
        ))
        .set_expression_attribute_names(Some(names(&[range.partition_attr, range.sort_attr])))
        .expression_attribute_values(":p", s(partition))
        .expression_attribute_values(":now", n(millis(now)))
        .limit(limit as i32)
        .send()
        .await
        .map_err(|e| store_error("Query (ledger index)", &e))?;
    Ok(out
        .items()
        .iter()
        .filter_map(|i| {
            let pk = i.get("pk")?.as_s().ok()?.clone();
            let at = i.get(range.sort_attr)?.as_n().ok()?.parse().ok()?;
            Some((at, pk))
        })
        .collect())
}

/// The `limit` oldest keys over the shards of one campaign's partitions (`partition_of(shard)`),
/// each as (sort value, pk, shard). The shards are queried at once.
pub(super) async fn oldest_over_shards(
    ledger: &CampaignLedger,
    range: &IndexRange,
    partition_of: impl Fn(u32) -> String,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<(i64, String, u32)>, FunctionError> {
    let queries = (0..SHARDS).map(|shard| {
        let partition = partition_of(shard);
        async move {
            query_index(ledger, range, partition, now, limit)
                .await
                .map(|keys| {
                    keys.into_iter()
                        .map(|(at, pk)| (at, pk, shard))
                        .collect::<Vec<_>>()
                })
        }
    });
    let mut all = Vec::new();
    for keys in futures::future::join_all(queries).await {
        all.extend(keys?);
    }
    all.sort();
    all.truncate(limit);
    Ok(all)
}

/// Leases up to `limit` contacts of `campaign` that are due at `now`, oldest `dueAt` first:
/// one query of the `due` index per shard, then for each key a conditional update
/// (`state = due AND dueAt <= now`) to `leased` until `lease_until`, out of the `due` index and
/// into the `held` one.
pub async fn lease_due(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
    lease_until: DateTime<Utc>,
    leased_by: &str,
) -> Result<LeasedBatch, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    let keys = oldest_over_shards(
        ledger,
        &DUE_AT_NOW,
        |shard| due_shard_key(campaign, shard),
        now,
        limit,
    )
    .await?;
    let results: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, shard)| async move {
            lease_pk(ledger, campaign, pk, shard, now, lease_until, leased_by).await
        })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let (leased, contended) = won_and_contended(results)?;
    Ok(LeasedBatch { leased, contended })
}

/// Splits the answers of conditional writes run side by side: the contacts each write won, and
/// how many lost their condition (someone else moved the contact on; not an error). The first
/// error stops the split.
pub(super) fn won_and_contended(
    results: Vec<Result<Option<LedgerContact>, FunctionError>>,
) -> Result<(Vec<LedgerContact>, usize), FunctionError> {
    let mut won = Vec::new();
    let mut contended = 0;
    for result in results {
        match result? {
            Some(contact) => won.push(contact),
            None => contended += 1,
        }
    }
    Ok((won, contended))
}

/// Leases one contact (condition `state = due AND dueAt <= now`): `None` when it is not due
/// (already leased, dialing, final, not yet due, or absent). [`lease_due`] leases what the
/// index offers through this same write.
pub async fn lease(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    leased_by: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    lease_pk(
        ledger,
        campaign,
        super::super::item::contact_pk(campaign, contact_key),
        shard_of(contact_key),
        now,
        lease_until,
        leased_by,
    )
    .await
}

async fn lease_pk(
    ledger: &CampaignLedger,
    campaign: &str,
    pk: String,
    shard: u32,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    leased_by: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    let result = update_contact(ledger, pk)
        .update_expression(
            "SET #state = :leased, #leaseUntil = :until, #heldShard = :held, \
             #leasedBy = :by REMOVE #dueShard",
        )
        .condition_expression("#state = :due AND #dueAt <= :now")
        .set_expression_attribute_names(Some(names(&[
            "state",
            "leaseUntil",
            "heldShard",
            "leasedBy",
            "dueShard",
            "dueAt",
        ])))
        .expression_attribute_values(":leased", s(ContactState::Leased.as_str()))
        .expression_attribute_values(":due", s(ContactState::Due.as_str()))
        .expression_attribute_values(":until", n(millis(lease_until)))
        .expression_attribute_values(
            ":held",
            s(held_shard_key(campaign, ContactState::Leased, shard)),
        )
        .expression_attribute_values(":by", s(leased_by))
        .expression_attribute_values(":now", n(millis(now)))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
        Err(e) if update_conflict(&e).is_some() => Ok(None),
        Err(e) => Err(store_error("UpdateItem (ledger lease)", &e)),
    }
}

/// Where a contact a calling rule stops is held: by its lease (the feeder, before it is queued)
/// or by an attempt begun but not placed (dial, between `begin_attempt` and the call).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// `leased` for the attempt.
    Lease,
    /// `dialing` for the attempt, no call placed yet (no `contactId`): the attempt's token and
    /// start are dropped, as if it had never begun.
    UnplacedAttempt,
}

impl Held {
    /// The condition on the contact's state and attempt, and what else goes with the hold.
    fn condition(self) -> &'static str {
        match self {
            Held::Lease => "#state = :held AND #attempt = :attempt",
            Held::UnplacedAttempt => {
                "#state = :held AND #attempt = :attempt AND attribute_not_exists(#contactId)"
            }
        }
    }

    fn state(self) -> ContactState {
        match self {
            Held::Lease => ContactState::Leased,
            Held::UnplacedAttempt => ContactState::Dialing,
        }
    }

    /// The attributes the hold adds to the item, removed with it.
    fn removed(self) -> &'static [&'static str] {
        match self {
            Held::Lease => &["leaseUntil", "heldShard", "leasedBy"],
            Held::UnplacedAttempt => &[
                "leaseUntil",
                "heldShard",
                "leasedBy",
                "clientToken",
                "attemptStartedAt",
            ],
        }
    }

    fn names(self, mut set: Vec<&'static str>) -> HashMap<String, String> {
        set.extend(self.removed());
        set.extend(["state", "attempt"]);
        if self == Held::UnplacedAttempt {
            set.push("contactId");
        }
        names(&set)
    }

    fn remove_clause(self) -> String {
        let removed: Vec<String> = self.removed().iter().map(|a| format!("#{a}")).collect();
        format!("REMOVE {}", removed.join(", "))
    }

    /// [`Held::remove_clause`] without the `held` index's keys, which a suppression sets to the
    /// record-owed partition instead (`record_pending`).
    fn remove_clause_keeping_index(self) -> String {
        let removed: Vec<String> = self
            .removed()
            .iter()
            .filter(|a| !super::record_pending::RECORD_OWED_NAMES.contains(a))
            .map(|a| format!("#{a}"))
            .collect();
        format!("REMOVE {}", removed.join(", "))
    }
}

/// Gives a contact held for attempt `attempt` back to the line until `until`, because a calling
/// rule (`rule`: `calling_window`, `frequency_cap`) does not allow it to be called now: `leased`
/// (or `dialing`, unplaced) → `due` at `until`, out of the `held` index and into the `due` one,
/// the deferral counted in `deferrals`; the attempt number is kept (no call was made).
/// Conditional on the hold: `None` when the contact moved on (its attempt began or was placed).
pub async fn defer(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    attempt: u32,
    until: DateTime<Utc>,
    rule: &str,
) -> Result<Option<LedgerContact>, FunctionError> {
    defer_held(
        ledger,
        campaign,
        contact_key,
        attempt,
        until,
        rule,
        Held::Lease,
    )
    .await
}

/// [`defer`] for a contact held by `held`.
pub async fn defer_held(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    attempt: u32,
    until: DateTime<Utc>,
    rule: &str,
    held: Held,
) -> Result<Option<LedgerContact>, FunctionError> {
    let result = update_contact(
        ledger,
        super::super::item::contact_pk(campaign, contact_key),
    )
    .update_expression(format!(
        "SET #state = :due, #dueAt = :until, #dueShard = :dueShard, #deferredBy = :rule \
             ADD #deferrals :one {}",
        held.remove_clause()
    ))
    .condition_expression(held.condition())
    .set_expression_attribute_names(Some(held.names(vec![
        "dueAt",
        "dueShard",
        "deferredBy",
        "deferrals",
    ])))
    .expression_attribute_values(":due", s(ContactState::Due.as_str()))
    .expression_attribute_values(":held", s(held.state().as_str()))
    .expression_attribute_values(":until", n(millis(until)))
    .expression_attribute_values(
        ":dueShard",
        s(due_shard_key(campaign, shard_of(contact_key))),
    )
    .expression_attribute_values(":rule", s(rule))
    .expression_attribute_values(":one", n(1))
    .expression_attribute_values(":attempt", n(i64::from(attempt)))
    .return_values(ReturnValue::AllNew)
    .send()
    .await;
    match result {
        Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
        Err(e) if update_conflict(&e).is_some() => Ok(None),
        Err(e) => Err(store_error("UpdateItem (ledger deferral)", &e)),
    }
}

/// Makes a contact held for attempt `attempt` final without calling it, because a calling rule
/// forbids the call for good (`reason`: the number is on the do-not-call list, the campaign
/// ended): `leased` (or `dialing`, unplaced) → `final`, out of the `held` index. `attempt`
/// becomes the attempts really made (one less), so the final record does not count a call that
/// never was. Conditional on the hold: `None` when the contact moved on.
pub async fn suppress(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    attempt: u32,
    reason: super::super::item::FinalReason,
    now: DateTime<Utc>,
) -> Result<Option<LedgerContact>, FunctionError> {
    suppress_held(
        ledger,
        campaign,
        contact_key,
        attempt,
        reason,
        now,
        Held::Lease,
    )
    .await
}

/// [`suppress`] for a contact held by `held`.
pub async fn suppress_held(
    ledger: &CampaignLedger,
    campaign: &str,
    contact_key: &str,
    attempt: u32,
    reason: super::super::item::FinalReason,
    now: DateTime<Utc>,
    held: Held,
) -> Result<Option<LedgerContact>, FunctionError> {
    // The final record is owed until the caller confirms it (`record_pending`): the contact
    // moves from the hold's partition of the `held` index to its campaign's `final` one.
    let mut set = format!(
        "SET #state = :final, #finalReason = :reason, #finalAt = :now, #attempt = :made, {}",
        super::record_pending::RECORD_OWED_SET
    );
    let mut attributes = vec!["finalReason", "finalAt"];
    let mut request = super::record_pending::record_owed_values(
        update_contact(
            ledger,
            super::super::item::contact_pk(campaign, contact_key),
        ),
        campaign,
        shard_of(contact_key),
        now,
    );
    if let Some(retention) = ledger.final_retention {
        set.push_str(", #expiresAt = :expiresAt");
        attributes.push("expiresAt");
        request =
            request.expression_attribute_values(":expiresAt", n((now + retention).timestamp()));
    }
    let result = request
        .update_expression(format!("{set} {}", held.remove_clause_keeping_index()))
        .condition_expression(held.condition())
        .set_expression_attribute_names(Some(held.names(attributes)))
        .expression_attribute_values(":final", s(ContactState::Final.as_str()))
        .expression_attribute_values(":held", s(held.state().as_str()))
        .expression_attribute_values(":reason", s(reason.as_str()))
        .expression_attribute_values(":now", n(millis(now)))
        .expression_attribute_values(":attempt", n(i64::from(attempt)))
        .expression_attribute_values(":made", n(i64::from(attempt.saturating_sub(1))))
        .return_values(ReturnValue::AllNew)
        .send()
        .await;
    match result {
        Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
        Err(e) if update_conflict(&e).is_some() => Ok(None),
        Err(e) => Err(store_error("UpdateItem (ledger suppression)", &e)),
    }
}

/// What `expire_leases` did.
#[derive(Debug, Clone, Default)]
pub struct ExpiredLeases {
    /// Contacts due again (at their original `dueAt`), with their `leaseExpiries` counted.
    pub expired: Vec<LedgerContact>,
    /// Leases that moved on meanwhile (the contact's attempt began): untouched.
    pub contended: usize,
}

/// Makes leased contacts of `campaign` whose lease ran out before `now` due again: the `held`
/// index's `leased` partitions, then a conditional update (`state = leased AND leaseUntil <
/// now`) per contact, counting the expiry in `leaseExpiries`.
pub async fn expire_leases(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<ExpiredLeases, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    let keys = oldest_over_shards(
        ledger,
        &HELD_PAST_DEADLINE,
        |shard| held_shard_key(campaign, ContactState::Leased, shard),
        now,
        limit,
    )
    .await?;
    let results: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, shard)| async move {
            let result = update_contact(ledger, pk)
                .update_expression(
                    "SET #state = :due, #dueShard = :dueShard ADD #leaseExpiries :one \
                     REMOVE #leaseUntil, #heldShard, #leasedBy",
                )
                .condition_expression("#state = :leased AND #leaseUntil < :now")
                .set_expression_attribute_names(Some(names(&[
                    "state",
                    "dueShard",
                    "leaseExpiries",
                    "leaseUntil",
                    "heldShard",
                    "leasedBy",
                ])))
                .expression_attribute_values(":due", s(ContactState::Due.as_str()))
                .expression_attribute_values(":leased", s(ContactState::Leased.as_str()))
                .expression_attribute_values(":dueShard", s(due_shard_key(campaign, shard)))
                .expression_attribute_values(":one", n(1))
                .expression_attribute_values(":now", n(millis(now)))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match result {
                Ok(out) => parse(out.attributes().unwrap_or(&HashMap::new())).map(Some),
                Err(e) if update_conflict(&e).is_some() => Ok(None),
                Err(e) => Err(store_error("UpdateItem (ledger lease expiry)", &e)),
            }
        })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let (expired, contended) = won_and_contended(results)?;
    Ok(ExpiredLeases { expired, contended })
}

/// Contacts of `campaign` still `dialing` past their attempt's deadline (a dial that died, a
/// call whose end never came), oldest deadline first: each one is recovered with
/// [`super::super::recover`].
pub async fn overdue_attempts(
    ledger: &CampaignLedger,
    campaign: &str,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<LedgerContact>, FunctionError> {
    held_past_deadline(ledger, campaign, ContactState::Dialing, now, limit).await
}

/// Contacts of `campaign` held in `state` whose `leaseUntil` passed before `now`, oldest first,
/// up to `limit`: one query per shard of the `held` index's `<campaign>#<state>` partitions,
/// then a consistent read of each, keeping only what is still so (the index may be behind the
/// item).
pub(super) async fn held_past_deadline(
    ledger: &CampaignLedger,
    campaign: &str,
    state: ContactState,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<Vec<LedgerContact>, FunctionError> {
    let limit = limit.clamp(1, MAX_BATCH);
    let keys = oldest_over_shards(
        ledger,
        &HELD_PAST_DEADLINE,
        |shard| held_shard_key(campaign, state, shard),
        now,
        limit,
    )
    .await?;
    let items: Vec<Result<Option<LedgerContact>, FunctionError>> = stream::iter(keys)
        .map(|(_, pk, _)| async move { get_pk(ledger, &pk).await })
        .buffered(UPDATE_CONCURRENCY)
        .collect()
        .await;
    let mut past = Vec::new();
    for item in items {
        if let Some(item) = item? {
            if item.state == state && item.lease_until.is_some_and(|t| t < now) {
                past.push(item);
            }
        }
    }
    Ok(past)
}
