# modules/dialer with the mock provider, plan and apply: what it creates, the SSM names, the
# EventBridge scope, the rendered state machine (INLINE up to 40 lanes, DISTRIBUTED above) and
# the variable checks. The IAM documents are asserted as rendered JSON in dialer_iam.tftest.hcl
# (real provider, offline); the definition itself is validated and executed by
# scripts/validate-asl.sh.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "66666666-7777-8888-9999-000000000000"
  connect_queue_id        = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
}

run "plan_resources_and_names" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition     = toset(keys(output.lambda_function_names)) == toset(["load-list", "get-config", "get-contacts", "dial", "process-contact-events", "connect-status", "set-disposition"])
    error_message = "Every dialer function (and only those) must be created: ${jsonencode(keys(output.lambda_function_names))}"
  }

  assert {
    condition     = output.lambda_function_names["process-contact-events"] == "blaster-process-contact-events"
    error_message = "Functions are named <name>-<binary>."
  }

  assert {
    condition     = output.ssm_prefix == "/connect/blaster/blaster/"
    error_message = "The default SSM prefix is /connect/blaster/<name>/, got ${output.ssm_prefix}."
  }

  assert {
    condition = output.ssm_parameter_names == {
      connectid             = "/connect/blaster/blaster/connectid"
      contactflow           = "/connect/blaster/blaster/contactflow"
      queue                 = "/connect/blaster/blaster/queue"
      countrycode           = "/connect/blaster/blaster/countrycode"
      isocountrycode        = "/connect/blaster/blaster/isocountrycode"
      concurrentcalls       = "/connect/blaster/blaster/concurrentcalls"
      timeOut               = "/connect/blaster/blaster/timeOut"
      callspersecond        = "/connect/blaster/blaster/callspersecond"
      ResultsBucket         = "/connect/blaster/blaster/ResultsBucket"
      activeBlaster         = "/connect/blaster/blaster/activeBlaster"
      dialIndex             = "/connect/blaster/blaster/dialIndex"
      "table-activedialing" = "/connect/blaster/blaster/table-activedialing"
      totalRecords          = "/connect/blaster/blaster/totalRecords"
    }
    error_message = "The SSM parameters must keep the original names: ${jsonencode(output.ssm_parameter_names)}"
  }

  assert {
    # aws_ssm_parameter.tunable carries lifecycle { ignore_changes = [value] }.
    condition     = toset(keys(aws_ssm_parameter.tunable)) == toset(["concurrentcalls", "timeOut", "callspersecond", "activeBlaster", "dialIndex", "totalRecords"])
    error_message = "Exactly the operator-tunable parameters and counters must be the ones an apply does not reset."
  }

  assert {
    condition = (
      aws_ssm_parameter.tunable["concurrentcalls"].value == "5" &&
      aws_ssm_parameter.tunable["timeOut"].value == "900" &&
      aws_ssm_parameter.tunable["callspersecond"].value == "2" &&
      aws_ssm_parameter.tunable["activeBlaster"].value == "True" &&
      aws_ssm_parameter.managed["connectid"].value == var.connect_instance_id &&
      aws_ssm_parameter.managed["ResultsBucket"].value == "blaster-results-123456789012-eu-west-2" &&
      aws_ssm_parameter.managed["table-activedialing"].value == "blaster-activedialing"
    )
    error_message = "SSM parameters must start from the variables (concurrentcalls 5, timeOut 900, callspersecond 2, activeBlaster True) and name this deployment's bucket and table."
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.contact_disconnected.event_pattern) == {
      source        = ["aws.connect"]
      "detail-type" = ["Amazon Connect Contact Event"]
      detail = {
        eventType        = ["DISCONNECTED"]
        instanceArn      = ["arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555"]
        channel          = ["VOICE"]
        initiationMethod = ["API"]
      }
    }
    error_message = "The rule must match DISCONNECTED events of API-placed voice contacts of this instance only: ${aws_cloudwatch_event_rule.contact_disconnected.event_pattern}"
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.process_contact_events.retry_policy[0].maximum_event_age_in_seconds == 3600 &&
      aws_cloudwatch_event_target.process_contact_events.retry_policy[0].maximum_retry_attempts == 24 &&
      length(aws_cloudwatch_event_target.process_contact_events.dead_letter_config) == 1
    )
    error_message = "The contact-event target needs a bounded retry policy and a dead-letter queue."
  }

  assert {
    condition     = aws_lambda_permission.process_contact_events_from_eventbridge.principal == "events.amazonaws.com" && aws_lambda_permission.load_list_from_s3.principal == "s3.amazonaws.com" && aws_lambda_permission.load_list_from_s3.source_account == "123456789012"
    error_message = "EventBridge may invoke process-contact-events, and only this account's input bucket may invoke load-list."
  }

  assert {
    condition = jsondecode(aws_cloudwatch_event_rule.activation[0].event_pattern) == {
      source        = ["aws.ssm"]
      "detail-type" = ["Parameter Store Change"]
      detail        = { name = ["/connect/blaster/blaster/activeBlaster"], operation = ["Update"] }
    }
    error_message = "The activation rule must watch updates of this deployment's activeBlaster only."
  }

  assert {
    condition = (
      aws_dynamodb_table.active_dialing.name == "blaster-activedialing" &&
      aws_dynamodb_table.active_dialing.hash_key == "pk" &&
      aws_dynamodb_table.active_dialing.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.active_dialing.ttl[0].attribute_name == "expiresAt" &&
      aws_dynamodb_table.active_dialing.ttl[0].enabled &&
      aws_dynamodb_table.active_dialing.point_in_time_recovery[0].enabled &&
      aws_dynamodb_table.active_dialing.server_side_encryption[0].enabled
    )
    error_message = "ActiveDialing: hash key pk, on-demand, TTL on expiresAt, PITR and SSE on."
  }

  assert {
    condition = (
      aws_s3_bucket.this["input"].bucket == "blaster-input-123456789012-eu-west-2" &&
      aws_s3_bucket.this["results"].bucket == "blaster-results-123456789012-eu-west-2" &&
      alltrue([for b in aws_s3_bucket_public_access_block.this : b.block_public_acls && b.block_public_policy && b.ignore_public_acls && b.restrict_public_buckets]) &&
      alltrue([for e in aws_s3_bucket_server_side_encryption_configuration.this : one(one(e.rule).apply_server_side_encryption_by_default).sse_algorithm == "aws:kms"]) &&
      alltrue([for v in aws_s3_bucket_versioning.this : one(v.versioning_configuration).status == "Enabled"])
    )
    error_message = "Both buckets: deterministic names, public access blocked, KMS encryption, versioning."
  }

  assert {
    condition     = alltrue([for d in data.aws_iam_policy_document.bucket : one([for s in d.statement : s if s.sid == "DenyInsecureTransport"]).effect == "Deny"])
    error_message = "Both buckets must deny requests without TLS."
  }

  assert {
    condition     = one(aws_s3_bucket_notification.input.lambda_function).filter_suffix == ".csv" && one(aws_s3_bucket_notification.input.lambda_function).events == toset(["s3:ObjectCreated:*"])
    error_message = "Only .csv uploads start load-list."
  }

  assert {
    condition = (
      aws_sqs_queue.contacts.visibility_timeout_seconds == 300 &&
      aws_sqs_queue.contacts.message_retention_seconds == 345600 &&
      aws_sqs_queue.contacts.sqs_managed_sse_enabled &&
      aws_sqs_queue.dead_letter.sqs_managed_sse_enabled &&
      aws_sqs_queue.contact_events_dead_letter.sqs_managed_sse_enabled
    )
    error_message = "Queues: default visibility 300 s (longer than dial's 60 s), 4 days' retention, SSE-SQS without a KMS key."
  }

  assert {
    condition     = length(aws_connect_lambda_function_association.set_disposition) == 1
    error_message = "set-disposition is associated with the instance by default."
  }

  assert {
    condition = (
      output.lambda_function_environments["dial"].SSM_PREFIX == "/connect/blaster/blaster/" &&
      output.lambda_function_environments["dial"].TABLE_NAME == "blaster-activedialing" &&
      output.lambda_function_environments["dial"].RESULTS_BUCKET == "blaster-results-123456789012-eu-west-2" &&
      output.lambda_function_environments["dial"].RECEIVE_WAIT_SECONDS == "2" &&
      output.lambda_function_environments["dial"].STATUS_CACHE_SECONDS == "30" &&
      output.lambda_function_environments["dial"].STATE_MACHINE_ARN == "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer" &&
      !contains(keys(output.lambda_function_environments["dial"]), "COUNTRY_ROUTING_LIST_KEY") &&
      output.lambda_function_environments["load-list"].STATE_MACHINE_ARN == "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer" &&
      output.lambda_function_environments["load-list"].HANDOVER_MARGIN_SECONDS == "60" &&
      output.lambda_function_environments["get-config"].HISTORY_BUDGET == "8000" &&
      output.lambda_function_environments["get-config"].MAX_CONCURRENT_CALLS == "40"
    )
    error_message = "Function environments must follow docs/architecture.md (dial without routing when routing_object_key is null): ${jsonencode(output.lambda_function_environments)}"
  }

  assert {
    condition     = alltrue([for env in values(output.lambda_function_environments) : lookup(env, "SSM_PREFIX", output.ssm_prefix) == output.ssm_prefix])
    error_message = "Every dialer function given SSM_PREFIX gets the module's prefix (which functions get it: tests/environment.tftest.hcl)."
  }

  assert {
    condition = (
      aws_sfn_state_machine.dialer.name == "blaster-dialer" &&
      aws_sfn_state_machine.dialer.type == "STANDARD" &&
      one(aws_sfn_state_machine.dialer.logging_configuration).level == "ERROR" &&
      !one(aws_sfn_state_machine.dialer.logging_configuration).include_execution_data &&
      !one(aws_sfn_state_machine.dialer.tracing_configuration).enabled &&
      aws_cloudwatch_log_group.state_machine.name == "/aws/vendedlogs/states/blaster-dialer"
    )
    error_message = "The state machine: STANDARD, ERROR logging without execution data, no tracing by default."
  }
}

