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
