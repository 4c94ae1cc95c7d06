-- Attempts made for each contact of a campaign (over all its runs: redials and callbacks go on
-- in later runs), with the outcome of the last one.
-- Parameter: the campaign as it appears in the results keys (results/campaign=<campaign>/).
SELECT
  customer_key,
  contact_key,
  count(*) AS attempts,
  max(attempt) AS last_attempt,
  max_by(outcome, attempt) AS last_outcome
FROM ${table}
WHERE campaign = ?
GROUP BY customer_key, contact_key
ORDER BY attempts DESC, customer_key, contact_key