run "apply_inline_definition" {
  module {
    source = "./modules/dialer"
  }

  # Distinct ARNs per function: the definition must name each function in its own task.
  override_resource {
    target = module.function["get-config"].aws_lambda_function.this
    values = { arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-get-config" }
  }
  override_resource {
    target = module.function["get-contacts"].aws_lambda_function.this
    values = { arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-get-contacts" }
  }
  override_resource {
    target = module.function["dial"].aws_lambda_function.this
    values = { arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-dial" }
  }
  override_resource {
    target = module.function["connect-status"].aws_lambda_function.this
    values = { arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-connect-status" }
  }
  override_resource {
    target = module.function["set-disposition"].aws_lambda_function.this
    values = { arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-set-disposition" }
  }

  assert {
    condition     = aws_sfn_state_machine.dialer.definition == output.state_machine_definition && !strcontains(output.state_machine_definition, "$${")
    error_message = "The deployed definition is the rendered template, with no unresolved placeholder."
  }

  assert {
    condition     = jsondecode(output.state_machine_definition).QueryLanguage == "JSONPath" && jsondecode(output.state_machine_definition).StartAt == "Prepare Run"
    error_message = "The definition is JSONPath (the local executor has no JSONata)."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Get Config"].Parameters.FunctionName == output.lambda_function_arns["get-config"] &&
      jsondecode(output.state_machine_definition).States["Check Queue Hours"].Parameters.FunctionName == output.lambda_function_arns["connect-status"] &&
      jsondecode(output.state_machine_definition).States["Count Contacts"].Parameters.FunctionName == output.lambda_function_arns["get-contacts"] &&
      jsondecode(output.state_machine_definition).States["Recount Contacts"].Parameters.FunctionName == output.lambda_function_arns["get-contacts"] &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Parameters.FunctionName == output.lambda_function_arns["dial"] &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Reconcile Call"].Parameters.FunctionName == output.lambda_function_arns["connect-status"]
    )
    error_message = "Each task must invoke the deployed function of its role."
  }

  assert {
    condition     = output.lambda_function_arns["dial"] == "arn:aws:lambda:eu-west-2:123456789012:function:blaster-dial" && !strcontains(output.state_machine_definition, output.lambda_function_arns["set-disposition"])
    error_message = "The definition names only the functions it invokes (set-disposition is Connect's)."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.ProcessorConfig == { Mode = "INLINE" } &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].MaxConcurrency == 40
    )
    error_message = "At max_concurrent_calls = 40 the lanes run in an INLINE Map with MaxConcurrency 40."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Resource == "arn:aws:states:::lambda:invoke.waitForTaskToken" &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Next == "Dial Next Contact" &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].TimeoutSecondsPath == "$.timeoutSeconds" &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Parameters.Payload["taskToken.$"] == "$$.Task.Token"
    )
    error_message = "A lane is one .waitForTaskToken task that loops on itself, timed out by the lane state's timeoutSeconds."
  }

  assert {
    # Every Task, top level and in the lanes: a Comment, a Retry with full jitter, a Catch.
    condition = alltrue([
      for s in concat(
        values(jsondecode(output.state_machine_definition).States),
        values(jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States),
        ) : (
        length(try(s.Comment, "")) > 0 &&
        length(try(s.Retry, [])) > 0 &&
        alltrue([for r in try(s.Retry, []) : try(r.JitterStrategy == "FULL" && r.BackoffRate >= 1, false)]) &&
        length(try(s.Catch, [])) > 0
      ) if s.Type == "Task"
    ])
    error_message = "Every Task needs a Comment, a Retry with BackoffRate and JitterStrategy FULL, and a Catch."
  }

  assert {
    # Every Next, Default and Catch target names a state of the same level.
    condition = alltrue(flatten([
      for level in [
        jsondecode(output.state_machine_definition).States,
        jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States,
        ] : [
        for s in values(level) : concat(
          [for t in compact([try(s.Next, ""), try(s.Default, "")]) : contains(keys(level), t)],
          [for c in try(s.Catch, []) : contains(keys(level), c.Next)],
          [for c in try(s.Choices, []) : contains(keys(level), c.Next)],
        )
      ]
    ]))
    error_message = "A transition names a state that does not exist."
  }

  assert {
    condition = (
      toset(jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Catch[0].ErrorEquals) == toset(["QueueEmpty", "CampaignStopped", "QueueClosed", "LaneBudgetExhausted"]) &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Catch[1].ErrorEquals == ["States.Timeout"] &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Catch[1].Next == "Reconcile Call" &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.States["Dial Next Contact"].Catch[2].ErrorEquals == ["States.ALL"]
    )
    error_message = "The lane ends on the project's lane-ending errors, reconciles on a timeout and fails safe on anything else."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Release Finished Run"].Parameters.TableName == "blaster-activedialing" &&
      jsondecode(output.state_machine_definition).States["Release Finished Run"].Parameters.ConditionExpression == "#runId = :runId AND #execution = :execution" &&
      jsondecode(output.state_machine_definition).States["Release Finished Run"].Parameters.ExpressionAttributeValues[":execution"]["S.$"] == "$$.Execution.Id" &&
      jsondecode(output.state_machine_definition).States["Start Next Wave"].Parameters["StateMachineArn.$"] == "$$.StateMachine.Id"
    )
    error_message = "The release is conditional on the run and on this execution holding it, and continue-as-new starts this same state machine."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.contacts.redrive_policy).maxReceiveCount == 10 && jsondecode(aws_sqs_queue.contacts.redrive_policy).deadLetterTargetArn == aws_sqs_queue.dead_letter.arn
    error_message = "Contacts go to the dead-letter queue after 10 receives (the default)."
  }

  assert {
    condition     = output.state_machine_name == "blaster-dialer" && output.table_name == "blaster-activedialing" && output.eventbridge_rule_arn != null && output.queue_url != null && output.dead_letter_queue_arn != null
    error_message = "The module's outputs must be set."
  }
}

