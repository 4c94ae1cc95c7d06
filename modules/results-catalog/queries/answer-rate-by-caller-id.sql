-- Answer rate of a campaign's placed calls by the caller ID they presented ('queue number':
-- the queue's own outbound caller ID, no routing rule applied). Calls that Connect never
-- accepted (no contact id) are not counted.
-- Parameter: the campaign as it appears in the results keys (results/campaign=<campaign>/).
SELECT
  coalesce(caller_id, 'queue number') AS presented_caller_id,
  count(*) AS calls,
  count_if(outcome = 'connected') AS answered,
  round(100.0 * count_if(outcome = 'connected') / count(*), 1) AS answer_rate_percent
FROM ${table}
WHERE campaign = ? AND contact_id IS NOT NULL
GROUP BY 1
ORDER BY calls DESC, presented_caller_id
