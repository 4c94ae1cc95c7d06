output "outbound_whisper_flow_id" {
  description = "Id of the outbound whisper flow: set it as the outbound whisper flow of the queue(s) that place campaign or agent calls."
  value       = try(aws_connect_contact_flow.outbound_whisper[0].contact_flow_id, null)
}

output "outbound_whisper_flow_arn" {
  description = "ARN of the outbound whisper flow."
  value       = try(aws_connect_contact_flow.outbound_whisper[0].arn, null)
}

output "outbound_whisper_flow_content" {
  description = "Rendered flow-language JSON of the outbound whisper flow."
  value       = local.whisper_content
}

output "disposition_flow_id" {
  description = "Id of the disposition agent guide: the value of the `DefaultFlowForAgentUI` contact attribute the outbound contact flow sets."
  value       = try(aws_connect_contact_flow.disposition[0].contact_flow_id, null)
}

output "disposition_flow_arn" {
  description = "ARN of the disposition agent guide."
  value       = try(aws_connect_contact_flow.disposition[0].arn, null)
}

output "disposition_flow_content" {
  description = "Rendered flow-language JSON of the disposition agent guide."
  value       = local.disposition_content
}

output "outbound_contact_flow_id" {
  description = "Id of the outbound contact flow (null unless `create_outbound_contact_flow`): the dialer's contact flow (`connect_contact_flow_id`), so that agents get the disposition guide."
  value       = try(aws_connect_contact_flow.outbound[0].contact_flow_id, null)
}

output "outbound_contact_flow_arn" {
  description = "ARN of the outbound contact flow."
  value       = try(aws_connect_contact_flow.outbound[0].arn, null)
}

output "outbound_contact_flow_content" {
  description = "Rendered flow-language JSON of the outbound contact flow."
  value       = local.outbound_content
}
