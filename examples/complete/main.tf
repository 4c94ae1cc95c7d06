provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "outbound-voice"
      Environment = var.environment
    }
  }
}

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

################################################################################
# Customer managed key used by every component
################################################################################

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:A key policy's resource "*" is the key itself; writes are limited to this account's root and to service principals conditioned on this account.
  #checkov:skip=CKV_AWS_356:A key policy's resource "*" is the key itself: no other resource can be named in it.
  #checkov:skip=CKV_AWS_109:The account root administers its own key (the default key policy); without it the key becomes unmanageable.
  statement {
    sid       = "AccountAdministers"
    effect    = "Allow"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  # CloudWatch Logs encrypts the function and state machine log groups of this account only.
  statement {
    sid    = "CloudWatchLogsEncrypt"
    effect = "Allow"
    actions = [
      "kms:Encrypt*",
      "kms:Decrypt*",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:Describe*",
    ]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["logs.${data.aws_region.current.name}.amazonaws.com"]
    }

    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }

  # EventBridge delivers failed contact events to the encrypted dead-letter queue.
  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  # No statement for S3: the input bucket notifies a Lambda function, which S3 invokes
  # directly; KMS takes part only when a notification goes to an encrypted SQS queue or SNS
  # topic, which this module does not use.
}

resource "aws_kms_key" "this" {
  description             = "${var.name}: outbound voice (logs, queues, table, buckets, parameters)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-outbound-voice"
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Every feature of the module
################################################################################

module "outbound_voice" {
  source = "../../"

  name = var.name

  create_caller_id        = true
  create_dialer           = true
  create_pinpoint_channel = var.create_pinpoint_channel
  create_contact_flows    = true

  connect_instance_id     = var.connect_instance_id
  connect_contact_flow_id = var.connect_contact_flow_id
  connect_queue_id        = var.connect_queue_id

  # Caller ID by destination, also used for the campaign calls' caller ID.
  routing             = var.routing
  routing_object_key  = "caller-id/routing.json"
  dialer_uses_routing = true

  # Dialing behaviour (operators may change concurrentcalls, timeOut and activeBlaster in SSM).
  country_code         = "44"
  iso_country_code     = "GB"
  concurrent_calls     = 10
  max_concurrent_calls = 100 # above 40 lanes the state machine uses a Distributed Map
  call_timeout_seconds = 900
  calls_per_second     = 2
  ssm_prefix           = "/connect/blaster/${var.name}/"

  dialer_queue = {
    message_retention_seconds = 1209600 # 14 days
    max_receive_count         = 10
  }

  # Redials (the campaign ledger decides them, not the queue). After each attempt: an outcome in
  # final_outcomes ends the contact; any other is dialed again after its delay, up to
  # max_attempts calls in all. A CSV may override these with its x-amz-meta-redial metadata.
  dialer_redial = {
    max_attempts = 3
    delay_minutes = {
      busy      = 10  # the line was busy: try again soon
      no_answer = 120 # nobody answered
      failed    = 30  # Connect could not place the call
      timeout   = 30  # only used if timeout is taken out of final_outcomes
      error     = 60  # likewise for error
      connected = 60  # likewise for connected
    }
    final_outcomes = ["connected", "timeout", "error"]
  }

  dialer_ledger = {
    # Finished contacts (and their numbers) are kept this long as the campaign's duplicate filter.
    final_retention_days = 90
    # A contact fed to the queue stays reserved for its run this long; then it is due again.
    lease_minutes = 60
    # A run with nothing left to dial waits this long for redials due soon, instead of ending.
    wait_for_due_minutes = 5
    # Starts a run while contacts are due: redials due after the last run, a run that failed.
    sweep_schedule_expression = "rate(10 minutes)"
    # The ledger is the campaign's history: terraform destroy must not delete it by accident.
    deletion_protection = true
  }

  state_machine_logging = {
    level                  = "ERROR"
    include_execution_data = false # execution data holds phone numbers
  }
  state_machine_tracing_enabled = true

  kms_key_arn           = aws_kms_key.this.arn
  log_retention_in_days = 365

  lambda_artifacts_dir = var.lambda_artifacts_dir
  lambda_architecture  = var.lambda_architecture

  tags = {
    CostCentre = "contact-centre"
  }
  dialer_tags = {
    Component = "dialer"
  }
  caller_id_tags = {
    Component = "caller-id"
  }
}