run "distributed_map_above_40_lanes" {
  module {
    source = "./modules/dialer"
  }

  variables {
    max_concurrent_calls = 41
    concurrent_calls     = 41
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Dial Lanes"].ItemProcessor.ProcessorConfig == { Mode = "DISTRIBUTED", ExecutionType = "STANDARD" } &&
      jsondecode(output.state_machine_definition).States["Dial Lanes"].MaxConcurrency == 41
    )
    error_message = "Above 40 lanes the Map must be DISTRIBUTED with STANDARD child executions."
  }

  assert {
    condition     = output.lambda_function_environments["get-config"].MAX_CONCURRENT_CALLS == "41"
    error_message = "get-config must know the concurrency the state machine is built for."
  }
}

run "custom_prefix_routing_kms_and_toggles" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    ssm_prefix                        = "/acme/dialer/spring/"
    routing_bucket_name               = "acme-routing"
    routing_object_key                = "caller-id/routing.json"
    kms_key_arn                       = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    create_connect_lambda_association = false
    start_on_activation               = false
    state_machine_tracing_enabled     = true
    state_machine_logging             = { level = "ALL", include_execution_data = true }
    function_settings                 = { dial = { timeout = 120 } }
    queue                             = { visibility_timeout_seconds = 180, max_receive_count = 3 }
  }

  assert {
    condition     = output.ssm_parameter_names["activeBlaster"] == "/acme/dialer/spring/activeBlaster" && output.ssm_parameter_names["table-activedialing"] == "/acme/dialer/spring/table-activedialing" && output.ssm_prefix == "/acme/dialer/spring/"
    error_message = "Parameters must live under the custom prefix: ${jsonencode(output.ssm_parameter_names)}"
  }

  assert {
    condition     = alltrue([for name in values(output.ssm_parameter_names) : startswith(name, "/acme/dialer/spring/")])
    error_message = "No parameter may be created outside the custom prefix."
  }

  assert {
    condition = (
      output.lambda_function_environments["dial"].BUCKET_NAME == "acme-routing" &&
      output.lambda_function_environments["dial"].COUNTRY_ROUTING_LIST_KEY == "caller-id/routing.json" &&
      output.lambda_function_environments["dial"].ROUTING_CACHE_TTL_SECONDS == "60" &&
      output.lambda_function_environments["dial"].SSM_PREFIX == "/acme/dialer/spring/"
    )
    error_message = "With a routing file, dial gets BUCKET_NAME, COUNTRY_ROUTING_LIST_KEY and ROUTING_CACHE_TTL_SECONDS."
  }

  assert {
    condition = (
      aws_sqs_queue.contacts.kms_master_key_id == var.kms_key_arn &&
      aws_sqs_queue.dead_letter.kms_master_key_id == var.kms_key_arn &&
      aws_sqs_queue.contact_events_dead_letter.kms_master_key_id == var.kms_key_arn &&
      aws_dynamodb_table.active_dialing.server_side_encryption[0].kms_key_arn == var.kms_key_arn &&
      aws_cloudwatch_log_group.state_machine.kms_key_id == var.kms_key_arn &&
      alltrue([for e in aws_s3_bucket_server_side_encryption_configuration.this : one(one(e.rule).apply_server_side_encryption_by_default).kms_master_key_id == var.kms_key_arn])
    )
    error_message = "The customer key must encrypt the queues, the table, the buckets and the log group."
  }

  assert {
    condition     = length(aws_connect_lambda_function_association.set_disposition) == 0 && length(aws_cloudwatch_event_rule.activation) == 0 && length(aws_iam_role.activation) == 0
    error_message = "The Connect association and the activation rule are optional."
  }

  assert {
    condition     = one(aws_sfn_state_machine.dialer.tracing_configuration).enabled && one(aws_sfn_state_machine.dialer.logging_configuration).level == "ALL" && one(aws_sfn_state_machine.dialer.logging_configuration).include_execution_data
    error_message = "Tracing and logging follow the variables."
  }

  assert {
    condition     = jsondecode(aws_sqs_queue.contacts.redrive_policy).maxReceiveCount == 3 && aws_sqs_queue.contacts.visibility_timeout_seconds == 180 && aws_sqs_queue.contacts.message_retention_seconds == 345600
    error_message = "Queue settings given in part keep the defaults of the others."
  }
}

