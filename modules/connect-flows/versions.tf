terraform {
  # optional() attribute defaults (1.3) and lifecycle preconditions (1.2); terraform test mocks need 1.7.
  required_version = ">= 1.5.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config (JSON logs, log levels) on aws_lambda_function arrived in 5.31.
      version = ">= 5.31"
    }
  }
}
