output "kms_key_arn" {
  description = "The customer managed key of the deployment."
  value       = aws_kms_key.this.arn
}

output "lambda_function_names" {
  description = "Every function, keyed by binary name."
  value       = module.outbound_voice.lambda_function_names
}

output "state_machine_arn" {
  description = "ARN of the dialer state machine."
  value       = module.outbound_voice.state_machine_arn
}

output "input_bucket_name" {
  description = "Upload a contacts CSV here to start a campaign."
  value       = module.outbound_voice.input_bucket_name
}

output "results_bucket_name" {
  description = "Results (JSON Lines) and rejected rows."
  value       = module.outbound_voice.results_bucket_name
}

output "queue_url" {
  description = "URL of the contact queue."
  value       = module.outbound_voice.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue."
  value       = module.outbound_voice.dead_letter_queue_url
}

output "campaign_ledger_table_name" {
  description = "Campaign ledger: one item per contact and campaign (state, attempts, outcome)."
  value       = module.outbound_voice.campaign_ledger_table_name
}

output "table_name" {
  description = "ActiveDialing table."
  value       = module.outbound_voice.table_name
}

output "ssm_prefix" {
  description = "Prefix of the dialer's parameters (`<prefix>activeBlaster` is the stop switch)."
  value       = module.outbound_voice.ssm_prefix
}

output "eventbridge_rule_arn" {
  description = "Rule delivering the instance's DISCONNECTED contact events."
  value       = module.outbound_voice.eventbridge_rule_arn
}

output "pinpoint_application_id" {
  description = "Pinpoint application whose campaigns may use queue-contacts as custom channel."
  value       = module.outbound_voice.pinpoint_application_id
}

output "outbound_whisper_flow_id" {
  description = "Set this flow as the outbound whisper flow of the outbound queue."
  value       = module.outbound_voice.outbound_whisper_flow_id
}

output "disposition_flow_id" {
  description = "Set this flow id as `DefaultFlowForAgentUI` in the outbound contact flow."
  value       = module.outbound_voice.disposition_flow_id
}
