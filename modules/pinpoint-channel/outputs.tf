output "application_id" {
  description = "Id of the Pinpoint application whose campaigns may invoke the function (created or given)."
  value       = var.create ? local.application_id : null
}

output "application_arn" {
  description = "ARN of the Pinpoint application created here (null for an existing application)."
  value       = try(aws_pinpoint_app.this[0].arn, null)
}

output "lambda_function_arn" {
  description = "ARN of `queue-contacts`: choose it as the custom channel's Lambda function in a campaign."
  value       = module.function.function_arn
}

output "lambda_function_name" {
  description = "Name of `queue-contacts`."
  value       = module.function.function_name
}

output "lambda_role_arn" {
  description = "ARN of the IAM role of `queue-contacts`."
  value       = module.function.role_arn
}

output "lambda_environment" {
  description = "Environment of `queue-contacts` (to run the same binary locally)."
  value       = module.function.environment_variables
}

output "policy_json" {
  description = "The function's own IAM policy document (JSON)."
  value       = try(data.aws_iam_policy_document.queue_contacts[0].json, null)
}

output "invoke_source_arn" {
  description = "Source ARN the invoke permission is scoped to: this application's campaigns."
  value       = try(aws_lambda_permission.pinpoint[0].source_arn, null)
}
