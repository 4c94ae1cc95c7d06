################################################################################
# Least privilege, one policy per function and one for the state machine.
# Every resource is this deployment's own ARN, built from known names so that
# the documents are known at plan time (and tested as rendered JSON). The only
# "*" resources are for actions that accept no resource (SendTaskSuccess takes a
# task token; CloudWatch Logs delivery and X-Ray write actions).
################################################################################

locals {
  arn_prefix = {
    ssm    = "arn:${local.partition}:ssm:${local.region}:${local.account_id}"
    sqs    = "arn:${local.partition}:sqs:${local.region}:${local.account_id}"
    lambda = "arn:${local.partition}:lambda:${local.region}:${local.account_id}"
  }

  queue_arn             = "${local.arn_prefix.sqs}:${var.name}-contacts"
  dead_letter_queue_arn = "${local.arn_prefix.sqs}:${var.name}-contacts-dlq"
  # Lambda's dead-letter queue of the asynchronously invoked functions (queue.tf).
  failed_invocations_queue_arn = "${local.arn_prefix.sqs}:${var.name}-failed-invocations"

  # GetParametersByPath is authorised on the path itself, GetParameter(s) on each parameter.
  ssm_path_arn       = "${local.arn_prefix.ssm}:parameter${trimsuffix(local.ssm_prefix, "/")}"
  ssm_parameter_arns = [local.ssm_path_arn, "${local.ssm_path_arn}/*"]

  function_arns = { for binary in keys(local.function_defaults) : binary => "${local.arn_prefix.lambda}:function:${var.name}-${binary}" }

  connect = {
    # StartOutboundVoiceContact and DescribeContact are authorised on the contact only (the
    # Service Authorization Reference lists no other resource type for them:
    # scripts/check-iam.py checks every ARN form against it).
    contacts      = "${local.connect_instance_arn}/contact/*"
    queue         = "${local.connect_instance_arn}/queue/${var.connect_queue_id}"
    hours         = "${local.connect_instance_arn}/operating-hours/*"
    routing_file  = "arn:${local.partition}:s3:::${coalesce(var.routing_bucket_name, "-")}/${coalesce(var.routing_object_key, "-")}"
    results_write = "${local.results_bucket_arn}/results/*"
    rejects_write = "${local.results_bucket_arn}/rejects/*"
    # One record per contact once it is final (outbound_core::ledger::Finisher).
    finals_write = "${local.results_bucket_arn}/finals/*"
    plans_write  = "${local.results_bucket_arn}/plans/*"
  }

  # The queue's hours with their overrides (holidays) applied, read by dial and connect-status
  # (outbound_core::hours). The Service Authorization Reference lists two required resource
  # types for GetEffectiveHoursOfOperations: the hours of operation and the instance. Without
  # this grant (a role from an older version) the functions fall back to
  # DescribeHoursOfOperation and ignore overrides.
  check_effective_hours = { sid = "CheckEffectiveQueueHours", actions = ["connect:GetEffectiveHoursOfOperations"], resources = [local.connect_instance_arn, local.connect.hours] }

  # Each function reads its configuration with one SSM action, on the parameters it reads
  # (outbound_core::config): the intake reads the default region only, dial and connect-status
  # name their parameters, get-config reads the whole prefix (GetParametersByPath is authorised
  # on the path) and its own run counter.
  parameter_arn = { for name in ["isocountrycode", "activeBlaster", "connectid", "contactflow", "queue", "callspersecond", "concurrentcalls", "dialIndex"] : name => "${local.ssm_path_arn}/${name}" }
  read_config = {
    "load-list"      = { sid = "ReadConfiguration", actions = ["ssm:GetParameter"], resources = [local.parameter_arn["isocountrycode"]] }
    "get-config"     = { sid = "ReadConfiguration", actions = ["ssm:GetParametersByPath"], resources = local.ssm_parameter_arns }
    "dial"           = { sid = "ReadConfiguration", actions = ["ssm:GetParameters"], resources = [for name in ["activeBlaster", "connectid", "contactflow", "queue", "callspersecond"] : local.parameter_arn[name]] }
    "connect-status" = { sid = "ReadConfiguration", actions = ["ssm:GetParameters"], resources = [local.parameter_arn["connectid"], local.parameter_arn["queue"]] }
  }

  # The campaign ledger (ledger.tf). Query is authorised on the indexes (`due`, `held`), the
  # item operations on the table. No operation of any function deletes a ledger item.
  ledger = {
    query = { actions = ["dynamodb:Query"], resources = [local.ledger_index_arn] }
    # Every transition is a conditional UpdateItem; finish first reads the item (its rules).
    finish = { actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.ledger_table_arn] }
  }

  # Statements per function (docs/architecture.md: who reads and writes what).
  function_statements = {
    "load-list" = concat([
      local.read_config["load-list"],
      # The plan's capacity: the lanes and the dial rate.
      { sid = "ReadDialerCapacity", actions = ["ssm:GetParameters"], resources = [local.parameter_arn["concurrentcalls"], local.parameter_arn["callspersecond"]] },
      { sid = "ReadUploadedLists", actions = ["s3:GetObject"], resources = ["${local.input_bucket_arn}/*"] },
      # The rejects report is a multipart upload; a failed one is aborted so no parts are billed.
      { sid = "WriteRejectedRows", actions = ["s3:PutObject", "s3:AbortMultipartUpload"], resources = [local.connect.rejects_write] },
      # The file's plan (plans/), and the final record of a contact on the do-not-call list.
      { sid = "WritePlansAndFinals", actions = ["s3:PutObject"], resources = [local.connect.plans_write, local.connect.finals_write] },
      # The do-not-call list and the frequency caps are read by key, a hundred at a time; the
      # campaign's schedule (and a suppressed contact, to rewrite its final record) by GetItem.
      { sid = "CheckCallingRules", actions = ["dynamodb:BatchGetItem", "dynamodb:GetItem"], resources = [local.ledger_table_arn] },
      # Each valid row is admitted to the ledger (conditional PutItem: a contact already in its
      # campaign is not admitted twice); UpdateItem on the campaign's own items. The feeder in
      # get-config, not the intake, sends contacts to the queue.
      { sid = "AdmitContacts", actions = ["dynamodb:PutItem", "dynamodb:UpdateItem"], resources = [local.ledger_table_arn] },
      # totalRecords is read, added to and written back (outbound_core::intake::run).
      { sid = "CountQueuedRecords", actions = ["ssm:GetParameter", "ssm:PutParameter"], resources = ["${local.ssm_path_arn}/totalRecords"] },
      { sid = "StartCampaign", actions = ["states:StartExecution"], resources = [local.state_machine_arn] },
      # The contact keys' secret, derived once per cold start (outbound_core::contact_key).
      { sid = "DeriveContactKeys", actions = ["kms:GenerateMac"], resources = [local.contact_key_kms_key_arn] },
      # A big file's rest is handed to the next invocation of load-list itself (an asynchronous
      # Invoke with a checkpoint): its own ARN only, built from the name (no dependency cycle).
      { sid = "ContinueBigFiles", actions = ["lambda:InvokeFunction"], resources = [local.function_arns["load-list"]] },
      ], local.kms_enabled ? [
      { sid = "UseDataKey", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = [var.kms_key_arn] },
    ] : [])

    "get-config" = concat([
      local.read_config["get-config"],
      { sid = "RecordDialIndex", actions = ["ssm:GetParameter", "ssm:PutParameter"], resources = [local.parameter_arn["dialIndex"]] },
      { sid = "ClaimRun", actions = ["dynamodb:GetItem", "dynamodb:PutItem"], resources = [local.table_arn] },
      # A claim whose execution is no longer running is stale and may be taken over.
      # A claim is held by a top-level execution, never a Distributed Map child.
      { sid = "CheckClaimingExecution", actions = ["states:DescribeExecution"], resources = [local.state_machine_execution_arns[0]] },
      # The feeder: finds due contacts and expired leases in the indexes, leases them (and
      # settles attempts past their deadline) with conditional updates, and sends the leased
      # contacts to the queue, as many as the buffer has room for (its depth).
      merge(local.ledger.query, { sid = "FindDueContacts" }),
      merge(local.ledger.finish, { sid = "LeaseContacts" }),
      # Whether the leased contacts are on the do-not-call list (DNC# items of the ledger's
      # table, read by key a hundred at a time: outbound_core::dnc).
      { sid = "CheckDoNotCall", actions = ["dynamodb:BatchGetItem"], resources = [local.ledger_table_arn] },
      { sid = "FeedQueue", actions = ["sqs:SendMessage", "sqs:GetQueueAttributes"], resources = [local.queue_arn] },
      # Attempts a dead run abandoned are finished here: a call whose event was lost is asked of
      # Connect, its end recorded and completed (results record), the attempt ended (final record).
      { sid = "ReconcileOrphanCalls", actions = ["connect:DescribeContact"], resources = [local.connect.contacts] },
      { sid = "RecordOrphanCalls", actions = ["dynamodb:UpdateItem"], resources = [local.table_arn] },
      { sid = "WriteFinalRecords", actions = ["s3:PutObject"], resources = [local.connect.results_write, local.connect.finals_write] },
      ], local.kms_enabled ? [
      # SQS requires both of a producer to an encrypted queue; GenerateDataKey also for the
      # final records.
      { sid = "UseDataKey", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = [var.kms_key_arn] },
    ] : [])

    # get-contacts, process-contact-events and set-disposition take everything from their
    # environment: no SSM grant.
    "get-contacts" = [
      { sid = "CountContacts", actions = ["sqs:GetQueueAttributes"], resources = [local.queue_arn, local.dead_letter_queue_arn] },
      # Whether contacts are due now, and when the next one is (reads only).
      merge(local.ledger.query, { sid = "FindDueContacts" }),
      { sid = "ReadContacts", actions = ["dynamodb:GetItem"], resources = [local.ledger_table_arn] },
      # The campaigns' schedules, in one lookup: one not started yet has no work before its start.
      { sid = "ReadCampaignSchedules", actions = ["dynamodb:BatchGetItem"], resources = [local.ledger_table_arn] },
    ]

    "dial" = concat([
      local.read_config["dial"],
      { sid = "TakeContacts", actions = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"], resources = [local.queue_arn] },
      { sid = "RecordDials", actions = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], resources = [local.table_arn] },
      # begin_attempt, record_placed and finish on the contact's ledger item.
      merge(local.ledger.finish, { sid = "RecordAttempts" }),
      # The do-not-call list again, just before the call: a number listed since it was fed.
      { sid = "CheckDoNotCall", actions = ["dynamodb:BatchGetItem"], resources = [local.ledger_table_arn] },
      { sid = "PlaceCalls", actions = ["connect:StartOutboundVoiceContact"], resources = [local.connect.contacts] },
      { sid = "CheckQueue", actions = ["connect:DescribeQueue"], resources = [local.connect.queue] },
      { sid = "CheckQueueHours", actions = ["connect:DescribeHoursOfOperation"], resources = [local.connect.hours] },
      local.check_effective_hours,
      # Results of calls it completes, and rejects of damaged queue messages.
      { sid = "WriteResults", actions = ["s3:PutObject"], resources = [local.connect.results_write, local.connect.rejects_write, local.connect.finals_write] },
      # SendTaskSuccess takes a task token, not an ARN: the Service Authorization Reference
      # (Step Functions) lists no resource type and no condition key for it, so it cannot be
      # scoped to this state machine or its Distributed Map children; "*" is the only form.
      { sid = "CompleteLane", actions = ["states:SendTaskSuccess"], resources = ["*"] },
      # The dial that takes a wave's last call starts the next wave's execution (by name, once).
      { sid = "StartNextWave", actions = ["states:StartExecution"], resources = [local.state_machine_arn] },
      ], local.routing_enabled ? [
      { sid = "ReadRoutingFile", actions = ["s3:GetObject"], resources = [local.connect.routing_file] },
      ] : [], local.kms_enabled ? [
      { sid = "UseDataKey", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = [var.kms_key_arn] },
    ] : [])

    "process-contact-events" = concat([
      { sid = "RecordDisconnects", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.table_arn] },
      merge(local.ledger.finish, { sid = "FinishAttempts" }),
      { sid = "WriteResults", actions = ["s3:PutObject"], resources = [local.connect.results_write, local.connect.finals_write] },
      { sid = "CompleteLane", actions = ["states:SendTaskSuccess"], resources = ["*"] },
      ], local.kms_enabled ? [
      # GenerateDataKey for its results objects; Decrypt too for the encrypted failed-invocations
      # queue, which SQS requires of a producer.
      { sid = "UseDataKey", actions = ["kms:Decrypt", "kms:GenerateDataKey"], resources = [var.kms_key_arn] },
    ] : [])

    "connect-status" = concat([
      local.read_config["connect-status"],
      { sid = "CheckQueue", actions = ["connect:DescribeQueue"], resources = [local.connect.queue] },
      { sid = "CheckQueueHours", actions = ["connect:DescribeHoursOfOperation"], resources = [local.connect.hours] },
      local.check_effective_hours,
      { sid = "ReconcileCalls", actions = ["connect:DescribeContact"], resources = [local.connect.contacts] },
      { sid = "RecordReconciledCalls", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.table_arn] },
      merge(local.ledger.finish, { sid = "FinishReconciledAttempts" }),
      { sid = "WriteResults", actions = ["s3:PutObject"], resources = [local.connect.results_write, local.connect.finals_write] },
      ], local.kms_enabled ? [
      { sid = "UseDataKey", actions = ["kms:GenerateDataKey"], resources = [var.kms_key_arn] },
    ] : [])

    "set-disposition" = concat([
      { sid = "RecordDispositions", actions = ["dynamodb:GetItem", "dynamodb:UpdateItem"], resources = [local.table_arn] },
      # An agent's callback: one conditional UpdateItem on the contact's ledger item (its
      # answer on a lost condition carries the item: no read). No final record is written.
      { sid = "ScheduleCallbacks", actions = ["dynamodb:UpdateItem"], resources = [local.ledger_table_arn] },
      # "Do not call again": the contact's do-not-call key is read from its ledger item and its
      # DNC# item put (conditional: a number listed already keeps its first source).
      { sid = "ListDoNotCall", actions = ["dynamodb:GetItem", "dynamodb:PutItem"], resources = [local.ledger_table_arn] },
      { sid = "RewriteResults", actions = ["s3:PutObject"], resources = [local.connect.results_write] },
      ], local.kms_enabled ? [
      { sid = "UseDataKey", actions = ["kms:GenerateDataKey"], resources = [var.kms_key_arn] },
    ] : [])
  }
}

