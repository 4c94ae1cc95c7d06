################################################################################
# Alarms: what an operator must hear about while a campaign runs
################################################################################

locals {
  metric_namespace = "OutboundVoice/${var.name}"
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
  alarm_actions       = var.alarms.alarm_actions
  ok_actions          = var.alarms.alarm_actions

  tags = var.tags
}

# An upload that was never loaded or a disconnect that was never recorded, after Lambda's
# retries (queue.tf, failed invocations).
resource "aws_cloudwatch_metric_alarm" "failed_invocations" {
  count = var.alarms.create ? 1 : 0

  alarm_name        = "${var.name}-failed-invocations"
  alarm_description = "An asynchronous invocation of load-list (a CSV upload) or process-contact-events (a contact event) failed after Lambda's retries; its event is in the ${var.name}-failed-invocations queue. Read the function's log for the error, fix it, then upload the file again or let the lane reconcile the call."

  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.failed_invocations.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarms.alarm_actions
  ok_actions          = var.alarms.alarm_actions

  tags = var.tags
}
