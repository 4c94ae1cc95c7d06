terraform {
  # optional() attribute defaults (1.3), lifecycle preconditions (1.2); `terraform test` with
  # mock providers (the module's tests) needs 1.7.
  required_version = ">= 1.5.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config on aws_lambda_function (JSON logs) arrived in 5.31. Tested with 5.100.
      version = ">= 5.31"
    }
  }
}