################################################################################
# Invalid inputs fail with a message that says what is wrong
################################################################################

run "visibility_not_longer_than_dial_timeout" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    function_settings = { dial = { timeout = 300 } }
    queue             = { visibility_timeout_seconds = 300 }
  }

  expect_failures = [aws_sqs_queue.contacts]
}

run "more_lanes_than_the_state_machine_is_built_for" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    concurrent_calls     = 50
    max_concurrent_calls = 40
  }

  expect_failures = [aws_sfn_state_machine.dialer]
}

run "routing_key_without_bucket" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    routing_object_key = "caller-id/routing.json"
  }

  expect_failures = [data.aws_iam_policy_document.function]
}

run "default_bucket_names_longer_than_63_characters" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  # "<name>-results-<account>-<region>": the longest name (28 characters) in a 14-character
  # region makes it 64 characters.
  variables {
    name = "northern-region-agent-dialer"
  }

  override_data {
    target = data.aws_region.current
    values = { name = "ap-southeast-4", id = "ap-southeast-4" }
  }

  expect_failures = [aws_s3_bucket.this]
}

run "invalid_variables" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    name                    = "Blaster_1"
    connect_instance_id     = "arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555"
    connect_contact_flow_id = "Default outbound"
    connect_queue_id        = "BasicQueue"
    country_code            = "+44"
    iso_country_code        = "gb"
    concurrent_calls        = 0
    max_concurrent_calls    = 0
    call_timeout_seconds    = 5
    calls_per_second        = 0
    ssm_prefix              = "/connect/blaster/acme"
    routing_object_key      = "/caller-id/*.json"
    architecture            = "arm"
    log_retention_in_days   = 10
    history_budget          = 30000
    function_settings       = { dialer = { timeout = 1000 } }
    queue                   = { message_retention_seconds = 2000000, max_receive_count = 0 }
    state_machine_logging   = { level = "DEBUG" }
    closed_poll_seconds     = 1
    drain_wait_seconds      = 0
    input_bucket_name       = "Input_Bucket"
    contact_event_retry     = { maximum_retry_attempts = 500 }
  }

  expect_failures = [
    var.name,
    var.connect_instance_id,
    var.connect_contact_flow_id,
    var.connect_queue_id,
    var.country_code,
    var.iso_country_code,
    var.concurrent_calls,
    var.max_concurrent_calls,
    var.call_timeout_seconds,
    var.calls_per_second,
    var.ssm_prefix,
    var.routing_object_key,
    var.architecture,
    var.log_retention_in_days,
    var.history_budget,
    var.function_settings,
    var.queue,
    var.state_machine_logging,
    var.closed_poll_seconds,
    var.drain_wait_seconds,
    var.input_bucket_name,
    var.contact_event_retry,
  ]
}

