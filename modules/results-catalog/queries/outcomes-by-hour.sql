-- Outcomes of a campaign's attempts per hour (UTC) in which the call was placed (the hour the
-- attempt ended, for an attempt whose call was never placed).
-- Parameter: the campaign as it appears in the results keys (results/campaign=<campaign>/).
SELECT
  substr(coalesce(dialed_at, completed_at), 1, 13) || ':00Z' AS hour_utc,
  outcome,
  count(*) AS attempts
FROM ${table}
WHERE campaign = ?
GROUP BY 1, 2
ORDER BY 1, 2
