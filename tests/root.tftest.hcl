# The root module: each create_* toggle creates exactly its component, the components are wired
# to each other, and invalid inputs fail with a clear message.
# The dialer's own resources are tested in tests/dialer*.tftest.hcl.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "22222222-3333-4444-5555-666666666666"
  connect_queue_id        = "33333333-4444-5555-6666-777777777777"
}

run "defaults_create_caller_id_and_dialer_only" {
  command = plan

  assert {
    condition     = length(module.caller_id) == 1 && length(module.dialer) == 1
    error_message = "Caller ID and the dialer are on by default."
  }

  assert {
    condition     = length(module.pinpoint_channel) == 0
    error_message = "The Pinpoint channel must be off by default (Pinpoint engagement features reached end of support on 2026-10-30)."
  }

  assert {
    condition     = length(module.contact_flows) == 0
    error_message = "Contact flows must be off by default."
  }

  assert {
    condition     = output.pinpoint_application_id == null && output.outbound_whisper_flow_id == null && output.disposition_flow_id == null
    error_message = "Outputs of components that are off must be null."
  }

  assert {
    condition     = contains(keys(output.lambda_function_names), "caller-id") && output.lambda_function_names["caller-id"] == "blaster-caller-id"
    error_message = "lambda_function_names must include caller-id, keyed by binary name."
  }

  assert {
    condition     = contains(keys(output.lambda_function_names), "set-disposition") && !contains(keys(output.lambda_function_names), "queue-contacts")
    error_message = "lambda_function_names must include the dialer's functions and not queue-contacts when Pinpoint is off."
  }

  assert {
    condition     = output.routing_object_key == "routing.json"
    error_message = "The routing file's default key is routing.json."
  }
}

run "create_false_plans_nothing" {
  command = plan

  variables {
    create                  = false
    create_pinpoint_channel = true
    create_contact_flows    = true
  }

  assert {
    condition = (
      length(module.caller_id) == 0 && length(module.dialer) == 0 &&
      length(module.pinpoint_channel) == 0 && length(module.contact_flows) == 0 &&
      length(data.aws_partition.current) == 0
    )
    error_message = "create = false must plan no resource and read no data source."
  }

  assert {
    condition = (
      output.lambda_function_arns == {} && output.lambda_function_names == {} && output.lambda_role_arns == {} &&
      output.state_machine_arn == null && output.queue_url == null && output.table_name == null &&
      output.caller_id_lambda_function_arn == null && output.routing_bucket_name == null &&
      output.ssm_prefix == null && output.eventbridge_rule_arn == null
    )
    error_message = "create = false must leave every output empty."
  }
}

run "create_dialer_false_plans_no_dialer_resource" {
  command = plan

  variables {
    create_dialer           = false
    connect_contact_flow_id = null
    connect_queue_id        = null
  }

  assert {
    condition     = length(module.dialer) == 0 && length(module.caller_id) == 1
    error_message = "create_dialer = false must plan no dialer resource and keep caller ID."
  }

  assert {
    condition = (
      output.state_machine_arn == null && output.queue_url == null && output.dead_letter_queue_arn == null &&
      output.table_arn == null && output.input_bucket_name == null && output.results_bucket_name == null &&
      output.ssm_prefix == null && output.eventbridge_rule_arn == null
    )
    error_message = "Dialer outputs must be null without the dialer."
  }

  assert {
    condition     = keys(output.lambda_function_names) == ["caller-id"]
    error_message = "Only caller-id may remain in the function maps."
  }
}

run "create_caller_id_false" {
  command = plan

  # Without caller ID there is no routing file for campaign calls either (unless
  # routing_bucket_name names one): the dialer uses the queue's caller ID.
  variables {
    create_caller_id    = false
    dialer_uses_routing = false
  }

  assert {
    condition     = length(module.caller_id) == 0 && length(module.dialer) == 1
    error_message = "create_caller_id = false must plan no caller ID resource and keep the dialer."
  }

  assert {
    condition     = output.caller_id_lambda_function_arn == null && output.routing_bucket_name == null && !contains(keys(output.lambda_function_names), "caller-id")
    error_message = "Caller ID outputs must be null without caller ID."
  }
}

run "associations_follow_the_toggle" {
  command = plan

  variables {
    create_connect_lambda_associations = false
  }

  assert {
    condition     = module.caller_id[0].connect_lambda_function_association_id == null
    error_message = "create_connect_lambda_associations = false must associate nothing."
  }
}