run "reserved_ssm_prefix" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    ssm_prefix = "/aws/blaster/"
  }

  expect_failures = [var.ssm_prefix]
}

run "set_disposition_timeout_above_flow_limit" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    function_settings = { "set-disposition" = { timeout = 10 } }
  }

  expect_failures = [var.function_settings]
}

run "lanes_above_the_step_functions_payload_limit" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  # 1,000 lanes keep the lane list and the lanes' results near 150 KiB (get-config's test
  # the_largest_wave_fits_the_step_functions_payload_limit); one more is refused.
  variables {
    max_concurrent_calls = 1001
  }

  expect_failures = [var.max_concurrent_calls]
}

run "caller_id_refused_alarm" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { alarm_actions = ["arn:aws:sns:eu-west-2:123456789012:oncall"] }
  }

  assert {
    # The pattern must match the line dial logs (functions/dial, place_with_fallback).
    condition = (
      aws_cloudwatch_log_metric_filter.caller_id_refused[0].pattern == "{ $.fields.message = \"caller ID refused; dialing with the queue's number\" }" &&
      aws_cloudwatch_log_metric_filter.caller_id_refused[0].log_group_name == "/aws/lambda/blaster-dial" &&
      aws_cloudwatch_log_metric_filter.caller_id_refused[0].metric_transformation[0].namespace == "OutboundVoice/blaster"
    )
    error_message = "The metric filter must count dial's refused caller ID lines."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.caller_id_refused[0].metric_name == "CallerIdRefused" &&
      aws_cloudwatch_metric_alarm.caller_id_refused[0].threshold == 0 &&
      aws_cloudwatch_metric_alarm.caller_id_refused[0].comparison_operator == "GreaterThanThreshold" &&
      aws_cloudwatch_metric_alarm.caller_id_refused[0].treat_missing_data == "notBreaching" &&
      length(aws_cloudwatch_metric_alarm.caller_id_refused[0].alarm_actions) == 1 &&
      contains(aws_cloudwatch_metric_alarm.caller_id_refused[0].alarm_actions, "arn:aws:sns:eu-west-2:123456789012:oncall")
    )
    error_message = "One refused caller ID in five minutes must alarm and notify the given topics."
  }
}

