output "lambda_function_arn" {
  description = "ARN of the caller-id function (the whisper flow invokes it)."
  value       = module.function.function_arn
}

output "lambda_function_name" {
  description = "Name of the caller-id function."
  value       = module.function.function_name
}

output "lambda_role_arn" {
  description = "ARN of the caller-id function's IAM role."
  value       = module.function.role_arn
}

output "lambda_role_name" {
  description = "Name of the caller-id function's IAM role."
  value       = module.function.role_name
}

output "lambda_log_group_name" {
  description = "Log group of the caller-id function."
  value       = module.function.log_group_name
}

output "lambda_environment" {
  description = "Environment of the caller-id function (to run the same binary locally, e.g. behind `cargo lambda watch`)."
  value       = module.function.environment_variables
}

output "policy_json" {
  description = "The caller-id function's own IAM policy document (JSON)."
  value       = try(data.aws_iam_policy_document.caller_id[0].json, null)
}

output "bucket_name" {
  description = "Bucket holding the routing file (created here or given)."
  value       = var.create ? local.bucket_name : null
}

output "bucket_arn" {
  description = "ARN of the bucket holding the routing file."
  value       = var.create ? local.bucket_arn : null
}

output "routing_object_key" {
  description = "Key of the routing file."
  value       = var.create ? var.routing_object_key : null
}

output "routing_object_arn" {
  description = "ARN of the routing file: the only object the function may read."
  value       = var.create ? local.routing_object_arn : null
}

output "routing_object_version_id" {
  description = "Version of the routing file written by this module (null when the module does not manage the object or the bucket is not versioned)."
  value       = try(aws_s3_object.routing[0].version_id, null)
}

output "connect_lambda_function_association_id" {
  description = "Id of the association between the function and the Connect instance (null without `connect_instance_id`)."
  value       = try(aws_connect_lambda_function_association.this[0].id, null)
}

output "lambda_reserved_concurrent_executions" {
  description = "Reserved concurrency of the caller-id function (-1: none)."
  value       = module.function.reserved_concurrent_executions
}
