output "lambda_function_arns" {
  description = "ARNs of the dialer functions, keyed by binary name (`dial`, `load-list`, ...)."
  value       = { for binary, f in module.function : binary => f.function_arn }
}

output "lambda_function_names" {
  description = "Names of the dialer functions, keyed by binary name."
  value       = { for binary, f in module.function : binary => f.function_name }
}

output "lambda_role_arns" {
  description = "ARNs of the dialer functions' IAM roles, keyed by binary name."
  value       = { for binary, f in module.function : binary => f.role_arn }
}

output "state_machine_arn" {
  description = "ARN of the dialer state machine. Start a campaign with `StartExecution` and input `{}`."
  value       = try(aws_sfn_state_machine.dialer.arn, null)
}

output "state_machine_name" {
  description = "Name of the dialer state machine."
  value       = try(aws_sfn_state_machine.dialer.name, null)
}

output "state_machine_role_arn" {
  description = "ARN of the state machine's IAM role."
  value       = try(aws_iam_role.state_machine.arn, null)
}

output "state_machine_definition" {
  description = "The rendered ASL definition (JSON)."
  value       = module.definition.definition
}

output "queue_url" {
  description = "URL of the contacts queue."
  value       = try(aws_sqs_queue.contacts.url, null)
}

output "queue_arn" {
  description = "ARN of the contacts queue."
  value       = try(aws_sqs_queue.contacts.arn, null)
}

output "dead_letter_queue_url" {
  description = "URL of the contacts dead-letter queue."
  value       = try(aws_sqs_queue.dead_letter.url, null)
}

output "dead_letter_queue_arn" {
  description = "ARN of the contacts dead-letter queue."
  value       = try(aws_sqs_queue.dead_letter.arn, null)
}

output "contact_events_dead_letter_queue_arn" {
  description = "ARN of the queue that keeps contact events EventBridge could not deliver to process-contact-events."
  value       = try(aws_sqs_queue.contact_events_dead_letter.arn, null)
}

output "table_name" {
  description = "Name of the ActiveDialing table."
  value       = try(aws_dynamodb_table.active_dialing.name, null)
}

output "table_arn" {
  description = "ARN of the ActiveDialing table."
  value       = try(aws_dynamodb_table.active_dialing.arn, null)
}

output "campaign_ledger_table_name" {
  description = "Name of the campaign ledger (DynamoDB): one item per accepted contact and campaign, `pk` = `CONTACT#<campaign>#<contactKey>`, indexes `due` and `held`."
  value       = try(aws_dynamodb_table.campaign_ledger.name, null)
}

output "campaign_ledger_table_arn" {
  description = "ARN of the campaign ledger (its indexes are `<arn>/index/due` and `<arn>/index/held`)."
  value       = try(aws_dynamodb_table.campaign_ledger.arn, null)
}

output "input_bucket_name" {
  description = "Name of the input bucket: a `.csv` upload starts load-list."
  value       = try(aws_s3_bucket.this["input"].id, null)
}

output "input_bucket_arn" {
  description = "ARN of the input bucket."
  value       = try(aws_s3_bucket.this["input"].arn, null)
}

output "results_bucket_name" {
  description = "Name of the results bucket (`results/` and `rejects/`, JSON Lines)."
  value       = try(aws_s3_bucket.this["results"].id, null)
}

output "results_bucket_arn" {
  description = "ARN of the results bucket."
  value       = try(aws_s3_bucket.this["results"].arn, null)
}

output "ssm_prefix" {
  description = "Prefix of the dialer's SSM parameters (ends with `/`); `<prefix>activeBlaster` is the stop switch."
  value       = local.ssm_prefix
}

output "ssm_parameter_names" {
  description = "Names of the dialer's SSM parameters, keyed by their short name (`activeBlaster`, `concurrentcalls`, ...)."
  value       = merge({ for k, p in aws_ssm_parameter.managed : k => p.name }, { for k, p in aws_ssm_parameter.tunable : k => p.name })
}

