################################################################################
# All functions
################################################################################

output "lambda_function_arns" {
  description = "ARNs of every function of the deployment, keyed by binary name (`caller-id`, `dial`, `queue-contacts`, ...)."
  value = merge(
    try(module.dialer[0].lambda_function_arns, {}),
    local.create_caller_id ? { "caller-id" = module.caller_id[0].lambda_function_arn } : {},
    local.create_pinpoint_channel ? { "queue-contacts" = module.pinpoint_channel[0].lambda_function_arn } : {},
  )
}

output "lambda_function_names" {
  description = "Names of every function of the deployment, keyed by binary name."
  value = merge(
    try(module.dialer[0].lambda_function_names, {}),
    local.create_caller_id ? { "caller-id" = module.caller_id[0].lambda_function_name } : {},
    local.create_pinpoint_channel ? { "queue-contacts" = module.pinpoint_channel[0].lambda_function_name } : {},
  )
}

output "lambda_role_arns" {
  description = "ARNs of the functions' IAM roles (one per function), keyed by binary name."
  value = merge(
    try(module.dialer[0].lambda_role_arns, {}),
    local.create_caller_id ? { "caller-id" = module.caller_id[0].lambda_role_arn } : {},
    local.create_pinpoint_channel ? { "queue-contacts" = module.pinpoint_channel[0].lambda_role_arn } : {},
  )
}

################################################################################
# Caller ID by destination
################################################################################

output "caller_id_lambda_function_arn" {
  description = "ARN of the `caller-id` function (invoked by the outbound whisper flow)."
  value       = try(module.caller_id[0].lambda_function_arn, null)
}

output "caller_id_lambda_function_name" {
  description = "Name of the `caller-id` function."
  value       = try(module.caller_id[0].lambda_function_name, null)
}

output "routing_bucket_name" {
  description = "Bucket holding the routing file."
  value       = try(module.caller_id[0].bucket_name, null)
}

output "routing_object_key" {
  description = "Key of the routing file in `routing_bucket_name`."
  value       = try(module.caller_id[0].routing_object_key, null)
}

################################################################################
# Campaign dialer
################################################################################

output "cloudwatch_metric_alarm_arns" {
  description = "ARNs of the dialer's CloudWatch alarms, keyed by name (`caller_id_refused`, `failed_invocations`, `lease_expiries`, `contacts_dead_lettered`, `no_run_started` (with the sweep), `executions_failed`, `executions_timed_out`, `executions_aborted`)."
  value       = try(module.dialer[0].cloudwatch_metric_alarm_arns, {})
}

output "alarm_sns_topic_arn" {
  description = "ARN of the SNS topic the dialer's alarms notify, when `dialer_alarms.create_alarm_topic` created it: subscribe to it."
  value       = try(module.dialer[0].alarm_sns_topic_arn, null)
}

output "cloudwatch_dashboard_name" {
  description = "Name of the dialer's CloudWatch dashboard (`create_dashboard`)."
  value       = try(module.dialer[0].cloudwatch_dashboard_name, null)
}

output "cloudwatch_dashboard_arn" {
  description = "ARN of the dialer's CloudWatch dashboard (`create_dashboard`)."
  value       = try(module.dialer[0].cloudwatch_dashboard_arn, null)
}

output "glue_catalog_database_name" {
  description = "Glue database of the results table (`create_results_catalog`): the database to query in Athena."
  value       = try(module.results_catalog[0].glue_catalog_database_name, null)
}

output "glue_catalog_table_name" {
  description = "Table of the dialer's results, one row per dialed contact attempt (`create_results_catalog`). Queries must say `WHERE campaign = '<campaign>'` (the campaign as in the results keys)."
  value       = try(module.results_catalog[0].glue_catalog_table_name, null)
}

output "athena_workgroup_name" {
  description = "Athena workgroup to query the results in (`create_results_catalog`): its query results are encrypted and its settings enforced; it holds the saved queries."
  value       = try(module.results_catalog[0].athena_workgroup_name, null)
}

output "athena_named_query_ids" {
  description = "Ids of the saved results queries, keyed by name (`outcomes_by_hour`, `answer_rate_by_caller_id`, `attempts_per_contact`); empty without `create_results_catalog`."
  value       = try(module.results_catalog[0].athena_named_query_ids, {})
}

output "state_machine_arn" {
  description = "ARN of the dialer state machine (start a campaign with `StartExecution`, see the README)."
  value       = try(module.dialer[0].state_machine_arn, null)
}

output "state_machine_name" {
  description = "Name of the dialer state machine."
  value       = try(module.dialer[0].state_machine_name, null)
}

