# What the demo script and the local launcher need, one value per output
# (`terraform output -json` gives them all at once).

output "region" {
  description = "Region of the resources (and of the simulator's ARNs)."
  value       = var.region
}

output "moto_endpoint" {
  description = "The moto server the resources live in."
  value       = var.moto_endpoint
}

output "connect_instance_id" {
  description = "Instance id the dialer uses (the simulator's)."
  value       = var.connect_instance_id
}

output "connect_contact_flow_id" {
  description = "Contact flow id the dialer uses."
  value       = var.connect_contact_flow_id
}

output "connect_queue_id" {
  description = "Queue id the dialer uses."
  value       = var.connect_queue_id
}

output "input_bucket_name" {
  description = "Upload a contacts CSV here to start a campaign."
  value       = module.outbound_voice.input_bucket_name
}

output "results_bucket_name" {
  description = "Results (results/campaign=<c>/run=<r>/...jsonl) and rejects (rejects/...)."
  value       = module.outbound_voice.results_bucket_name
}

output "routing_bucket_name" {
  description = "Bucket of the routing file."
  value       = module.outbound_voice.routing_bucket_name
}

output "routing_object_key" {
  description = "Key of the routing file."
  value       = module.outbound_voice.routing_object_key
}

output "queue_url" {
  description = "Contact queue."
  value       = module.outbound_voice.queue_url
}

output "dead_letter_queue_url" {
  description = "Dead-letter queue."
  value       = module.outbound_voice.dead_letter_queue_url
}

output "campaign_ledger_table_name" {
  description = "Campaign ledger: one item per contact and campaign (state, attempts, outcome)."
  value       = module.outbound_voice.campaign_ledger_table_name
}

output "state_machine_arn" {
  description = "Dialer state machine."
  value       = module.outbound_voice.state_machine_arn
}

output "table_name" {
  description = "ActiveDialing table."
  value       = module.outbound_voice.table_name
}

output "ssm_prefix" {
  description = "Prefix of the dialer's parameters (`<prefix>activeBlaster` stops the campaign)."
  value       = module.outbound_voice.ssm_prefix
}

output "eventbridge_rule_arn" {
  description = "Rule that delivers the simulator's DISCONNECTED events to process-contact-events."
  value       = module.outbound_voice.eventbridge_rule_arn
}

output "lambda_function_names" {
  description = "Function names keyed by binary name: the launcher forwards each function's invocations to the local binary of that name."
  value       = module.outbound_voice.lambda_function_names
}

output "lambda_function_arns" {
  description = "Function ARNs keyed by binary name."
  value       = module.outbound_voice.lambda_function_arns
}

output "pinpoint_application_id" {
  description = "Pinpoint application (moto) whose campaigns may invoke queue-contacts."
  value       = module.outbound_voice.pinpoint_application_id
}