run "lease_expiries_alarm" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { alarm_actions = ["arn:aws:sns:eu-west-2:123456789012:oncall"] }
  }

  assert {
    # The pattern must match the feeder's summary line (functions/get-config/src/feeder.rs).
    condition = (
      aws_cloudwatch_log_metric_filter.lease_expiries[0].pattern == "{ $.fields.message = \"lanes fed from the campaign ledger\" && $.fields.expired > 0 }" &&
      aws_cloudwatch_log_metric_filter.lease_expiries[0].log_group_name == "/aws/lambda/blaster-get-config" &&
      aws_cloudwatch_log_metric_filter.lease_expiries[0].metric_transformation[0].value == "$.fields.expired"
    )
    error_message = "The metric filter must sum the expired leases the feeder reports."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.lease_expiries[0].metric_name == "LeaseExpiries" &&
      aws_cloudwatch_metric_alarm.lease_expiries[0].period == 3600 &&
      aws_cloudwatch_metric_alarm.lease_expiries[0].evaluation_periods == 3 &&
      aws_cloudwatch_metric_alarm.lease_expiries[0].datapoints_to_alarm == 3 &&
      contains(aws_cloudwatch_metric_alarm.lease_expiries[0].alarm_actions, "arn:aws:sns:eu-west-2:123456789012:oncall")
    )
    error_message = "Leases expiring in each of three hours in a row must alarm."
  }
}