data "aws_iam_policy_document" "function" {
  for_each = local.function_statements

  dynamic "statement" {
    for_each = each.value

    content {
      sid       = statement.value.sid
      effect    = "Allow"
      actions   = statement.value.actions
      resources = statement.value.resources
    }
  }

  lifecycle {
    precondition {
      condition     = each.key != "dial" || !local.routing_enabled || var.routing_bucket_name != null
      error_message = "routing_object_key is set but routing_bucket_name is null: dial needs the bucket that holds the routing file."
    }
  }
}

################################################################################
# State machine role
################################################################################

data "aws_iam_policy_document" "state_machine_assume" {
  statement {
    sid     = "StepFunctionsAssumeRole"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["states.amazonaws.com"]
    }

    # Only this state machine, in this account (confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [local.state_machine_arn]
    }
  }
}

resource "aws_iam_role" "state_machine" {
  name               = "${var.name}-dialer-state-machine"
  description        = "Execution role of the ${local.state_machine_name} state machine."
  assume_role_policy = data.aws_iam_policy_document.state_machine_assume.json

  tags = var.tags
}

data "aws_iam_policy_document" "state_machine" {
  statement {
    sid     = "InvokeDialerFunctions"
    effect  = "Allow"
    actions = ["lambda:InvokeFunction"]
    # Exactly the functions the definition invokes, unqualified or by version/alias.
    resources = flatten([
      for binary in ["get-config", "get-contacts", "dial", "connect-status"] : [
        local.function_arns[binary],
        "${local.function_arns[binary]}:*",
      ]
    ])
  }

  statement {
    sid       = "ContinueAsNew"
    effect    = "Allow"
    actions   = ["states:StartExecution"]
    resources = [local.state_machine_arn]
  }

  statement {
    sid       = "ReleaseRun"
    effect    = "Allow"
    actions   = ["dynamodb:DeleteItem"]
    resources = [local.table_arn]
  }

  # A Distributed Map runs its iterations as child executions of this state machine: the role
  # starts them (states:StartExecution on the state machine, granted by ContinueAsNew above)
  # and describes and stops them, whose ARNs are execution:<state machine>/<map run>:<id>
  # ("IAM policies for using Distributed Map states", Step Functions developer guide,
  # docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html).
  dynamic "statement" {
    for_each = local.distributed_map ? [1] : []

    content {
      sid       = "RunDistributedMapLanes"
      effect    = "Allow"
      actions   = ["states:DescribeExecution", "states:StopExecution"]
      resources = local.state_machine_execution_arns
    }
  }

  statement {
    sid    = "DeliverLogs"
    effect = "Allow"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    # CloudWatch Logs vended delivery: these actions support no resource-level permission.
    resources = ["*"]
  }

  dynamic "statement" {
    for_each = var.state_machine_tracing_enabled ? [1] : []

    content {
      sid    = "WriteTraces"
      effect = "Allow"
      actions = [
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
      ]
      # X-Ray write actions support no resource-level permission.
      resources = ["*"]
    }
  }
}

resource "aws_iam_role_policy" "state_machine" {
  name   = "state-machine"
  role   = aws_iam_role.state_machine.id
  policy = data.aws_iam_policy_document.state_machine.json
}
