locals {
  zip_path   = "${var.artifacts_dir}/${var.binary_name}/bootstrap.zip"
  zip_exists = fileexists(local.zip_path)
  # The precondition below turns a missing zip into a readable error; until it runs, the hash
  # must not be computed from a file that is not there (filebase64sha256 would fail first).
  zip_hash = local.zip_exists ? filebase64sha256(local.zip_path) : null

  build_command = "make build${var.architecture == "arm64" ? " ARCH=arm64" : ""} (cargo lambda build --release --output-format zip${var.architecture == "arm64" ? " --arm64" : ""} --lambda-dir ${var.artifacts_dir})"

  attach_policy_json = var.attach_policy_json != null ? var.attach_policy_json : var.policy_json != null
}

################################################################################
# Log group: created before the function, or Lambda creates it on the first
# invocation (with no retention, no key) and Terraform then fails to create it.
################################################################################

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_in_days, 30 days by default to bound cost; examples/complete keeps 365).
  count = var.create ? 1 : 0

  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_in_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}

################################################################################
# IAM: one role per function
################################################################################

data "aws_iam_policy_document" "assume_role" {
  count = var.create ? 1 : 0

  statement {
    sid     = "LambdaAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create ? 1 : 0

  name               = var.function_name
  description        = "Execution role of the ${var.function_name} Lambda function."
  assume_role_policy = data.aws_iam_policy_document.assume_role[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "logs" {
  count = var.create ? 1 : 0

  statement {
    sid     = "WriteOwnLogGroup"
    effect  = "Allow"
    actions = ["logs:CreateLogStream", "logs:PutLogEvents"]
    # Streams of this function's own group only: the group itself is Terraform's.
    resources = ["${aws_cloudwatch_log_group.this[0].arn}:*"]
  }

  dynamic "statement" {
    for_each = var.dead_letter_target_arn != null ? [var.dead_letter_target_arn] : []

    content {
      sid       = "DeadLetters"
      effect    = "Allow"
      actions   = [startswith(split(":", statement.value)[2], "sns") ? "sns:Publish" : "sqs:SendMessage"]
      resources = [statement.value]
    }
  }

  dynamic "statement" {
    for_each = var.tracing_mode == "Active" ? [1] : []

    content {
      sid    = "XRayWrite"
      effect = "Allow"
      actions = [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
      ]
      # These X-Ray actions do not support resource-level permissions.
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "logs" {
  count = var.create ? 1 : 0

  name   = "logs"
  role   = aws_iam_role.this[0].id
  policy = data.aws_iam_policy_document.logs[0].json
}

resource "aws_iam_role_policy" "function" {
  count = var.create && local.attach_policy_json ? 1 : 0

  name   = "function"
  role   = aws_iam_role.this[0].id
  policy = var.policy_json

  lifecycle {
    precondition {
      condition     = var.policy_json != null
      error_message = "attach_policy_json is true but policy_json is null: give the function's policy document, or set attach_policy_json = false."
    }
  }
}

################################################################################
# Function
################################################################################

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:A DLQ applies to asynchronous invocations only; callers of this module set dead_letter_target_arn for those (the dialer does for load-list and process-contact-events), the synchronously invoked functions (flows, Step Functions, Pinpoint) return errors to their caller.
  #checkov:skip=CKV_AWS_117:The functions call only AWS APIs; a VPC would add NAT or seven interface endpoints and cold-start latency for no isolation gain. No VPC resource is reached.
  #checkov:skip=CKV_AWS_272:Packages are built from source by cargo-lambda in the caller's pipeline; code signing is available through code_signing_config_arn when an AWS Signer profile exists.
  #checkov:skip=CKV_AWS_50:Tracing is the caller's choice (tracing_mode): X-Ray is billed per trace and off by default.
  count = var.create ? 1 : 0

  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this[0].arn

  runtime       = "provided.al2023"
  handler       = "bootstrap"
  architectures = [var.architecture]

  filename         = local.zip_path
  source_code_hash = local.zip_hash

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions
  kms_key_arn                    = var.kms_key_arn
  code_signing_config_arn        = var.code_signing_config_arn

  dynamic "environment" {
    for_each = length(var.environment) > 0 ? [var.environment] : []

    content {
      variables = environment.value
    }
  }

  # JSON lines with the level the runtime reads from AWS_LAMBDA_LOG_LEVEL: the Rust
  # functions switch their tracing subscriber to JSON from this, not from code.
  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this[0].name
    application_log_level = var.log_level
    system_log_level      = var.system_log_level
  }

  dynamic "dead_letter_config" {
    for_each = var.dead_letter_target_arn != null ? [var.dead_letter_target_arn] : []

    content {
      target_arn = dead_letter_config.value
    }
  }

  dynamic "tracing_config" {
    for_each = var.tracing_mode != null ? [var.tracing_mode] : []

    content {
      mode = tracing_config.value
    }
  }

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.zip_exists
      error_message = "The deployment package ${local.zip_path} of ${var.binary_name} is missing. Build it with ${local.build_command}, or point artifacts_dir at the directory that holds <binary>/bootstrap.zip for the ${var.architecture} architecture."
    }
  }

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.logs,
  ]
}
