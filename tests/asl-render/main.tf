# Renders the dialer's ASL definition with sample ARNs, without any provider, through the same
# module the dialer uses. scripts/validate-asl.sh applies it once per Map mode and validates the
# output with asl-validator and in moto's executor (moto_check.py).
#
#   terraform -chdir=tests/asl-render apply -auto-approve -var max_concurrency=40   # INLINE
#   terraform -chdir=tests/asl-render apply -auto-approve -var max_concurrency=100  # DISTRIBUTED

terraform {
  required_version = ">= 1.5.7"
}

variable "max_concurrency" {
  description = "max_concurrent_calls of the dialer: 40 or less renders an INLINE Map, more a DISTRIBUTED one."
  type        = number
  default     = 40
}

variable "closed_poll_seconds" {
  description = "Wait between looks at a disabled queue (short here: moto_check.py runs the definition)."
  type        = number
  default     = 2
}

variable "drain_wait_seconds" {
  description = "Wait before dialing contacts still in flight (short here: moto_check.py runs the definition)."
  type        = number
  default     = 1
}

locals {
  # The region and account moto_check.py uses.
  function_prefix = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-test"
}

module "definition" {
  source = "../../modules/dialer/modules/definition"

  function_arns = {
    for binary in ["get-config", "get-contacts", "dial", "connect-status"] : binary => "${local.function_prefix}-${binary}"
  }
  table_name          = "blaster-test-activedialing"
  max_concurrency     = var.max_concurrency
  closed_poll_seconds = var.closed_poll_seconds
  drain_wait_seconds  = var.drain_wait_seconds
}

output "definition" {
  description = "The rendered definition (JSON)."
  value       = module.definition.definition
}

output "mode" {
  description = "INLINE or DISTRIBUTED."
  value       = module.definition.distributed ? "DISTRIBUTED" : "INLINE"
}
