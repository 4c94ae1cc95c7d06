################################################################################
# The dialer state machine (state-machine.asl.json.tftpl; transitions per
# contact are counted in README.md)
################################################################################

module "definition" {
  source = "./modules/definition"

  function_arns = {
    for binary in ["get-config", "get-contacts", "dial", "connect-status"] : binary => module.function[binary].function_arn
  }
  table_name          = aws_dynamodb_table.active_dialing.name
  max_concurrency     = var.max_concurrent_calls
  closed_poll_seconds = var.closed_poll_seconds
  drain_wait_seconds  = var.drain_wait_seconds
}

resource "aws_cloudwatch_log_group" "state_machine" {
  # checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_in_days); execution history is kept by Step Functions itself for 90 days.
  name              = "/aws/vendedlogs/states/${local.state_machine_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

resource "aws_sfn_state_machine" "dialer" {
  # checkov:skip=CKV_AWS_284:X-Ray tracing is a choice (state_machine_tracing_enabled, default off: traces of a campaign that runs for days cost more than they explain).
  # checkov:skip=CKV_AWS_285:Execution logging is configured (state_machine_logging); the level is the caller's choice, and execution data holds contact data, so it is off by default.
  name     = local.state_machine_name
  role_arn = aws_iam_role.state_machine.arn
  type     = "STANDARD"

  definition = module.definition.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.state_machine.arn}:*"
    level                  = var.state_machine_logging.level
    include_execution_data = var.state_machine_logging.include_execution_data
  }

  tracing_configuration {
    enabled = var.state_machine_tracing_enabled
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.concurrent_calls <= var.max_concurrent_calls
      error_message = "concurrent_calls (${var.concurrent_calls}) must not exceed max_concurrent_calls (${var.max_concurrent_calls}), the concurrency the state machine is built for."
    }
  }

  # The role's policy must be in place before the service validates the definition and logging.
  depends_on = [aws_iam_role_policy.state_machine]
}