output "eventbridge_rule_arn" {
  description = "ARN of the EventBridge rule that sends this instance's DISCONNECTED contact events to process-contact-events."
  value       = try(aws_cloudwatch_event_rule.contact_disconnected.arn, null)
}

output "activation_rule_arn" {
  description = "ARN of the EventBridge rule that starts the state machine when activeBlaster is updated (null when start_on_activation is false)."
  value       = try(aws_cloudwatch_event_rule.activation[0].arn, null)
}

output "sweep_rule_arn" {
  description = "ARN of the EventBridge rule that starts the state machine on `ledger.sweep_schedule_expression` while contacts may be due (null when `ledger.create_sweep_rule` is false)."
  value       = try(aws_cloudwatch_event_rule.sweep[0].arn, null)
}

output "policy_documents" {
  description = "The IAM policy documents (JSON) of the dialer functions, keyed by binary name, and of the state machine (`state-machine`): for review and tests."
  value = merge(
    { for binary, d in data.aws_iam_policy_document.function : binary => d.json },
    { "state-machine" = data.aws_iam_policy_document.state_machine.json },
  )
}

output "lambda_function_environments" {
  description = "Environment variables of the dialer functions as set on them, keyed by binary name (names and ARNs only, no secrets)."
  value       = { for binary, function in module.function : binary => function.environment_variables }
}

output "cloudwatch_metric_alarm_arns" {
  description = "ARNs of the dialer's CloudWatch alarms, keyed by name (`caller_id_refused`, `failed_invocations`, `lease_expiries`, `contacts_dead_lettered`, `no_run_started` (with the sweep), `executions_failed`, `executions_timed_out`, `executions_aborted`); empty when `alarms.create` is false."
  value = merge(
    {
      for name, alarm in {
        caller_id_refused = aws_cloudwatch_metric_alarm.caller_id_refused
        lease_expiries    = aws_cloudwatch_metric_alarm.lease_expiries
        no_run_started    = aws_cloudwatch_metric_alarm.no_run_started
      } : name => alarm[0].arn if length(alarm) > 0
    },
    { for name, alarm in aws_cloudwatch_metric_alarm.queue_not_empty : name => alarm.arn },
    { for name, alarm in aws_cloudwatch_metric_alarm.executions : name => alarm.arn },
  )
}

output "alarm_sns_topic_arn" {
  description = "ARN of the SNS topic the alarms notify, created with `alarms.create_alarm_topic` (null otherwise): subscribe to it."
  value       = try(aws_sns_topic.alarms[0].arn, null)
}

output "failed_invocations_queue_arn" {
  description = "ARN of the queue that keeps the events of failed asynchronous invocations (load-list's uploads, process-contact-events' contact events) after Lambda's retries."
  value       = aws_sqs_queue.failed_invocations.arn
}

output "failed_invocations_queue_url" {
  description = "URL of the failed-invocations queue."
  value       = aws_sqs_queue.failed_invocations.url
}

output "allowed_countries" {
  description = "Destination countries the dialer may call (`ALLOWED_COUNTRIES` of load-list and dial; give the same list to the Pinpoint channel)."
  value       = coalesce(var.allowed_countries, [var.iso_country_code])
}

output "contact_key_kms_key_arn" {
  description = "ARN of the KMS HMAC key contact keys are derived from (created unless `contact_key_kms_key_arn` was given): give it to the Pinpoint channel."
  value       = local.contact_key_kms_key_arn
}

output "cloudwatch_dashboard_name" {
  description = "Name of the dialer's CloudWatch dashboard (null without `create_dashboard`)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_name, null)
}

output "cloudwatch_dashboard_arn" {
  description = "ARN of the dialer's CloudWatch dashboard (null without `create_dashboard`)."
  value       = try(aws_cloudwatch_dashboard.this[0].dashboard_arn, null)
}

output "dashboard_metric_names" {
  description = "Metrics the dashboard's log metric filters publish in the `OutboundVoice/<name>` namespace, keyed by filter (empty without `create_dashboard`)."
  value       = { for k, f in aws_cloudwatch_log_metric_filter.dashboard : k => f.metric_transformation[0].name }
}
