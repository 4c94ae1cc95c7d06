terraform {
  # optional() attribute defaults (1.3); terraform test mocks need 1.7.
  required_version = ">= 1.5.7"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Partition projection is table parameters; enforce_workgroup_configuration and
      # bytes_scanned_cutoff_per_query are older than the root module's lower bound.
      version = ">= 5.31"
    }
  }
}
