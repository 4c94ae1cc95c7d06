################################################################################
# DISCONNECTED contact events of this instance complete the waiting lanes
################################################################################

resource "aws_cloudwatch_event_rule" "contact_disconnected" {
  name        = "${var.name}-contact-disconnected"
  description = "DISCONNECTED events of voice contacts the API placed on Connect instance ${var.connect_instance_id}, for process-contact-events."

  # Only the calls this dialer places: voice contacts created with StartOutboundVoiceContact
  # (initiation method API, per the contact records data model) on this instance. Inbound calls,
  # chats, tasks and agent-placed calls of the instance never invoke the function.
  # docs.aws.amazon.com/connect/latest/adminguide/contact-events.html
  event_pattern = jsonencode({
    source        = ["aws.connect"]
    "detail-type" = ["Amazon Connect Contact Event"]
    detail = {
      eventType        = ["DISCONNECTED"]
      instanceArn      = [local.connect_instance_arn]
      channel          = ["VOICE"]
      initiationMethod = ["API"]
    }
  })

  tags = var.tags
}

# Events that EventBridge could not deliver after its retries: without them a lane waits for
# timeOut and reconciles with DescribeContact, so they are kept for inspection, not replayed.
resource "aws_sqs_queue" "contact_events_dead_letter" {
  name = "${var.name}-contact-events-dlq"

  message_retention_seconds         = 1209600
  sqs_managed_sse_enabled           = local.kms_enabled ? null : true
  kms_master_key_id                 = var.kms_key_arn
  kms_data_key_reuse_period_seconds = local.kms_enabled ? 300 : null

  # EventBridge sends here itself; no queue may use it as its dead-letter queue.
  redrive_allow_policy = jsonencode({ redrivePermission = "denyAll" })

  tags = var.tags
}

data "aws_iam_policy_document" "contact_events_dead_letter" {
  statement {
    sid       = "EventBridgeDeadLetters"
    effect    = "Allow"
    actions   = ["sqs:SendMessage"]
    resources = ["${local.arn_prefix.sqs}:${var.name}-contact-events-dlq"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      # The rule's ARN on the default bus, known before the rule exists.
      values = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-contact-disconnected"]
    }
  }

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["sqs:*"]
    resources = ["${local.arn_prefix.sqs}:${var.name}-contact-events-dlq"]

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

resource "aws_sqs_queue_policy" "contact_events_dead_letter" {
  queue_url = aws_sqs_queue.contact_events_dead_letter.id
  policy    = data.aws_iam_policy_document.contact_events_dead_letter.json
}

resource "aws_cloudwatch_event_target" "process_contact_events" {
  rule      = aws_cloudwatch_event_rule.contact_disconnected.name
  target_id = "process-contact-events"
  arn       = module.function["process-contact-events"].function_arn

  retry_policy {
    maximum_event_age_in_seconds = var.contact_event_retry.maximum_event_age_in_seconds
    maximum_retry_attempts       = var.contact_event_retry.maximum_retry_attempts
  }

  dead_letter_config {
    arn = aws_sqs_queue.contact_events_dead_letter.arn
  }
}

resource "aws_lambda_permission" "process_contact_events_from_eventbridge" {
  statement_id  = "AllowContactDisconnectedRule"
  action        = "lambda:InvokeFunction"
  function_name = module.function["process-contact-events"].function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.contact_disconnected.arn
}

################################################################################
# Optional: switching activeBlaster back on starts the state machine.
# The event says a parameter changed, not to what: a start after a switch-off
# claims a free run, finds activeBlaster False and releases it (4 transitions);
# a start while a run is in progress finds the run claimed and ends.
################################################################################

resource "aws_cloudwatch_event_rule" "activation" {
  count = var.start_on_activation ? 1 : 0

  name        = "${var.name}-dialer-activation"
  description = "Starts the ${local.state_machine_name} state machine when ${local.ssm_prefix}activeBlaster is updated."

  event_pattern = jsonencode({
    source        = ["aws.ssm"]
    "detail-type" = ["Parameter Store Change"]
    detail = {
      name      = ["${local.ssm_prefix}activeBlaster"]
      operation = ["Update"]
    }
  })

  tags = var.tags
}

data "aws_iam_policy_document" "activation_assume" {
  count = var.start_on_activation ? 1 : 0

  statement {
    sid     = "EventBridgeAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    # Only this deployment's activation rule may use the role (confused deputy). Its ARN on the
    # default bus is known before the rule exists.
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${var.name}-dialer-activation"]
    }
  }
}

