terraform {
  # optional() attribute defaults (1.3), lifecycle preconditions (1.2); terraform test mocks need 1.7.
  required_version = ">= 1.5.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # logging_config on aws_lambda_function (5.31); JitterStrategy and MaxDelaySeconds in the
      # definition are validated by the service, not the provider.
      version = ">= 5.31"
    }
  }
}
