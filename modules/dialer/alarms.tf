################################################################################
# Alarms: what an operator must hear about while a campaign runs
################################################################################

locals {
  metric_namespace = "OutboundVoice/${var.name}"

  create_alarm_topic = var.alarms.create && var.alarms.create_alarm_topic
  # The given topics, and the topic created here.
  alarm_actions = concat(var.alarms.alarm_actions, aws_sns_topic.alarms[*].arn)
}

# dial logs one line per refused caller ID before it places the call with the queue's number
# (functions/dial, place_with_fallback): counting those lines needs no metric API call in the
# function and no extra permission.
resource "aws_cloudwatch_log_metric_filter" "caller_id_refused" {
  count = var.alarms.create ? 1 : 0

  name           = "${var.name}-caller-id-refused"
  log_group_name = module.function["dial"].log_group_name
  pattern        = "{ $.fields.message = \"caller ID refused; dialing with the queue's number\" }"

  metric_transformation {
    name      = "CallerIdRefused"
    namespace = local.metric_namespace
    value     = "1"
  }
}

resource "aws_cloudwatch_metric_alarm" "caller_id_refused" {
  count = var.alarms.create ? 1 : 0

  alarm_name        = "${var.name}-caller-id-refused"
  alarm_description = "Connect refused a routed caller ID and calls went out with the queue's own number. Check that every number in the caller ID routing file is claimed in the Connect instance and allowed for its destinations; the results records name the refused number (caller_id_refused)."

  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.caller_id_refused[0].metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

# An upload that was never loaded or a disconnect that was never recorded, after Lambda's
# retries (queue.tf, failed invocations).
# Leases that run out: a contact fed to the queue was not dialed within `ledger.lease_minutes`
# (its message lost or dead-lettered, its run stopped). Now and then that is a stop; every hour
# for three hours is a stuck deployment (feeder and lanes out of step, a broken dial).
resource "aws_cloudwatch_log_metric_filter" "lease_expiries" {
  count = var.alarms.create ? 1 : 0

  name           = "${var.name}-lease-expiries"
  log_group_name = module.function["get-config"].log_group_name
  pattern        = "{ $.fields.message = \"lanes fed from the campaign ledger\" && $.fields.expired > 0 }"

  metric_transformation {
    name      = "LeaseExpiries"
    namespace = local.metric_namespace
    value     = "$.fields.expired"
  }
}

resource "aws_cloudwatch_metric_alarm" "lease_expiries" {
  count = var.alarms.create ? 1 : 0

  alarm_name        = "${var.name}-lease-expiries"
  alarm_description = "Contacts fed to the dialer's queue keep coming back to the campaign ledger unanswered: their leases ran out in each of the last three hours. Look for dead-lettered messages (the ${var.name}-contacts-dlq queue), dial errors in its log, or runs that fail (the executions alarms). No contact is lost: each expired lease makes its contact due again."

  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.lease_expiries[0].metric_transformation[0].name
  statistic           = "Sum"
  period              = 3600
  evaluation_periods  = 3
  datapoints_to_alarm = 3
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

# Messages in a queue where nothing should be: an asynchronous invocation that failed after
# Lambda's retries (the failed-invocations queue), or a contact message dial failed
# `queue.max_receive_count` times (the contacts dead-letter queue). The ledger feeds such a contact
# again when its lease runs out (nothing is lost), but a message that keeps failing is a dial that
# cannot place it: the dead-letter queue keeps the message for the diagnosis.
locals {
  queue_alarms = {
    failed_invocations = {
      name        = "failed-invocations"
      queue       = aws_sqs_queue.failed_invocations.name
      description = "An asynchronous invocation of load-list (a CSV upload) or process-contact-events (a contact event) failed after Lambda's retries; its event is in the ${var.name}-failed-invocations queue. Read the function's log for the error, fix it, then upload the file again or let the lane reconcile the call."
    }
    contacts_dead_lettered = {
      name        = "contacts-dead-lettered"
      queue       = aws_sqs_queue.dead_letter.name
      description = "A contact message failed dial ${var.queue.max_receive_count} times and is in the ${aws_sqs_queue.dead_letter.name} queue. Its contact is not lost (the campaign ledger makes it due again when its lease runs out), but dial could not place it: read dial's log for the message id's errors, fix the cause, then delete the dead-lettered message."
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "queue_not_empty" {
  for_each = var.alarms.create ? local.queue_alarms : {}

  alarm_name        = "${var.name}-${each.value.name}"
  alarm_description = each.value.description

  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value.queue }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

moved {
  from = aws_cloudwatch_metric_alarm.failed_invocations[0]
  to   = aws_cloudwatch_metric_alarm.queue_not_empty["failed_invocations"]
}

moved {
  from = aws_cloudwatch_metric_alarm.contacts_dead_lettered[0]
  to   = aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"]
}

# Contacts due with no run: the sweep starts an execution on every tick, idle or not (an idle
# one ends at once), so no execution started for `alarms.no_run_minutes` means nothing will dial
# what the ledger holds: the rule is disabled, EventBridge cannot start the state machine (its
# role, a deleted state machine) or Step Functions refuses. The metric is missing, not zero, when
# nothing starts: missing data breaches.
locals {
  create_no_run_alarm = var.alarms.create && local.create_sweep_rule
  # rate(N unit) schedules only: a cron schedule's interval is not checked.
  sweep_rate = try(
    regex("^rate\\((?P<n>[0-9]+) (?P<unit>minutes?|hours?|days?)\\)$", var.ledger.sweep_schedule_expression),
    { n = "0", unit = "minutes" }
  )
  sweep_interval_minutes = tonumber(local.sweep_rate.n) * lookup(
    { minute = 1, minutes = 1, hour = 60, hours = 60, day = 1440, days = 1440 }, local.sweep_rate.unit, 0
  )
}

resource "aws_cloudwatch_metric_alarm" "no_run_started" {
  count = local.create_no_run_alarm ? 1 : 0

  alarm_name        = "${var.name}-dialer-no-run-started"
  alarm_description = "No execution of the ${local.state_machine_name} state machine started for ${var.alarms.no_run_minutes} minutes although the sweep (${var.ledger.sweep_schedule_expression}) starts one on every tick: contacts due in the campaign ledger have no run to dial them. Check that the ${local.sweep_rule_name} rule is enabled and its FailedInvocations metric, and that the state machine exists."

  namespace           = "AWS/States"
  metric_name         = "ExecutionsStarted"
  dimensions          = { StateMachineArn = aws_sfn_state_machine.dialer.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = var.alarms.no_run_minutes / 5
  datapoints_to_alarm = var.alarms.no_run_minutes / 5
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.alarms.no_run_minutes > local.sweep_interval_minutes
      error_message = "alarms.no_run_minutes (${var.alarms.no_run_minutes}) must be longer than the sweep's interval (ledger.sweep_schedule_expression = ${var.ledger.sweep_schedule_expression}), or the alarm fires between two ticks."
    }
  }
}

# A run that ended on an error, timed out or was stopped by hand. Nothing is lost (its leased
# contacts come back when their leases run out and the sweep starts the next run), but the
# cause needs a look: "Run Failed" is a step that failed after its retries.
resource "aws_cloudwatch_metric_alarm" "executions" {
  for_each = var.alarms.create ? {
    executions_failed    = { metric = "ExecutionsFailed", what = "failed (a step failed after its retries: Run Failed or Release Failed)" }
    executions_timed_out = { metric = "ExecutionsTimedOut", what = "timed out" }
    executions_aborted   = { metric = "ExecutionsAborted", what = "was stopped (StopExecution)" }
  } : {}

  alarm_name        = "${var.name}-dialer-${replace(each.key, "_", "-")}"
  alarm_description = "An execution of the ${local.state_machine_name} state machine ${each.value.what}. Its leased contacts become due again when their leases run out (ledger.lease_minutes), and the sweep, the next upload or activeBlaster starts the next run: read the execution's history for the failing state."

  namespace           = "AWS/States"
  metric_name         = each.value.metric
  dimensions          = { StateMachineArn = aws_sfn_state_machine.dialer.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  tags = var.tags
}

################################################################################
# Optional alarm topic (alarms.create_alarm_topic)
#
# CloudWatch can only publish to an encrypted topic whose key lets it use the
# key, which the AWS managed aws/sns key does not: the topic is encrypted with
# kms_key_arn (its key policy must allow cloudwatch.amazonaws.com) or, without
# one, with a key created for it.
################################################################################

resource "aws_kms_key" "alarm_topic" {
  count = local.create_alarm_topic && !local.kms_enabled ? 1 : 0

  description             = "${var.name}: the dialer's alarm topic (CloudWatch publishes to it)"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.alarm_topic_key[0].json

  tags = var.tags
}

resource "aws_kms_alias" "alarm_topic" {
  count = local.create_alarm_topic && !local.kms_enabled ? 1 : 0

  name          = "alias/${var.name}-dialer-alarms"
  target_key_id = aws_kms_key.alarm_topic[0].key_id
}

data "aws_iam_policy_document" "alarm_topic_key" {
  count = local.create_alarm_topic && !local.kms_enabled ? 1 : 0

  #checkov:skip=CKV_AWS_111:A key policy's resource "*" is the key itself; the account root administers it through IAM and CloudWatch may only use it for this account's alarms.
  #checkov:skip=CKV_AWS_356:A key policy's resource "*" is the key itself: no other resource can be named in it.
  #checkov:skip=CKV_AWS_109:The account root administers its own key (the default key policy); without it the key becomes unmanageable.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  # Publishing to an encrypted topic: CloudWatch needs a data key (SNS documentation,
  # "Enable compatibility between event sources from AWS services and encrypted topics").
  statement {
    sid       = "CloudWatchAlarmsPublish"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_sns_topic" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  name              = "${var.name}-alarms"
  display_name      = "${var.name} dialer alarms"
  kms_master_key_id = local.kms_enabled ? var.kms_key_arn : aws_kms_key.alarm_topic[0].arn

  tags = var.tags
}

data "aws_iam_policy_document" "alarm_topic" {
  count = local.create_alarm_topic ? 1 : 0

  # Only this account's alarms named after this deployment may publish.
  statement {
    sid       = "CloudWatchAlarmsPublish"
    effect    = "Allow"
    actions   = ["sns:Publish"]
    resources = ["arn:${local.partition}:sns:${local.region}:${local.account_id}:${var.name}-alarms"]

    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${var.name}-*"]
    }
  }
}

resource "aws_sns_topic_policy" "alarms" {
  count = local.create_alarm_topic ? 1 : 0

  arn    = aws_sns_topic.alarms[0].arn
  policy = data.aws_iam_policy_document.alarm_topic[0].json
}