run "pinpoint_channel_feeds_the_dialer" {
  variables {
    create_pinpoint_channel = true
  }

  override_module {
    target = module.dialer[0]
    outputs = {
      lambda_function_arns       = { "set-disposition" = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-set-disposition" }
      lambda_function_names      = { "set-disposition" = "blaster-set-disposition" }
      lambda_role_arns           = { "set-disposition" = "arn:aws:iam::123456789012:role/blaster-set-disposition" }
      state_machine_arn          = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
      state_machine_name         = "blaster-dialer"
      queue_url                  = "https://sqs.eu-west-2.amazonaws.com/123456789012/blaster-contacts"
      queue_arn                  = "arn:aws:sqs:eu-west-2:123456789012:blaster-contacts"
      dead_letter_queue_url      = "https://sqs.eu-west-2.amazonaws.com/123456789012/blaster-contacts-dlq"
      dead_letter_queue_arn      = "arn:aws:sqs:eu-west-2:123456789012:blaster-contacts-dlq"
      table_name                 = "blaster-active-dialing"
      table_arn                  = "arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-active-dialing"
      campaign_ledger_table_name = "blaster-campaign-ledger"
      campaign_ledger_table_arn  = "arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"
      input_bucket_name          = "blaster-input"
      results_bucket_name        = "blaster-results"
      results_bucket_arn         = "arn:aws:s3:::blaster-results"
      ssm_prefix                 = "/connect/blaster/blaster/"
      eventbridge_rule_arn       = "arn:aws:events:eu-west-2:123456789012:rule/blaster-disconnected"
      contact_key_kms_key_arn    = "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
    }
  }

  assert {
    condition     = length(module.pinpoint_channel) == 1 && output.pinpoint_application_id == "0123456789abcdef0123456789abcdef"
    error_message = "create_pinpoint_channel must create the channel and its application."
  }

  assert {
    condition = module.pinpoint_channel[0].lambda_environment == tomap({
      ALLOWED_COUNTRIES       = "GB"
      CONTACT_KEY_KMS_KEY_ARN = "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
      LEDGER_TABLE_NAME       = "blaster-campaign-ledger"
      RESULTS_BUCKET          = "blaster-results"
      STATE_MACHINE_ARN       = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
      SSM_PREFIX              = "/connect/blaster/blaster/"
    })
    error_message = "queue-contacts must be wired to the dialer's campaign ledger, bucket, state machine and parameters."
  }

  assert {
    condition     = output.lambda_function_names["queue-contacts"] == "blaster-queue-contacts" && output.queue_contacts_lambda_function_arn != null
    error_message = "queue-contacts must appear in the function maps."
  }

  assert {
    condition     = module.pinpoint_channel[0].invoke_source_arn == "arn:aws:mobiletargeting:eu-west-2:123456789012:apps/0123456789abcdef0123456789abcdef/*"
    error_message = "The invoke permission must be scoped to the application's campaigns."
  }
}

run "contact_flows_need_a_function_to_invoke" {
  command = plan

  variables {
    create_caller_id     = false
    create_dialer        = false
    create_contact_flows = true
  }

  expect_failures = [data.aws_partition.current]
}

run "pinpoint_needs_the_dialer" {
  command = plan

  variables {
    create_dialer           = false
    create_pinpoint_channel = true
  }

  expect_failures = [data.aws_partition.current]
}

run "invalid_variables" {
  command = plan

  variables {
    name                = "Blaster"
    connect_instance_id = "arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555"
    kms_key_arn         = "alias/blaster"
    ssm_prefix          = "/connect/blaster"
    iso_country_code    = "gb"
    country_code        = "+44"
    lambda_architecture = "aarch64"
    routing_object_key  = "routing?.json"
    caller_id_timeout   = 9
  }

  expect_failures = [
    var.routing_object_key,
    var.caller_id_timeout,
    var.name,
    var.connect_instance_id,
    var.kms_key_arn,
    var.ssm_prefix,
    var.iso_country_code,
    var.country_code,
    var.lambda_architecture,
  ]
}

run "invalid_numbers" {
  command = plan

  variables {
    log_retention_in_days = 10
    calls_per_second      = 0
    concurrent_calls      = 0
    call_timeout_seconds  = 5
    history_budget        = 30000
  }

  expect_failures = [
    var.log_retention_in_days,
    var.calls_per_second,
    var.concurrent_calls,
    var.call_timeout_seconds,
    var.history_budget,
  ]
}

run "dialer_routing_needs_a_routing_file" {
  command = plan

  variables {
    create_caller_id    = false
    dialer_uses_routing = true
    routing_bucket_name = null
  }

  expect_failures = [data.aws_partition.current]
}

run "caller_id_and_dial_reserve_their_concurrency" {
  command = plan

  assert {
    condition     = module.caller_id[0].lambda_reserved_concurrent_executions == 20
    error_message = "caller-id reserves 20 by default: a dialer's lanes can never throttle the whisper flows."
  }
}

run "reserved_concurrency_given" {
  command = plan

  variables {
    reserved_concurrency = { caller_id = 50, dial = 60 }
  }

  assert {
    condition     = module.caller_id[0].lambda_reserved_concurrent_executions == 50
    error_message = "reserved_concurrency.caller_id is caller-id's reservation."
  }
}

run "reserved_concurrency_checked" {
  command = plan

  variables {
    reserved_concurrency = { caller_id = 0, dial = 10 }
  }

  expect_failures = [var.reserved_concurrency]
}