resource "aws_iam_role" "activation" {
  count = var.start_on_activation ? 1 : 0

  name               = "${var.name}-dialer-activation"
  description        = "Lets EventBridge start the ${local.state_machine_name} state machine when activeBlaster changes."
  assume_role_policy = data.aws_iam_policy_document.activation_assume[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "activation" {
  count = var.start_on_activation ? 1 : 0

  statement {
    sid       = "StartCampaign"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

resource "aws_iam_role_policy" "activation" {
  count = var.start_on_activation ? 1 : 0

  name   = "start-state-machine"
  role   = aws_iam_role.activation[0].id
  policy = data.aws_iam_policy_document.activation[0].json
}

resource "aws_cloudwatch_event_target" "activation" {
  count = var.start_on_activation ? 1 : 0

  rule      = aws_cloudwatch_event_rule.activation[0].name
  target_id = "start-dialer"
  arn       = aws_sfn_state_machine.dialer.arn
  role_arn  = aws_iam_role.activation[0].arn
  # A fresh start: get-config gives the run its id.
  input = jsonencode({})
}

################################################################################
# The sweep: runs are disposable (docs/architecture.md, "Runs become
# disposable"). A run holds nothing but leases, so one that failed, timed out or
# was stopped loses nothing, and a redial due hours after the last run ended has
# no run to dial it. On a schedule, the sweep starts a run: while a run is in
# progress, get-config finds the run claimed and the execution ends (4
# transitions); with nothing due, get-config reports the run idle and it is
# released without lanes (7 transitions).
################################################################################

locals {
  create_sweep_rule = var.ledger.create_sweep_rule
  sweep_rule_name   = "${var.name}-dialer-sweep"
}

resource "aws_cloudwatch_event_rule" "sweep" {
  count = local.create_sweep_rule ? 1 : 0

  name                = local.sweep_rule_name
  description         = "Starts the ${local.state_machine_name} state machine on a schedule so that contacts due in the campaign ledger are dialed: redials due after the last run ended, the contacts of a run that failed or was stopped. get-config's run claim makes a sweep during a run a no-op."
  schedule_expression = var.ledger.sweep_schedule_expression

  tags = var.tags
}

data "aws_iam_policy_document" "sweep_assume" {
  count = local.create_sweep_rule ? 1 : 0

  statement {
    sid     = "EventBridgeAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    # Only this deployment's sweep rule may use the role (confused deputy).
    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:events:${local.region}:${local.account_id}:rule/${local.sweep_rule_name}"]
    }
  }
}

resource "aws_iam_role" "sweep" {
  count = local.create_sweep_rule ? 1 : 0

  name               = local.sweep_rule_name
  description        = "Lets EventBridge start the ${local.state_machine_name} state machine on the sweep schedule."
  assume_role_policy = data.aws_iam_policy_document.sweep_assume[0].json

  tags = var.tags
}

data "aws_iam_policy_document" "sweep" {
  count = local.create_sweep_rule ? 1 : 0

  statement {
    sid       = "StartRun"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }
}

resource "aws_iam_role_policy" "sweep" {
  count = local.create_sweep_rule ? 1 : 0

  name   = "start-state-machine"
  role   = aws_iam_role.sweep[0].id
  policy = data.aws_iam_policy_document.sweep[0].json
}

resource "aws_cloudwatch_event_target" "sweep" {
  count = local.create_sweep_rule ? 1 : 0

  rule      = aws_cloudwatch_event_rule.sweep[0].name
  target_id = "start-dialer"
  arn       = aws_sfn_state_machine.dialer.arn
  role_arn  = aws_iam_role.sweep[0].arn
  # A fresh start, marked for the execution history: get-config gives the run its id.
  input = jsonencode({ source = "schedule" })
}