run "alarms_off_and_bad_actions" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { create = false, alarm_actions = ["oncall@example.com"] }
  }

  expect_failures = [var.alarms]
}

run "alarms_off" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { create = false }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.caller_id_refused) == 0 && length(aws_cloudwatch_log_metric_filter.caller_id_refused) == 0 && output.cloudwatch_metric_alarm_arns == {}
    error_message = "alarms.create = false creates no alarm."
  }
}

run "allowed_countries_default_to_the_deployment_country" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      module.function["load-list"].environment_variables["ALLOWED_COUNTRIES"] == "GB" &&
      module.function["dial"].environment_variables["ALLOWED_COUNTRIES"] == "GB" &&
      length(output.allowed_countries) == 1 && output.allowed_countries[0] == "GB"
    )
    error_message = "Without allowed_countries, only iso_country_code may be called."
  }
}

run "allowed_countries_given" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    allowed_countries = ["GB", "IE"]
  }

  assert {
    condition     = module.function["load-list"].environment_variables["ALLOWED_COUNTRIES"] == "GB,IE" && module.function["dial"].environment_variables["ALLOWED_COUNTRIES"] == "GB,IE"
    error_message = "load-list and dial must get the allowed countries."
  }
}

run "allowed_countries_checked" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    allowed_countries = []
  }

  expect_failures = [var.allowed_countries]
}

run "contact_keys_come_from_a_created_hmac_key" {
  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      aws_kms_key.contact_key[0].customer_master_key_spec == "HMAC_256" &&
      aws_kms_key.contact_key[0].key_usage == "GENERATE_VERIFY_MAC" &&
      aws_kms_alias.contact_key[0].name == "alias/blaster-contact-keys"
    )
    error_message = "Without contact_key_kms_key_arn the dialer creates an HMAC_256 key (GENERATE_VERIFY_MAC) for contact keys."
  }

  assert {
    condition = (
      output.contact_key_kms_key_arn == aws_kms_key.contact_key[0].arn &&
      module.function["load-list"].environment_variables["CONTACT_KEY_KMS_KEY_ARN"] == aws_kms_key.contact_key[0].arn
    )
    error_message = "load-list derives contact keys from the created key, and the output names it for the Pinpoint channel."
  }

  assert {
    # Only the intake derives the secret: every other function reads the key from the message.
    condition     = alltrue([for binary in ["get-config", "get-contacts", "dial", "process-contact-events", "connect-status", "set-disposition"] : !contains(keys(module.function[binary].environment_variables), "CONTACT_KEY_KMS_KEY_ARN")])
    error_message = "Only load-list may derive the contact keys' secret."
  }
}

