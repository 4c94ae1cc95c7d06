//! Reading many items of the ledger's table by key at once: the calling rules' lookups (the
//! do-not-call list, the frequency caps) for a batch of leased contacts.

use super::*;
use aws_sdk_dynamodb::types::KeysAndAttributes;
use std::collections::HashSet;

/// Keys one `BatchGetItem` asks for (DynamoDB's limit).
const BATCH_GET_LIMIT: usize = 100;
/// Rounds of asking again for the keys DynamoDB left unprocessed (throttling) before giving up
/// with a retryable error.
const UNPROCESSED_ROUNDS: usize = 5;

/// The items of the table whose `pk` is among `pks` (absent ones are left out), by `pk`, with
/// one strongly consistent `BatchGetItem` per hundred keys; keys DynamoDB leaves unprocessed
/// are asked again after a short back-off. `what` names the lookup in errors.
pub async fn get_items(
    ledger: &CampaignLedger,
    pks: &[String],
    what: &str,
) -> Result<HashMap<String, Item>, FunctionError> {
    let mut found = HashMap::new();
    let unique: Vec<&String> = {
        let mut seen = HashSet::new();
        pks.iter().filter(|k| seen.insert(*k)).collect()
    };
    for chunk in unique.chunks(BATCH_GET_LIMIT) {
        let mut wanted = KeysAndAttributes::builder()
            .set_keys(Some(
                chunk
                    .iter()
                    .map(|pk| HashMap::from([("pk".to_string(), s(pk.as_str()))]))
                    .collect(),
            ))
            .consistent_read(true)
            .build()
            .map_err(|e| FunctionError::invalid_input(format!("{what}: {e}")))?;
        for round in 0.. {
            let out = ledger
                .dynamodb
                .batch_get_item()
                .request_items(&ledger.table_name, wanted)
                .send()
                .await
                .map_err(|e| store_error(&format!("BatchGetItem ({what})"), &e))?;
            for item in out
                .responses()
                .and_then(|r| r.get(&ledger.table_name))
                .into_iter()
                .flatten()
            {
                if let Some(pk) = item.get("pk").and_then(|v| v.as_s().ok()) {
                    found.insert(pk.clone(), item.clone());
                }
            }
            match out
                .unprocessed_keys()
                .and_then(|u| u.get(&ledger.table_name))
                .filter(|k| !k.keys().is_empty())
            {
                None => break,
                Some(rest) if round + 1 < UNPROCESSED_ROUNDS => {
                    tokio::time::sleep(std::time::Duration::from_millis(50 << round)).await;
                    wanted = rest.clone();
                }
                Some(_) => {
                    return Err(FunctionError::retryable(format!(
                        "{what}: keys still unprocessed after retries"
                    )))
                }
            }
        }
    }
    Ok(found)
}