output "queue_url" {
  description = "URL of the SQS queue of contacts to dial."
  value       = try(module.dialer[0].queue_url, null)
}

output "queue_arn" {
  description = "ARN of the SQS queue of contacts to dial."
  value       = try(module.dialer[0].queue_arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue (contacts received `max_receive_count` times without being placed)."
  value       = try(module.dialer[0].dead_letter_queue_url, null)
}

output "dead_letter_queue_arn" {
  description = "ARN of the dead-letter queue."
  value       = try(module.dialer[0].dead_letter_queue_arn, null)
}

output "table_name" {
  description = "Name of the ActiveDialing DynamoDB table."
  value       = try(module.dialer[0].table_name, null)
}

output "table_arn" {
  description = "ARN of the ActiveDialing DynamoDB table."
  value       = try(module.dialer[0].table_arn, null)
}

output "campaign_ledger_table_name" {
  description = "Name of the campaign ledger DynamoDB table: one item per accepted contact and campaign (its state, attempts and outcome)."
  value       = try(module.dialer[0].campaign_ledger_table_name, null)
}

output "campaign_ledger_table_arn" {
  description = "ARN of the campaign ledger DynamoDB table."
  value       = try(module.dialer[0].campaign_ledger_table_arn, null)
}

output "input_bucket_name" {
  description = "Bucket where a CSV upload (`*.csv`) starts a campaign."
  value       = try(module.dialer[0].input_bucket_name, null)
}

output "results_bucket_name" {
  description = "Bucket of the results (`results/campaign=<c>/run=<r>/...jsonl`) and rejected rows (`rejects/...`)."
  value       = try(module.dialer[0].results_bucket_name, null)
}

output "results_bucket_arn" {
  description = "ARN of the results bucket."
  value       = try(module.dialer[0].results_bucket_arn, null)
}

output "ssm_prefix" {
  description = "Prefix of the dialer's SSM parameters (ends with `/`): `<prefix>activeBlaster` is the stop switch."
  value       = try(module.dialer[0].ssm_prefix, null)
}

output "contact_key_kms_key_arn" {
  description = "ARN of the KMS HMAC key contact keys are derived from (the one given, or the one the dialer created)."
  value       = try(module.dialer[0].contact_key_kms_key_arn, null)
}

output "eventbridge_rule_arn" {
  description = "ARN of the EventBridge rule that delivers the instance's DISCONNECTED contact events to `process-contact-events`."
  value       = try(module.dialer[0].eventbridge_rule_arn, null)
}

output "sweep_rule_arn" {
  description = "ARN of the EventBridge rule that starts a run on `dialer_ledger.sweep_schedule_expression` while contacts are due (null without it)."
  value       = try(module.dialer[0].sweep_rule_arn, null)
}

################################################################################
# Pinpoint custom channel
################################################################################

output "pinpoint_application_id" {
  description = "Pinpoint application whose campaigns may invoke `queue-contacts` (created or given)."
  value       = try(module.pinpoint_channel[0].application_id, null)
}

output "queue_contacts_lambda_function_arn" {
  description = "ARN of the `queue-contacts` function: the custom channel's Lambda in a Pinpoint campaign."
  value       = try(module.pinpoint_channel[0].lambda_function_arn, null)
}

################################################################################
# Contact flows
################################################################################

output "outbound_whisper_flow_id" {
  description = "Id of the outbound whisper flow (set it as the queue's outbound whisper flow)."
  value       = try(module.contact_flows[0].outbound_whisper_flow_id, null)
}

output "outbound_whisper_flow_arn" {
  description = "ARN of the outbound whisper flow."
  value       = try(module.contact_flows[0].outbound_whisper_flow_arn, null)
}

output "disposition_flow_id" {
  description = "Id of the disposition agent guide flow: the `DefaultFlowForAgentUI` contact attribute the outbound contact flow sets (`create_outbound_contact_flow`), or that your own flow must set before the call is queued."
  value       = try(module.contact_flows[0].disposition_flow_id, null)
}

output "disposition_flow_arn" {
  description = "ARN of the disposition agent guide flow."
  value       = try(module.contact_flows[0].disposition_flow_arn, null)
}

output "outbound_contact_flow_id" {
  description = "Id of the outbound contact flow (`create_outbound_contact_flow`): use it as `connect_contact_flow_id` so that campaign calls attach the disposition guide and queue for an agent."
  value       = try(module.contact_flows[0].outbound_contact_flow_id, null)
}

output "outbound_contact_flow_arn" {
  description = "ARN of the outbound contact flow."
  value       = try(module.contact_flows[0].outbound_contact_flow_arn, null)
}
