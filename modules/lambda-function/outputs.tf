output "function_arn" {
  description = "ARN of the Lambda function."
  value       = try(aws_lambda_function.this[0].arn, null)
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = try(aws_lambda_function.this[0].function_name, null)
}

output "invoke_arn" {
  description = "ARN to invoke the function from API Gateway or Step Functions integrations."
  value       = try(aws_lambda_function.this[0].invoke_arn, null)
}

output "role_arn" {
  description = "ARN of the function's IAM role."
  value       = try(aws_iam_role.this[0].arn, null)
}

output "role_name" {
  description = "Name of the function's IAM role (to attach further policies)."
  value       = try(aws_iam_role.this[0].name, null)
}

output "log_group_name" {
  description = "Name of the function's CloudWatch log group."
  value       = try(aws_cloudwatch_log_group.this[0].name, null)
}

output "log_group_arn" {
  description = "ARN of the function's CloudWatch log group."
  value       = try(aws_cloudwatch_log_group.this[0].arn, null)
}

output "environment_variables" {
  description = "Environment variables of the function as planned on the resource (names and values; null when not created)."
  # Not try(): it gives an unknown value for a map with one unknown value (a queue URL at plan),
  # and the names are known at plan.
  value = !var.create ? null : length(aws_lambda_function.this[0].environment) == 0 ? {} : aws_lambda_function.this[0].environment[0].variables
}

output "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function as planned (-1: none; null when not created)."
  value       = try(aws_lambda_function.this[0].reserved_concurrent_executions, null)
}

output "dead_letter_target_arn" {
  description = "Where the events of failed asynchronous invocations go (null: nowhere)."
  value       = try(aws_lambda_function.this[0].dead_letter_config[0].target_arn, null)
}
