################################################################################
# Contacts queue and its dead-letter queue
################################################################################

locals {
  dial_timeout = local.function_settings["dial"].timeout
}

resource "aws_sqs_queue" "dead_letter" {
  name = "${var.name}-contacts-dlq"

  # Poison contacts stay as long as SQS allows, for inspection and redrive.
  message_retention_seconds = 1209600

  sqs_managed_sse_enabled           = local.kms_enabled ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_enabled ? 300 : null

  tags = var.tags
}

resource "aws_sqs_queue" "contacts" {
  name = "${var.name}-contacts"

  message_retention_seconds  = var.queue.message_retention_seconds
  visibility_timeout_seconds = var.queue.visibility_timeout_seconds
  # dial long-polls itself (RECEIVE_WAIT_SECONDS); the queue default stays short polling.
  receive_wait_time_seconds = 0

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letter.arn
    maxReceiveCount     = var.queue.max_receive_count
  })

  sqs_managed_sse_enabled           = local.kms_enabled ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_enabled ? 300 : null

  tags = var.tags

  lifecycle {
    precondition {
      # A contact received by dial must stay invisible until dial has placed and recorded the
      # call and deleted the message; otherwise a second lane could receive it meanwhile.
      condition     = var.queue.visibility_timeout_seconds > local.dial_timeout
      error_message = "queue.visibility_timeout_seconds (${var.queue.visibility_timeout_seconds}) must be longer than the dial function's timeout (${local.dial_timeout} s): raise it or lower function_settings[\"dial\"].timeout."
    }
  }
}

# Only the contacts queue may move messages here: the dead-letter queue of another queue would
# mix foreign messages into the dialer's poison contacts.
resource "aws_sqs_queue_redrive_allow_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [local.queue_arn]
  })
}

################################################################################
# Failed asynchronous invocations
#
# load-list (S3 notifications) and process-contact-events (EventBridge) are
# invoked asynchronously: when an invocation still fails after Lambda's two
# retries, its event lands here (Lambda's dead-letter queue), so an upload that
# was never loaded or a disconnect that was never recorded is kept and alarms
# (failed_invocations) instead of being dropped.
################################################################################

resource "aws_sqs_queue" "failed_invocations" {
  name = "${var.name}-failed-invocations"

  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.kms_enabled ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_enabled ? 300 : null

  # Lambda sends here itself; no queue may use it as its dead-letter queue.
  redrive_allow_policy = jsonencode({ redrivePermission = "denyAll" })

  tags = var.tags
}

resource "aws_sqs_queue_policy" "failed_invocations" {
  queue_url = aws_sqs_queue.failed_invocations.id
  policy    = data.aws_iam_policy_document.queue_tls["failed_invocations"].json
}

data "aws_iam_policy_document" "queue_tls" {
  for_each = {
    contacts           = local.queue_arn
    dead_letter        = local.dead_letter_queue_arn
    failed_invocations = local.failed_invocations_queue_arn
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = [each.value]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_sqs_queue_policy" "contacts" {
  queue_url = aws_sqs_queue.contacts.id
  policy    = data.aws_iam_policy_document.queue_tls["contacts"].json
}

resource "aws_sqs_queue_policy" "dead_letter" {
  queue_url = aws_sqs_queue.dead_letter.id
  policy    = data.aws_iam_policy_document.queue_tls["dead_letter"].json
}