run "contact_keys_from_a_given_key" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    contact_key_kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
  }

  assert {
    condition = (
      length(aws_kms_key.contact_key) == 0 && length(aws_kms_alias.contact_key) == 0 &&
      output.contact_key_kms_key_arn == "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555" &&
      module.function["load-list"].environment_variables["CONTACT_KEY_KMS_KEY_ARN"] == "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
    )
    error_message = "A given contact key is used and no key is created."
  }
}

run "contact_key_must_be_a_key_arn" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    contact_key_kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:alias/contact-keys"
  }

  expect_failures = [var.contact_key_kms_key_arn]
}

run "dial_reserves_one_invocation_per_lane" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      module.function["dial"].reserved_concurrent_executions == 40 &&
      alltrue([for binary in ["load-list", "get-config", "get-contacts", "process-contact-events", "connect-status", "set-disposition"] : module.function[binary].reserved_concurrent_executions == -1])
    )
    error_message = "dial reserves max_concurrent_calls (40) by default, so waiting lanes never take the account's unreserved concurrency; the other functions reserve none."
  }
}

run "dial_reservation_given_or_off" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    max_concurrent_calls      = 100
    dial_reserved_concurrency = -1
  }

  assert {
    condition     = module.function["dial"].reserved_concurrent_executions == -1
    error_message = "dial_reserved_concurrency = -1 turns the reservation off."
  }
}

run "dial_reservation_below_the_lanes" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    max_concurrent_calls      = 100
    dial_reserved_concurrency = 50
  }

  expect_failures = [var.dial_reserved_concurrency]
}

run "failed_asynchronous_invocations_are_kept_and_alarm" {
  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      aws_sqs_queue.failed_invocations.name == "blaster-failed-invocations" &&
      module.function["load-list"].dead_letter_target_arn == aws_sqs_queue.failed_invocations.arn &&
      module.function["process-contact-events"].dead_letter_target_arn == aws_sqs_queue.failed_invocations.arn &&
      alltrue([for binary in ["get-config", "get-contacts", "dial", "connect-status", "set-disposition"] : module.function[binary].dead_letter_target_arn == null])
    )
    error_message = "The asynchronously invoked functions (S3 notifications, EventBridge) keep their failed events in the failed-invocations queue; the synchronously invoked ones return errors to their caller."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.queue_not_empty["failed_invocations"].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.queue_not_empty["failed_invocations"].dimensions["QueueName"] == "blaster-failed-invocations" &&
      aws_cloudwatch_metric_alarm.queue_not_empty["failed_invocations"].threshold == 0 &&
      output.cloudwatch_metric_alarm_arns["failed_invocations"] != null
    )
    error_message = "A message in the failed-invocations queue must alarm."
  }

  assert {
    condition = (
      jsondecode(aws_sqs_queue.failed_invocations.redrive_allow_policy).redrivePermission == "denyAll" &&
      jsondecode(aws_sqs_queue.contact_events_dead_letter.redrive_allow_policy).redrivePermission == "denyAll" &&
      jsondecode(aws_sqs_queue_redrive_allow_policy.dead_letter.redrive_allow_policy).redrivePermission == "byQueue" &&
      jsondecode(aws_sqs_queue_redrive_allow_policy.dead_letter.redrive_allow_policy).sourceQueueArns == ["arn:aws:sqs:eu-west-2:123456789012:blaster-contacts"]
    )
    error_message = "Each dead-letter queue names who may move messages to it: the contacts queue for its DLQ, nobody for the queues that AWS services send to directly."
  }
}
