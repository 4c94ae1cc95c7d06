data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

data "aws_caller_identity" "current" {
  count = var.create ? 1 : 0
}

locals {
  create_app = var.create && var.create_app

  partition  = try(data.aws_partition.current[0].partition, "aws")
  region     = try(data.aws_region.current[0].name, "")
  account_id = try(data.aws_caller_identity.current[0].account_id, "")

  application_id = local.create_app ? aws_pinpoint_app.this[0].application_id : var.application_id

  # Campaigns (and journeys) of this application only: apps/<id>/campaigns/<campaign id>.
  source_arn = "arn:${local.partition}:mobiletargeting:${local.region}:${local.account_id}:apps/${coalesce(local.application_id, "-")}/*"

  results_bucket_arn = "arn:${local.partition}:s3:::${var.results_bucket}"
  ssm_prefix_arn     = "arn:${local.partition}:ssm:${local.region}:${local.account_id}:parameter${var.ssm_prefix}"

  # Exactly what queue-contacts reads (functions/queue-contacts/environment.json).
  environment = {
    ALLOWED_COUNTRIES       = join(",", var.allowed_countries)
    CONTACT_KEY_KMS_KEY_ARN = var.contact_key_kms_key_arn
    LEDGER_TABLE_NAME       = var.ledger_table_name
    RESULTS_BUCKET          = var.results_bucket
    STATE_MACHINE_ARN       = var.state_machine_arn
    SSM_PREFIX              = var.ssm_prefix
  }
}

################################################################################
# Pinpoint application
################################################################################

resource "aws_pinpoint_app" "this" {
  count = local.create_app ? 1 : 0

  name = var.name
  tags = var.tags
}

################################################################################
# Function
################################################################################

data "aws_iam_policy_document" "queue_contacts" {
  count = var.create ? 1 : 0

  statement {
    # A batch's endpoints are admitted to the campaign ledger: PutItem on condition that the
    # contact is not there yet, UpdateItem on the campaign's own items (docs/architecture.md,
    # "Campaign ledger"). The dialer's feeder, not this function, sends contacts to the queue.
    sid       = "AdmitContacts"
    effect    = "Allow"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [var.ledger_table_arn]
  }

  statement {
    # The do-not-call check at intake (outbound_core::intake::suppressor): the list's items are
    # read a hundred at a time, and a contact found final is read again before its final
    # record is rewritten.
    sid       = "CheckDoNotCall"
    effect    = "Allow"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem"]
    resources = [var.ledger_table_arn]
  }

  statement {
    # A listed contact's final record (`dnc`).
    sid       = "WriteFinalRecords"
    effect    = "Allow"
    actions   = ["s3:PutObject"]
    resources = ["${local.results_bucket_arn}/finals/*"]
  }

  statement {
    sid    = "WriteRejects"
    effect = "Allow"
    # The rejects report is a multipart upload, aborted if it fails.
    actions   = ["s3:PutObject", "s3:AbortMultipartUpload"]
    resources = ["${local.results_bucket_arn}/rejects/*"]
  }

  statement {
    sid       = "StartCampaign"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [var.state_machine_arn]
  }

  statement {
    # The contact keys' secret, derived once per cold start (outbound_core::contact_key):
    # the same key as load-list's, so both intakes name a contact the same way.
    sid       = "DeriveContactKeys"
    effect    = "Allow"
    actions   = ["kms:GenerateMac"]
    resources = [var.contact_key_kms_key_arn]
  }

  statement {
    # The default region of numbers written without a country code (outbound_core::config).
    sid       = "ReadConfiguration"
    effect    = "Allow"
    actions   = ["ssm:GetParameter"]
    resources = ["${local.ssm_prefix_arn}isocountrycode"]
  }

  statement {
    # totalRecords is read, added to and written back (outbound_core::intake::run).
    sid       = "CountQueuedRecords"
    effect    = "Allow"
    actions   = ["ssm:GetParameter", "ssm:PutParameter"]
    resources = ["${local.ssm_prefix_arn}totalRecords"]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [var.kms_key_arn] : []

    content {
      sid    = "UseDialerKey"
      effect = "Allow"
      # GenerateDataKey to put an encrypted object; Decrypt to read SecureString parameters
      # and to complete multipart uploads.
      actions = [
        "kms:GenerateDataKey",
        "kms:Decrypt",
      ]
      resources = [statement.value]
    }
  }

  lifecycle {
    precondition {
      condition     = var.create_app || var.application_id != null
      error_message = "pinpoint-channel needs an application: set application_id to an existing Pinpoint application id, or create_app = true."
    }
  }
}

module "function" {
  source = "../lambda-function"

  create = var.create

  function_name = "${var.name}-queue-contacts"
  binary_name   = "queue-contacts"
  description   = "Pinpoint custom channel: admits a campaign's endpoints to the dialer's campaign ledger"
  artifacts_dir = var.lambda_artifacts_dir
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.timeout

  environment = local.environment

  policy_json        = try(data.aws_iam_policy_document.queue_contacts[0].json, null)
  attach_policy_json = var.create

  reserved_concurrent_executions = var.reserved_concurrent_executions
  tracing_mode                   = var.tracing_mode
  log_retention_in_days          = var.log_retention_in_days
  log_level                      = var.log_level
  kms_key_arn                    = var.kms_key_arn

  tags = var.tags
}

resource "aws_lambda_permission" "pinpoint" {
  count = var.create ? 1 : 0

  statement_id   = "AllowPinpointCampaignsOfApp"
  action         = "lambda:InvokeFunction"
  function_name  = module.function.function_name
  principal      = coalesce(var.invoke_principal, "pinpoint.${local.region}.amazonaws.com")
  source_arn     = local.source_arn
  source_account = local.account_id
}
