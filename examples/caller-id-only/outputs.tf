output "caller_id_lambda_function_arn" {
  description = "ARN of the caller-id function: invoke it from the outbound whisper flow."
  value       = module.caller_id.caller_id_lambda_function_arn
}

output "caller_id_lambda_function_name" {
  description = "Name of the caller-id function."
  value       = module.caller_id.caller_id_lambda_function_name
}

output "routing_bucket_name" {
  description = "Bucket holding the routing file."
  value       = module.caller_id.routing_bucket_name
}

output "routing_object_key" {
  description = "Key of the routing file."
  value       = module.caller_id.routing_object_key
}
