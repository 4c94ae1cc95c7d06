data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  ssm_prefix = coalesce(var.ssm_prefix, "/connect/blaster/${var.name}/")

  # Names are derived, not read back from the resources: the state machine's ARN is needed
  # in its own role, in load-list's environment and in the definition's continue-as-new, and
  # a reference to the resource would be a cycle. Known names also keep every IAM document
  # known at plan time.
  state_machine_name = "${var.name}-dialer"
  state_machine_arn  = "arn:${local.partition}:states:${local.region}:${local.account_id}:stateMachine:${local.state_machine_name}"
  # Executions of this state machine, and the child executions of its Distributed Map runs.
  state_machine_execution_arns = [
    "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}:*",
    "arn:${local.partition}:states:${local.region}:${local.account_id}:execution:${local.state_machine_name}/*",
  ]

  table_name = "${var.name}-activedialing"
  table_arn  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.table_name}"

  ledger_table_name = "${var.name}-campaign-ledger"
  ledger_table_arn  = "arn:${local.partition}:dynamodb:${local.region}:${local.account_id}:table/${local.ledger_table_name}"
  # Query is authorised on the index, not the table.
  ledger_index_arn = "${local.ledger_table_arn}/index/*"

  input_bucket_name   = coalesce(var.input_bucket_name, "${var.name}-input-${local.account_id}-${local.region}")
  results_bucket_name = coalesce(var.results_bucket_name, "${var.name}-results-${local.account_id}-${local.region}")
  input_bucket_arn    = "arn:${local.partition}:s3:::${local.input_bucket_name}"
  results_bucket_arn  = "arn:${local.partition}:s3:::${local.results_bucket_name}"

  connect_instance_arn = "arn:${local.partition}:connect:${local.region}:${local.account_id}:instance/${var.connect_instance_id}"

  # A Distributed Map above 40 lanes: an inline Map runs at most 40 iterations at once.
  distributed_map = var.max_concurrent_calls > 40

  routing_enabled = var.routing_object_key != null
  kms_enabled     = var.kms_key_arn != null
}
