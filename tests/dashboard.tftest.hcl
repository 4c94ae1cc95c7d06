# modules/dialer's CloudWatch dashboard (dashboard.tf), planned with the mock provider: the
# rendered body names only metrics that exist (AWS's own for the resources the module creates,
# or the log metric filters of this module), with this deployment's functions, queues, tables,
# state machine and Connect instance as dimensions; create_dashboard = false creates nothing.
# That each metric filter's log message is one the functions write is checked by
# tests/operations/test_metric_filter_log_lines.py.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "66666666-7777-8888-9999-000000000000"
  connect_queue_id        = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
  max_concurrent_calls    = 12
}

run "dashboard_names_only_metrics_that_exist" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition     = length(aws_cloudwatch_dashboard.this) == 1 && output.cloudwatch_dashboard_name == "blaster-dialer"
    error_message = "The dashboard is on by default and named <name>-dialer."
  }

  # "namespace|metric" of every metric line of every metric widget.
  assert {
    condition = alltrue([
      for key in flatten([
        for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
          for m in w.properties.metrics : "${m[0]}|${m[1]}"
        ] if w.type == "metric"
      ]) :
      contains([
        # AWS's own metrics (Lambda, SQS, Step Functions, DynamoDB and Amazon Connect
        # "Monitoring ... with Amazon CloudWatch" pages).
        "AWS/Lambda|Errors", "AWS/Lambda|Throttles", "AWS/Lambda|Duration", "AWS/Lambda|ConcurrentExecutions",
        "AWS/SQS|ApproximateNumberOfMessagesVisible", "AWS/SQS|ApproximateNumberOfMessagesNotVisible", "AWS/SQS|ApproximateNumberOfMessagesDelayed",
        "AWS/States|ExecutionsStarted", "AWS/States|ExecutionsSucceeded", "AWS/States|ExecutionsFailed", "AWS/States|ExecutionsTimedOut", "AWS/States|ExecutionsAborted",
        "AWS/DynamoDB|ReadThrottleEvents", "AWS/DynamoDB|WriteThrottleEvents",
        "AWS/Connect|ConcurrentCalls", "AWS/Connect|ConcurrentCallsPercentage", "AWS/Connect|ThrottledCalls",
        ], key) || contains([
        # This module's log metric filters (the dashboard's and the alarms').
        for f in concat(values(aws_cloudwatch_log_metric_filter.dashboard), aws_cloudwatch_log_metric_filter.caller_id_refused, aws_cloudwatch_log_metric_filter.lease_expiries) :
        "${f.metric_transformation[0].namespace}|${f.metric_transformation[0].name}"
      ], key)
    ])
    error_message = "Every metric on the dashboard must be one AWS publishes for these resources or one this module's metric filters publish: ${jsonencode([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in w.properties.metrics : "${m[0]}|${m[1]}"] if w.type == "metric"])}"
  }

  # Every metric filter made for the dashboard is shown on it, in the deployment's namespace.
  assert {
    condition = alltrue([
      for f in aws_cloudwatch_log_metric_filter.dashboard :
      f.metric_transformation[0].namespace == "OutboundVoice/blaster" &&
      contains(flatten([
        for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
          for m in w.properties.metrics : m[1]
        ] if w.type == "metric"
      ]), f.metric_transformation[0].name)
    ]) && length(aws_cloudwatch_log_metric_filter.dashboard) == 10
    error_message = "Each of the ten dashboard metric filters must publish in OutboundVoice/<name> and appear on the dashboard."
  }

  assert {
    condition = (
      aws_cloudwatch_log_metric_filter.dashboard["calls_placed"].log_group_name == "/aws/lambda/blaster-dial" &&
      aws_cloudwatch_log_metric_filter.dashboard["calls_ended"].log_group_name == "/aws/lambda/blaster-process-contact-events" &&
      aws_cloudwatch_log_metric_filter.dashboard["calls_ended"].metric_transformation[0].dimensions == tomap({ Outcome = "$.fields.outcome" }) &&
      aws_cloudwatch_log_metric_filter.dashboard["lanes"].log_group_name == "/aws/lambda/blaster-get-config" &&
      aws_cloudwatch_log_metric_filter.dashboard["lanes"].metric_transformation[0].value == "$.fields.lanes"
    )
    error_message = "The metric filters must read the log groups of the functions that write their lines (dial, process-contact-events, get-config)."
  }

  # Dimension values: this deployment's own resources.
  assert {
    condition = alltrue([
      for d in flatten([
        for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
          for m in w.properties.metrics : [for i in range(2, length(m) - 1, 2) : { name = m[i], value = m[i + 1] }]
        ] if w.type == "metric"
      ]) :
      d.name == "FunctionName" ? contains(values(output.lambda_function_names), d.value) :
      d.name == "QueueName" ? contains(["blaster-contacts", "blaster-contacts-dlq", "blaster-failed-invocations", "blaster-contact-events-dlq"], d.value) :
      d.name == "TableName" ? contains([output.table_name, output.campaign_ledger_table_name], d.value) :
      d.name == "StateMachineArn" ? d.value == "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer" :
      d.name == "InstanceId" ? d.value == var.connect_instance_id :
      d.name == "MetricGroup" ? d.value == "VoiceCalls" :
      d.name == "Outcome" ? contains(["connected", "no_answer", "busy", "failed", "timeout", "error", "invalid_number", "voicemail", "abandoned"], d.value) :
      false
    ])
    error_message = "Every dimension must name this deployment's function, queue, table, state machine or Connect instance, or an outcome the functions log."
  }

  # Errors, throttles and durations cover every function of the module, by its name.
  assert {
    condition = alltrue([
      for title in ["Function errors", "Function throttles", "Function duration (p99, ms)"] :
      toset(flatten([
        for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [
          for m in w.properties.metrics : m[3]
        ] if try(w.properties.title, "") == title
      ])) == toset(values(output.lambda_function_names))
    ])
    error_message = "The errors, throttles and duration widgets must show each of the module's functions, by name."
  }

  assert {
    condition = one([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets :
      w.properties.annotations.horizontal[0].value if startswith(try(w.properties.title, ""), "Lanes in use")
    ]) == 12
    error_message = "The lanes widget must draw max_concurrent_calls as its limit."
  }

  assert {
    condition = toset(one([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w.properties.alarms if w.type == "alarm"
      ])) == toset([
      for n in ["caller-id-refused", "lease-expiries", "dialer-no-run-started", "failed-invocations", "contacts-dead-lettered", "dialer-executions-failed", "dialer-executions-timed-out", "dialer-executions-aborted"] :
      "arn:aws:cloudwatch:eu-west-2:123456789012:alarm:blaster-${n}"
    ])
    error_message = "The alarm widget must show every alarm of the module."
  }

  # Widgets do not overlap: each metric widget has its own cell of the grid.
  assert {
    condition = length(distinct([
      for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : "${w.x},${w.y}"
    ])) == length(jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets)
    error_message = "Two widgets share a position."
  }
}

run "without_alarms_the_dashboard_shows_no_alarm_metric" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { create = false }
  }

  assert {
    condition = (
      length([for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : w if w.type == "alarm"]) == 0 &&
      !contains(flatten([
        for w in jsondecode(aws_cloudwatch_dashboard.this[0].dashboard_body).widgets : [for m in w.properties.metrics : m[1]] if w.type == "metric"
      ]), "CallerIdRefused")
    )
    error_message = "Without the alarms (and their metric filters) the dashboard must not show their metrics or an alarm widget."
  }
}

run "create_dashboard_false_creates_nothing" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    create_dashboard = false
  }

  assert {
    condition = (
      length(aws_cloudwatch_dashboard.this) == 0 && length(aws_cloudwatch_log_metric_filter.dashboard) == 0 &&
      output.cloudwatch_dashboard_name == null && output.cloudwatch_dashboard_arn == null && output.dashboard_metric_names == {}
    )
    error_message = "create_dashboard = false must create no dashboard and no metric filter for it."
  }

  assert {
    condition     = length(aws_cloudwatch_log_metric_filter.caller_id_refused) == 1
    error_message = "The alarms' own metric filters do not depend on the dashboard."
  }
}
