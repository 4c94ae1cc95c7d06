################################################################################
# CloudWatch dashboard: a campaign at a glance (create_dashboard)
#
# The functions publish no metrics of their own (no metric API call, no extra
# permission): like the alarms (alarms.tf), the campaign figures are metric
# filters over the JSON log lines the functions already write, in the
# deployment's namespace. The rest are the metrics AWS publishes for what this
# module creates (Lambda, SQS, Step Functions, DynamoDB) and for the Connect
# instance it dials from. The body is built from the locals below and
# rendered with jsonencode (tests/dashboard.tftest.hcl decodes it).
################################################################################

locals {
  dashboard_name = "${var.name}-dialer"

  # Log lines the dashboard counts: the function that writes each, its message (the `message`
  # field of the JSON log line, functions/<function>/src) and what the metric takes from it.
  # A message changed in the code stops its metric: keep them as they are.
  dashboard_metric_filters = {
    calls_placed = {
      metric   = "CallsPlaced"
      function = "dial"
      pattern  = "{ $.fields.message = \"call placed\" }"
      value    = "1"
      # dimensions: a metric per value of the log field.
      dimensions = {}
    }
    # Every call Connect reported ended (DISCONNECTED events), by outcome; a duplicate
    # delivery of one event is not counted twice.
    calls_ended = {
      metric     = "CallsEnded"
      function   = "process-contact-events"
      pattern    = "{ $.fields.message = \"disconnect processed\" && $.fields.status != \"duplicate\" }"
      value      = "1"
      dimensions = { Outcome = "$.fields.outcome" }
    }
    # Calls whose end never came as an event: the lane's timeout reconciled them with
    # DescribeContact (connect-status), by outcome.
    calls_reconciled = {
      metric     = "CallsReconciled"
      function   = "connect-status"
      pattern    = "{ $.fields.message = \"reconciled a call whose end did not reach the lane in time\" }"
      value      = "1"
      dimensions = { Outcome = "$.fields.outcome" }
    }
    # StartOutboundVoiceContact refused as invalid: recorded with outcome `error`.
    calls_refused = {
      metric     = "CallsRefused"
      function   = "dial"
      pattern    = "{ $.fields.message = \"Connect refused the call; recorded as error\" }"
      value      = "1"
      dimensions = {}
    }
    # Lanes of each wave get-config claimed (the `concurrentcalls` parameter, bounded by
    # max_concurrent_calls).
    lanes = {
      metric     = "Lanes"
      function   = "get-config"
      pattern    = "{ $.fields.message = \"run claimed\" }"
      value      = "$.fields.lanes"
      dimensions = {}
    }
    # Contacts due in the campaign ledger that the feeder leased into the contacts queue.
    contacts_fed = {
      metric     = "ContactsFed"
      function   = "get-config"
      pattern    = "{ $.fields.message = \"lanes fed from the campaign ledger\" }"
      value      = "$.fields.fed"
      dimensions = {}
    }
    # What the same feedings held back or ended without a call: contacts given back to the line
    # by a calling rule (window, cap), made final as listed on the do-not-call list, closed
    # because their campaign's schedule ended; and final records written for contacts whose
    # writer did not confirm theirs (a died writer or a failed S3 put; should stay at zero).
    contacts_deferred = {
      metric     = "ContactsDeferred"
      function   = "get-config"
      pattern    = "{ $.fields.message = \"lanes fed from the campaign ledger\" && $.fields.deferred > 0 }"
      value      = "$.fields.deferred"
      dimensions = {}
    }
    contacts_suppressed = {
      metric     = "ContactsSuppressed"
      function   = "get-config"
      pattern    = "{ $.fields.message = \"lanes fed from the campaign ledger\" && $.fields.suppressed > 0 }"
      value      = "$.fields.suppressed"
      dimensions = {}
    }
    contacts_closed = {
      metric     = "ContactsClosed"
      function   = "get-config"
      pattern    = "{ $.fields.message = \"lanes fed from the campaign ledger\" && $.fields.closed > 0 }"
      value      = "$.fields.closed"
      dimensions = {}
    }
    final_records_repaired = {
      metric     = "FinalRecordsRepaired"
      function   = "get-config"
      pattern    = "{ $.fields.message = \"lanes fed from the campaign ledger\" && $.fields.recorded > 0 }"
      value      = "$.fields.recorded"
      dimensions = {}
    }
  }

  ns = local.metric_namespace

  function_names = { for binary, f in local.function_settings : binary => "${var.name}-${binary}" }

  # A metric line: [namespace, name, dimension, value, ..., {options}].
  # Each widget: a title, its metric lines, a statistic and optional annotations.
  dashboard_widgets = concat(
    [
      {
        title = "Calls placed, answered and ended"
        stat  = "Sum"
        metrics = [
          { ns = local.ns, name = "CallsPlaced", dims = {}, label = "placed" },
          { ns = local.ns, name = "CallsEnded", dims = { Outcome = "connected" }, label = "answered" },
          { ns = local.ns, name = "CallsEnded", dims = { Outcome = "no_answer" }, label = "no answer" },
          { ns = local.ns, name = "CallsEnded", dims = { Outcome = "busy" }, label = "busy" },
          # Answered, then hung up in the queue before an agent: the abandonment regulators count.
          { ns = local.ns, name = "CallsEnded", dims = { Outcome = "abandoned" }, label = "abandoned" },
        ]
      },
      {
        title = "Calls failed"
        stat  = "Sum"
        metrics = concat(
          [
            { ns = local.ns, name = "CallsEnded", dims = { Outcome = "failed" }, label = "failed (network)" },
            { ns = local.ns, name = "CallsRefused", dims = {}, label = "refused by Connect" },
          ],
          [for o in ["failed", "timeout", "error"] : { ns = local.ns, name = "CallsReconciled", dims = { Outcome = o }, label = "reconciled: ${o}" }],
          [{ ns = "AWS/Connect", name = "ThrottledCalls", dims = { InstanceId = var.connect_instance_id, MetricGroup = "VoiceCalls" }, label = "throttled by Connect" }],
        )
      },
      {
        title = "Lanes in use against the limit (max_concurrent_calls = ${var.max_concurrent_calls})"
        stat  = "Maximum"
        metrics = [
          { ns = local.ns, name = "Lanes", dims = {}, label = "lanes of the wave" },
          { ns = "AWS/Lambda", name = "ConcurrentExecutions", dims = { FunctionName = local.function_names["dial"] }, label = "dial invocations running" },
          { ns = "AWS/Connect", name = "ConcurrentCalls", dims = { InstanceId = var.connect_instance_id, MetricGroup = "VoiceCalls" }, label = "calls in the instance" },
        ]
        annotations = {
          horizontal = [{ label = "max_concurrent_calls", value = var.max_concurrent_calls }]
        }
      },
      {
        title = "Connect concurrent calls quota used (%)"
        stat  = "Maximum"
        metrics = [
          { ns = "AWS/Connect", name = "ConcurrentCallsPercentage", dims = { InstanceId = var.connect_instance_id, MetricGroup = "VoiceCalls" }, label = "of the instance's quota" },
        ]
        annotations = {
          horizontal = [{ label = "quota", value = 100 }]
        }
      },
      {
        title = "Contacts due: fed from the ledger and waiting for a lane"
        stat  = "Maximum"
        metrics = [
          { ns = local.ns, name = "ContactsFed", dims = {}, label = "fed from the ledger (sum)", stat = "Sum" },
          { ns = "AWS/SQS", name = "ApproximateNumberOfMessagesVisible", dims = { QueueName = aws_sqs_queue.contacts.name }, label = "waiting for a lane" },
          { ns = "AWS/SQS", name = "ApproximateNumberOfMessagesNotVisible", dims = { QueueName = aws_sqs_queue.contacts.name }, label = "taken by a lane" },
          { ns = "AWS/SQS", name = "ApproximateNumberOfMessagesDelayed", dims = { QueueName = aws_sqs_queue.contacts.name }, label = "delayed" },
        ]
      },
      {
        title = "Contacts held back or made final without a call (at feeding)"
        stat  = "Sum"
        metrics = [
          { ns = local.ns, name = "ContactsDeferred", dims = {}, label = "deferred by a calling rule (window, cap)" },
          { ns = local.ns, name = "ContactsSuppressed", dims = {}, label = "do-not-call: final, not called" },
          { ns = local.ns, name = "ContactsClosed", dims = {}, label = "campaign ended: final, not called" },
          { ns = local.ns, name = "FinalRecordsRepaired", dims = {}, label = "final records written late (writer failed)" },
        ]
      },
      {
        title = "Dead letters"
        stat  = "Maximum"
        metrics = [
          { ns = "AWS/SQS", name = "ApproximateNumberOfMessagesVisible", dims = { QueueName = aws_sqs_queue.dead_letter.name }, label = "contacts dial could not place" },
          { ns = "AWS/SQS", name = "ApproximateNumberOfMessagesVisible", dims = { QueueName = aws_sqs_queue.failed_invocations.name }, label = "failed uploads and contact events" },
          { ns = "AWS/SQS", name = "ApproximateNumberOfMessagesVisible", dims = { QueueName = aws_sqs_queue.contact_events_dead_letter.name }, label = "undelivered contact events" },
        ]
      },
      {
        title = "Runs (state machine executions)"
        stat  = "Sum"
        metrics = [
          for m in ["ExecutionsStarted", "ExecutionsSucceeded", "ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"] :
          { ns = "AWS/States", name = m, dims = { StateMachineArn = local.state_machine_arn }, label = trimprefix(m, "Executions") }
        ]
      },
      {
        title   = "Function errors"
        stat    = "Sum"
        metrics = [for binary, name in local.function_names : { ns = "AWS/Lambda", name = "Errors", dims = { FunctionName = name }, label = binary }]
      },
      {
        title   = "Function throttles"
        stat    = "Sum"
        metrics = [for binary, name in local.function_names : { ns = "AWS/Lambda", name = "Throttles", dims = { FunctionName = name }, label = binary }]
      },
      {
        title   = "Function duration (p99, ms)"
        stat    = "p99"
        metrics = [for binary, name in local.function_names : { ns = "AWS/Lambda", name = "Duration", dims = { FunctionName = name }, label = binary }]
      },
      {
        title = "Table throttling (campaign ledger, ActiveDialing)"
        stat  = "Sum"
        metrics = flatten([
          for table, label in { (local.ledger_table_name) = "ledger", (local.table_name) = "active dialing" } : [
            { ns = "AWS/DynamoDB", name = "ReadThrottleEvents", dims = { TableName = table }, label = "${label}: read" },
            { ns = "AWS/DynamoDB", name = "WriteThrottleEvents", dims = { TableName = table }, label = "${label}: write" },
          ]
        ])
      },
    ],
    # The alarms already count refused caller IDs and expired leases.
    var.alarms.create ? [
      {
        title = "Refused caller IDs and expired leases"
        stat  = "Sum"
        metrics = [
          { ns = local.ns, name = "CallerIdRefused", dims = {}, label = "caller ID refused (queue number used)" },
          { ns = local.ns, name = "LeaseExpiries", dims = {}, label = "leases expired (contact fed again)" },
        ]
      },
    ] : [],
  )

  dashboard_metric_widgets = [
    for i, w in local.dashboard_widgets : {
      type   = "metric"
      x      = (i % 2) * 12
      y      = 2 + floor(i / 2) * 6
      width  = 12
      height = 6
      properties = merge(
        {
          title   = w.title
          region  = local.region
          view    = "timeSeries"
          stacked = false
          period  = 60
          stat    = w.stat
          metrics = [
            for m in w.metrics : concat(
              [m.ns, m.name],
              flatten([for k, v in m.dims : [k, v]]),
              [merge({ label = m.label }, try({ stat = m.stat }, {}))],
            )
          ]
        },
        try({ annotations = w.annotations }, {}),
      )
    }
  ]

  # Built from the alarms' names (known at plan) rather than read back from the alarms.
  alarm_arns = [
    for alarm in concat(
      aws_cloudwatch_metric_alarm.caller_id_refused[*].alarm_name,
      aws_cloudwatch_metric_alarm.lease_expiries[*].alarm_name,
      aws_cloudwatch_metric_alarm.no_run_started[*].alarm_name,
      [for a in aws_cloudwatch_metric_alarm.queue_not_empty : a.alarm_name],
      [for a in aws_cloudwatch_metric_alarm.executions : a.alarm_name],
    ) : "arn:${local.partition}:cloudwatch:${local.region}:${local.account_id}:alarm:${alarm}"
  ]

  dashboard_body = {
    widgets = concat(
      [
        {
          type   = "text"
          x      = 0
          y      = 0
          width  = 24
          height = 2
          properties = {
            markdown = join("", [
              "## ${var.name}: campaign dialer\n",
              "Calls, lanes and contacts come from the functions' log lines (namespace `${local.ns}`); ",
              "per-contact results are in `s3://${local.results_bucket_name}/results/` (the results catalog queries them with Athena). ",
              "Stop switch: `${local.ssm_prefix}activeBlaster`.",
            ])
          }
        },
      ],
      local.dashboard_metric_widgets,
      length(local.alarm_arns) > 0 ? [
        {
          type   = "alarm"
          x      = 0
          y      = 2 + ceil(length(local.dashboard_metric_widgets) / 2) * 6
          width  = 24
          height = 4
          properties = {
            title  = "Alarms"
            alarms = local.alarm_arns
          }
        },
      ] : [],
    )
  }
}

resource "aws_cloudwatch_log_metric_filter" "dashboard" {
  for_each = var.create_dashboard ? local.dashboard_metric_filters : {}

  name           = "${var.name}-${replace(each.key, "_", "-")}"
  log_group_name = module.function[each.value.function].log_group_name
  pattern        = each.value.pattern

  metric_transformation {
    name       = each.value.metric
    namespace  = local.metric_namespace
    value      = each.value.value
    dimensions = length(each.value.dimensions) > 0 ? each.value.dimensions : null
  }
}

resource "aws_cloudwatch_dashboard" "this" {
  count = var.create_dashboard ? 1 : 0

  dashboard_name = local.dashboard_name
  dashboard_body = jsonencode(local.dashboard_body)
}
