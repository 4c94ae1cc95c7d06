# The campaign ledger (docs/architecture.md, "Campaign ledger") in modules/dialer, with the mock
# provider: the table and its indexes, what each function is told about it, the redial and
# ledger variables and their checks, the sweep that starts runs while contacts are due, and the
# alarms on runs that did not end well. The ledger's IAM statements are asserted as rendered JSON
# in dialer_iam.tftest.hcl; which variables each function gets, in environment.tftest.hcl.

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

################################################################################
# The table
################################################################################

run "ledger_table" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      aws_dynamodb_table.campaign_ledger.name == "blaster-campaign-ledger" &&
      aws_dynamodb_table.campaign_ledger.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.campaign_ledger.hash_key == "pk" &&
      aws_dynamodb_table.campaign_ledger.range_key == null
    )
    error_message = "The ledger is <name>-campaign-ledger, on demand, with the hash key pk and no sort key."
  }

  assert {
    condition     = toset([for a in aws_dynamodb_table.campaign_ledger.attribute : "${a.name}:${a.type}"]) == toset(["pk:S", "dueShard:S", "dueAt:N", "heldShard:S", "leaseUntil:N"])
    error_message = "The ledger declares exactly its key attributes: pk (S), dueShard (S), dueAt (N), heldShard (S), leaseUntil (N)."
  }

  assert {
    condition = {
      for g in aws_dynamodb_table.campaign_ledger.global_secondary_index : g.name => "${g.hash_key} ${g.range_key} ${g.projection_type} ${length(coalesce(g.non_key_attributes, []))}"
      } == {
      due  = "dueShard dueAt KEYS_ONLY 0"
      held = "heldShard leaseUntil KEYS_ONLY 0"
    }
    error_message = "Two indexes, both keys only: due (dueShard, dueAt) and held (heldShard, leaseUntil)."
  }

  assert {
    condition = (
      one(aws_dynamodb_table.campaign_ledger.ttl).attribute_name == "expiresAt" &&
      one(aws_dynamodb_table.campaign_ledger.ttl).enabled &&
      one(aws_dynamodb_table.campaign_ledger.point_in_time_recovery).enabled &&
      one(aws_dynamodb_table.campaign_ledger.server_side_encryption).enabled
    )
    error_message = "The ledger expires items through expiresAt (final items only) and has point-in-time recovery and server-side encryption on."
  }

  assert {
    condition     = aws_dynamodb_table.campaign_ledger.deletion_protection_enabled
    error_message = "The ledger is protected from deletion by default: losing it loses which contacts were dialed."
  }
}

run "ledger_table_with_the_given_key_and_tags" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    tags        = { Project = "outbound-voice" }
    ledger      = { deletion_protection = false }
  }

  assert {
    condition = (
      one(aws_dynamodb_table.campaign_ledger.server_side_encryption).kms_key_arn == var.kms_key_arn &&
      one(aws_dynamodb_table.campaign_ledger.server_side_encryption).kms_key_arn == one(aws_dynamodb_table.active_dialing.server_side_encryption).kms_key_arn
    )
    error_message = "The ledger is encrypted with the given key, like the ActiveDialing table."
  }

  assert {
    condition     = !aws_dynamodb_table.campaign_ledger.deletion_protection_enabled && aws_dynamodb_table.campaign_ledger.tags == tomap({ Project = "outbound-voice" })
    error_message = "ledger.deletion_protection = false turns the protection off; the ledger carries the module's tags."
  }
}

run "ledger_outputs" {
  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      output.campaign_ledger_table_name == "blaster-campaign-ledger" &&
      output.campaign_ledger_table_arn == aws_dynamodb_table.campaign_ledger.arn
    )
    error_message = "campaign_ledger_table_name and campaign_ledger_table_arn name the ledger."
  }
}

################################################################################
# What each function is told
################################################################################

run "ledger_environment_defaults" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition = {
      for binary, env in output.lambda_function_environments : binary => lookup(env, "LEDGER_TABLE_NAME", "")
      } == {
      "load-list"              = "blaster-campaign-ledger"
      "get-config"             = "blaster-campaign-ledger"
      "get-contacts"           = "blaster-campaign-ledger"
      "dial"                   = "blaster-campaign-ledger"
      "process-contact-events" = "blaster-campaign-ledger"
      "connect-status"         = "blaster-campaign-ledger"
      "set-disposition"        = "blaster-campaign-ledger"
    }
    error_message = "LEDGER_TABLE_NAME goes to every function that reads or writes the ledger, and only to them: ${jsonencode({ for b, e in output.lambda_function_environments : b => lookup(e, "LEDGER_TABLE_NAME", null) })}"
  }

  assert {
    condition = toset([
      for binary, env in output.lambda_function_environments : binary if contains(keys(env), "REDIAL_RULES")
    ]) == toset(["load-list", "get-config", "dial", "process-contact-events", "connect-status"])
    error_message = "REDIAL_RULES goes to the intake (a file's override is checked like the variable) and to the functions that finish attempts (the feeder finishes those a dead run abandoned), and to no other."
  }

  assert {
    condition = (
      [for binary, env in output.lambda_function_environments : binary if contains(keys(env), "CALLBACK_MAX_DAYS")] == ["set-disposition"] &&
      output.lambda_function_environments["set-disposition"].CALLBACK_MAX_DAYS == "30"
    )
    error_message = "CALLBACK_MAX_DAYS (30 days by default) goes to set-disposition, which schedules agents' callbacks, and to no other."
  }

  assert {
    condition = alltrue([
      for binary in ["load-list", "get-config", "dial", "process-contact-events", "connect-status"] :
      jsondecode(output.lambda_function_environments[binary].REDIAL_RULES) == {
        max_attempts   = 3
        delay_minutes  = { connected = 60, no_answer = 120, busy = 10, failed = 30, timeout = 30, error = 60, invalid_number = 1440, voicemail = 240, abandoned = 4320 }
        final_outcomes = ["connected", "timeout", "error", "invalid_number"]
      }
    ])
    error_message = "REDIAL_RULES decodes to the documented defaults: ${output.lambda_function_environments["dial"].REDIAL_RULES}"
  }

  assert {
    # The example the functions' own tests read (functions/<binary>/environment.json) is exactly
    # what Terraform sets by default, so those tests exercise the deployed value.
    condition = alltrue([
      for binary in ["load-list", "get-config", "dial", "process-contact-events", "connect-status"] :
      output.lambda_function_environments[binary].REDIAL_RULES == jsondecode(file("functions/${binary}/environment.json")).variables.REDIAL_RULES.example
    ])
    error_message = "functions/<binary>/environment.json's REDIAL_RULES example must be the default rendering: ${output.lambda_function_environments["dial"].REDIAL_RULES}"
  }

  assert {
    condition = (
      toset([for binary, env in output.lambda_function_environments : binary if contains(keys(env), "FINAL_RETENTION_DAYS")]) == toset(["load-list", "get-config", "dial", "process-contact-events", "connect-status"]) &&
      alltrue([for binary in ["load-list", "get-config", "dial", "process-contact-events", "connect-status"] : output.lambda_function_environments[binary].FINAL_RETENTION_DAYS == "90"])
    )
    error_message = "FINAL_RETENTION_DAYS (default 90) goes to the functions that make contacts final (load-list: do-not-call at intake) or finish attempts, and to no other."
  }

  assert {
    condition = (
      output.lambda_function_environments["get-config"].LEASE_SECONDS == "3600" &&
      output.lambda_function_environments["get-contacts"].DUE_WAIT_SECONDS == "300" &&
      [for binary, env in output.lambda_function_environments : binary if contains(keys(env), "LEASE_SECONDS")] == ["get-config"] &&
      [for binary, env in output.lambda_function_environments : binary if contains(keys(env), "DUE_WAIT_SECONDS")] == ["get-contacts"]
    )
    error_message = "get-config leases for LEASE_SECONDS (60 minutes by default); get-contacts looks DUE_WAIT_SECONDS ahead (5 minutes by default)."
  }

  assert {
    condition = (
      output.lambda_function_environments["get-config"].QUEUE_URL == output.lambda_function_environments["dial"].QUEUE_URL &&
      !contains(keys(output.lambda_function_environments["load-list"]), "QUEUE_URL")
    )
    error_message = "get-config feeds the contacts queue; load-list no longer sends to it."
  }
}

run "ledger_environment_given" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    redial = {
      max_attempts      = 5
      delay_minutes     = { busy = 1, no_answer = 43200, voicemail = 480, abandoned = 2880 }
      final_outcomes    = ["connected", "failed", "voicemail", "abandoned"]
      callback_max_days = 7
    }
    ledger = {
      final_retention_days = 0
      lease_minutes        = 5
      wait_for_due_minutes = 0
    }
  }

  assert {
    condition = jsondecode(output.lambda_function_environments["process-contact-events"].REDIAL_RULES) == {
      max_attempts   = 5
      delay_minutes  = { connected = 60, no_answer = 43200, busy = 1, failed = 30, timeout = 30, error = 60, invalid_number = 1440, voicemail = 480, abandoned = 2880 }
      final_outcomes = ["connected", "failed", "voicemail", "abandoned"]
    }
    error_message = "REDIAL_RULES holds the given rules (and not callback_max_days, set-disposition's own), the outcomes not given keeping their default delay: ${output.lambda_function_environments["process-contact-events"].REDIAL_RULES}"
  }

  assert {
    condition     = output.lambda_function_environments["set-disposition"].CALLBACK_MAX_DAYS == "7"
    error_message = "redial.callback_max_days reaches set-disposition as CALLBACK_MAX_DAYS."
  }

  assert {
    condition = (
      output.lambda_function_environments["connect-status"].FINAL_RETENTION_DAYS == "0" &&
      output.lambda_function_environments["get-config"].LEASE_SECONDS == "300" &&
      output.lambda_function_environments["get-contacts"].DUE_WAIT_SECONDS == "0"
    )
    error_message = "Retention 0 (kept for ever), a 5-minute lease (300 s) and no wait for due contacts reach the functions as given."
  }
}

################################################################################
# Invalid redial rules and ledger settings: one run per rule
################################################################################

run "redial_max_attempts_below_one" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { max_attempts = 0 }
  }
  expect_failures = [var.redial]
}

run "redial_max_attempts_above_ten" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { max_attempts = 11 }
  }
  expect_failures = [var.redial]
}

run "redial_max_attempts_not_whole" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { max_attempts = 2.5 }
  }
  expect_failures = [var.redial]
}

run "redial_delay_below_one_minute" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { delay_minutes = { busy = 0 } }
  }
  expect_failures = [var.redial]
}

run "redial_delay_above_thirty_days" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { delay_minutes = { no_answer = 43201 } }
  }
  expect_failures = [var.redial]
}

run "redial_delay_not_whole" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { delay_minutes = { failed = 1.5 } }
  }
  expect_failures = [var.redial]
}

run "redial_final_outcome_unknown" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { final_outcomes = ["connected", "answered"] }
  }
  expect_failures = [var.redial]
}

run "redial_final_outcome_misspelt" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { final_outcomes = ["connected", "abandon"] }
  }
  expect_failures = [var.redial]
}

run "redial_voicemail_delay_below_one_minute" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { delay_minutes = { voicemail = 0 } }
  }
  expect_failures = [var.redial]
}

run "redial_abandoned_delay_beyond_thirty_days" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { delay_minutes = { abandoned = 43201 } }
  }
  expect_failures = [var.redial]
}

run "redial_final_outcome_twice" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { final_outcomes = ["connected", "busy", "connected"] }
  }
  expect_failures = [var.redial]
}

run "redial_callback_max_days_zero" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { callback_max_days = 0 }
  }
  expect_failures = [var.redial]
}

run "redial_callback_max_days_above_a_year" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { callback_max_days = 366 }
  }
  expect_failures = [var.redial]
}

run "redial_callback_max_days_not_whole" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    redial = { callback_max_days = 1.5 }
  }
  expect_failures = [var.redial]
}

run "ledger_retention_negative" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { final_retention_days = -1 }
  }
  expect_failures = [var.ledger]
}

run "ledger_retention_above_ten_years" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { final_retention_days = 3651 }
  }
  expect_failures = [var.ledger]
}

run "ledger_lease_too_short" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { lease_minutes = 4 }
  }
  expect_failures = [var.ledger]
}

run "ledger_lease_too_long" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { lease_minutes = 1441 }
  }
  expect_failures = [var.ledger]
}

run "ledger_wait_for_due_above_an_hour" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { wait_for_due_minutes = 61 }
  }
  expect_failures = [var.ledger]
}

run "ledger_wait_for_due_not_whole" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { wait_for_due_minutes = 2.5 }
  }
  expect_failures = [var.ledger]
}

run "ledger_sweep_schedule_not_an_expression" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { sweep_schedule_expression = "every 10 minutes" }
  }
  expect_failures = [var.ledger]
}

run "ledger_sweep_schedule_empty" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    ledger = { sweep_schedule_expression = "" }
  }
  expect_failures = [var.ledger]
}

################################################################################
# The sweep: runs are disposable
################################################################################

run "sweep_rule_by_default" {
  module {
    source = "./modules/dialer"
  }

  assert {
    condition = (
      length(aws_cloudwatch_event_rule.sweep) == 1 &&
      aws_cloudwatch_event_rule.sweep[0].name == "blaster-dialer-sweep" &&
      aws_cloudwatch_event_rule.sweep[0].schedule_expression == "rate(10 minutes)" &&
      aws_cloudwatch_event_rule.sweep[0].event_pattern == null
    )
    error_message = "By default a rule named <name>-dialer-sweep runs every 10 minutes, on a schedule only."
  }

  assert {
    condition = (
      aws_cloudwatch_event_target.sweep[0].rule == aws_cloudwatch_event_rule.sweep[0].name &&
      aws_cloudwatch_event_target.sweep[0].arn == aws_sfn_state_machine.dialer.arn &&
      aws_cloudwatch_event_target.sweep[0].role_arn == aws_iam_role.sweep[0].arn &&
      jsondecode(aws_cloudwatch_event_target.sweep[0].input) == { source = "schedule" }
    )
    error_message = "The sweep starts the dialer's state machine, with its own role, and input {\"source\":\"schedule\"}."
  }

  assert {
    condition = (
      [for s in data.aws_iam_policy_document.sweep[0].statement : { actions = s.actions, resources = s.resources }] == [
        { actions = toset(["states:StartExecution"]), resources = toset(["arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"]) }
      ] &&
      aws_iam_role_policy.sweep[0].role == aws_iam_role.sweep[0].id
    )
    error_message = "The sweep's role may only start this state machine."
  }

  assert {
    condition     = output.sweep_rule_arn == aws_cloudwatch_event_rule.sweep[0].arn
    error_message = "sweep_rule_arn names the sweep rule."
  }
}

run "sweep_rule_on_another_schedule" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    ledger = { sweep_schedule_expression = "cron(0/15 8-20 ? * MON-FRI *)" }
  }

  assert {
    condition     = aws_cloudwatch_event_rule.sweep[0].schedule_expression == "cron(0/15 8-20 ? * MON-FRI *)"
    error_message = "The sweep follows ledger.sweep_schedule_expression."
  }
}

run "sweep_rule_off" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    ledger = { create_sweep_rule = false }
  }

  assert {
    condition = (
      length(aws_cloudwatch_event_rule.sweep) == 0 &&
      length(aws_cloudwatch_event_target.sweep) == 0 &&
      length(aws_iam_role.sweep) == 0 &&
      length(aws_iam_role_policy.sweep) == 0 &&
      output.sweep_rule_arn == null
    )
    error_message = "ledger.create_sweep_rule = false creates no sweep rule, target or role."
  }
}

################################################################################
# Alarms on runs that did not end well, and the optional alarm topic
################################################################################

run "execution_alarms" {
  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { alarm_actions = ["arn:aws:sns:eu-west-2:123456789012:oncall"] }
  }

  assert {
    condition = {
      for name, alarm in aws_cloudwatch_metric_alarm.executions : name => alarm.metric_name
      } == {
      executions_failed    = "ExecutionsFailed"
      executions_timed_out = "ExecutionsTimedOut"
      executions_aborted   = "ExecutionsAborted"
    }
    error_message = "One alarm per way a run can end badly: ExecutionsFailed, ExecutionsTimedOut, ExecutionsAborted."
  }

  assert {
    condition = alltrue([
      for alarm in values(aws_cloudwatch_metric_alarm.executions) : (
        alarm.namespace == "AWS/States" &&
        alarm.dimensions == tomap({ StateMachineArn = aws_sfn_state_machine.dialer.arn }) &&
        alarm.statistic == "Sum" &&
        alarm.period == 300 &&
        alarm.evaluation_periods == 1 &&
        alarm.threshold == 0 &&
        alarm.comparison_operator == "GreaterThanThreshold" &&
        alarm.treat_missing_data == "notBreaching" &&
        alarm.alarm_actions == toset(["arn:aws:sns:eu-west-2:123456789012:oncall"]) &&
        alarm.ok_actions == toset(["arn:aws:sns:eu-west-2:123456789012:oncall"])
      )
    ])
    error_message = "Each execution alarm fires on one such execution of this state machine in five minutes and notifies the given topics."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.executions["executions_failed"].alarm_name == "blaster-dialer-executions-failed" &&
      output.cloudwatch_metric_alarm_arns["executions_timed_out"] == aws_cloudwatch_metric_alarm.executions["executions_timed_out"].arn &&
      length(output.cloudwatch_metric_alarm_arns) == 8
    )
    error_message = "The execution alarms are named <name>-dialer-executions-* and listed in cloudwatch_metric_alarm_arns with the other five (caller_id_refused, failed_invocations, lease_expiries, contacts_dead_lettered, no_run_started)."
  }

  assert {
    condition     = length(aws_sns_topic.alarms) == 0 && output.alarm_sns_topic_arn == null && length(aws_kms_key.alarm_topic) == 0
    error_message = "No alarm topic unless alarms.create_alarm_topic."
  }
}

run "dead_letters_and_no_run_alarms" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { alarm_actions = ["arn:aws:sns:eu-west-2:123456789012:oncall"] }
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"].namespace == "AWS/SQS" &&
      aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"].metric_name == "ApproximateNumberOfMessagesVisible" &&
      aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"].dimensions["QueueName"] == "blaster-contacts-dlq" &&
      aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"].threshold == 0 &&
      aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"].comparison_operator == "GreaterThanThreshold" &&
      contains(aws_cloudwatch_metric_alarm.queue_not_empty["contacts_dead_lettered"].alarm_actions, "arn:aws:sns:eu-west-2:123456789012:oncall")
    )
    error_message = "One message in the contacts dead-letter queue must alarm."
  }

  assert {
    condition = (
      aws_cloudwatch_metric_alarm.no_run_started[0].alarm_name == "blaster-dialer-no-run-started" &&
      aws_cloudwatch_metric_alarm.no_run_started[0].namespace == "AWS/States" &&
      aws_cloudwatch_metric_alarm.no_run_started[0].metric_name == "ExecutionsStarted" &&
      aws_cloudwatch_metric_alarm.no_run_started[0].dimensions == tomap({ StateMachineArn = aws_sfn_state_machine.dialer.arn }) &&
      aws_cloudwatch_metric_alarm.no_run_started[0].period == 300 &&
      aws_cloudwatch_metric_alarm.no_run_started[0].evaluation_periods == 6 &&
      aws_cloudwatch_metric_alarm.no_run_started[0].datapoints_to_alarm == 6 &&
      aws_cloudwatch_metric_alarm.no_run_started[0].threshold == 1 &&
      aws_cloudwatch_metric_alarm.no_run_started[0].comparison_operator == "LessThanThreshold" &&
      aws_cloudwatch_metric_alarm.no_run_started[0].treat_missing_data == "breaching"
    )
    error_message = "No execution started in 30 minutes (six 5-minute periods, missing data breaching: nothing starts, nothing is reported) must alarm."
  }
}

run "no_run_alarm_without_the_sweep" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    ledger = { create_sweep_rule = false }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.no_run_started) == 0 && !contains(keys(output.cloudwatch_metric_alarm_arns), "no_run_started")
    error_message = "Without the sweep nothing starts runs on a schedule: a missing start is not an alarm."
  }
}

run "no_run_alarm_longer_than_the_sweep" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { no_run_minutes = 60 }
    ledger = { sweep_schedule_expression = "rate(1 hour)" }
  }

  expect_failures = [aws_cloudwatch_metric_alarm.no_run_started]
}

run "no_run_alarm_custom_window" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { no_run_minutes = 90 }
    ledger = { sweep_schedule_expression = "rate(1 hour)" }
  }

  assert {
    condition     = aws_cloudwatch_metric_alarm.no_run_started[0].evaluation_periods == 18
    error_message = "no_run_minutes = 90 is eighteen 5-minute periods."
  }
}

run "no_run_minutes_not_a_multiple_of_five" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { no_run_minutes = 12 }
  }

  expect_failures = [var.alarms]
}

run "alarm_topic_with_its_own_key" {
  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { alarm_actions = ["arn:aws:sns:eu-west-2:123456789012:oncall"], create_alarm_topic = true }
  }

  assert {
    condition = (
      aws_sns_topic.alarms[0].name == "blaster-alarms" &&
      aws_sns_topic.alarms[0].kms_master_key_id == aws_kms_key.alarm_topic[0].arn &&
      aws_kms_key.alarm_topic[0].enable_key_rotation &&
      output.alarm_sns_topic_arn == aws_sns_topic.alarms[0].arn
    )
    error_message = "Without kms_key_arn, the topic <name>-alarms is encrypted with a key created for it (CloudWatch cannot use aws/sns), and alarm_sns_topic_arn names it."
  }

  assert {
    condition = (
      one([for s in data.aws_iam_policy_document.alarm_topic_key[0].statement : s if s.sid == "CloudWatchAlarmsPublish"]).principals == toset([{ type = "Service", identifiers = toset(["cloudwatch.amazonaws.com"]) }]) &&
      one([for s in data.aws_iam_policy_document.alarm_topic[0].statement : s if s.sid == "CloudWatchAlarmsPublish"]).actions == toset(["sns:Publish"]) &&
      aws_sns_topic_policy.alarms[0].arn == aws_sns_topic.alarms[0].arn
    )
    error_message = "CloudWatch may use the topic's key and publish to the topic."
  }

  assert {
    condition = alltrue(concat(
      [for alarm in values(aws_cloudwatch_metric_alarm.executions) : alarm.alarm_actions == toset(["arn:aws:sns:eu-west-2:123456789012:oncall", aws_sns_topic.alarms[0].arn])],
      [aws_cloudwatch_metric_alarm.caller_id_refused[0].alarm_actions == toset(["arn:aws:sns:eu-west-2:123456789012:oncall", aws_sns_topic.alarms[0].arn])],
      [aws_cloudwatch_metric_alarm.queue_not_empty["failed_invocations"].ok_actions == toset(["arn:aws:sns:eu-west-2:123456789012:oncall", aws_sns_topic.alarms[0].arn])],
    ))
    error_message = "Every alarm notifies the given topics and the created one."
  }
}

run "alarm_topic_with_the_given_key" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    alarms      = { create_alarm_topic = true }
  }

  assert {
    condition     = aws_sns_topic.alarms[0].kms_master_key_id == var.kms_key_arn && length(aws_kms_key.alarm_topic) == 0
    error_message = "With kms_key_arn, the alarm topic uses that key and no key is created for it."
  }
}

run "alarms_off_create_no_topic" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    alarms = { create = false, create_alarm_topic = true }
  }

  assert {
    condition     = length(aws_cloudwatch_metric_alarm.executions) == 0 && length(aws_sns_topic.alarms) == 0 && length(aws_kms_key.alarm_topic) == 0
    error_message = "alarms.create = false creates no alarm and no topic."
  }
}

################################################################################
# The root module passes the variables through
################################################################################

run "root_passes_redial_and_ledger" {
  command = plan

  variables {
    dialer_redial = { max_attempts = 2, delay_minutes = { busy = 1 } }
    dialer_ledger = { wait_for_due_minutes = 3, deletion_protection = false, create_sweep_rule = false }
  }

  assert {
    condition = (
      jsondecode(module.dialer[0].lambda_function_environments["dial"].REDIAL_RULES).max_attempts == 2 &&
      jsondecode(module.dialer[0].lambda_function_environments["dial"].REDIAL_RULES).delay_minutes.busy == 1 &&
      jsondecode(module.dialer[0].lambda_function_environments["dial"].REDIAL_RULES).delay_minutes.no_answer == 120 &&
      module.dialer[0].lambda_function_environments["get-contacts"].DUE_WAIT_SECONDS == "180" &&
      output.sweep_rule_arn == null &&
      output.campaign_ledger_table_name == "blaster-campaign-ledger"
    )
    error_message = "dialer_redial and dialer_ledger reach the dialer with the dialer's defaults for what is not given."
  }
}

################################################################################
# The state machine: the ledger feeds the buffer
################################################################################

run "definition_follows_the_ledger" {
  module {
    source = "./modules/dialer"
  }

  assert {
    # After "claimed elsewhere" and "stopped": a run with nothing to dial is released at once.
    condition = [for c in jsondecode(output.state_machine_definition).States["Run Claimed?"].Choices : "${c.Variable} ${jsonencode(c.BooleanEquals)} ${c.Next}"] == [
      "$.claimed false Already Running",
      "$.active false Release Stopped Run",
      "$.idle true Release Finished Run",
    ]
    error_message = "Run Claimed?: claimed = false, then active = false, then idle = true (release without lanes)."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Get Config"].OutputPath == "$.Payload" &&
      !can(jsondecode(output.state_machine_definition).States["Get Config"].ResultSelector)
    )
    error_message = "Get Config passes get-config's whole output (idle included) to Run Claimed?."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Count Contacts"].ResultSelector == {
        "more.$"        = "$.Payload.more"
        "due.$"         = "$.Payload.due"
        "waitSeconds.$" = "$.Payload.waitSeconds"
      } &&
      jsondecode(output.state_machine_definition).States["Recount Contacts"].ResultSelector == {
        "more.$" = "$.Payload.more"
        "due.$"  = "$.Payload.due"
      }
    )
    error_message = "Count Contacts keeps more and adds due and waitSeconds; Recount Contacts keeps more and adds due."
  }

  assert {
    condition = (
      [for c in jsondecode(output.state_machine_definition).States["Contacts In Flight?"].Choices : c.Next] == ["Start Next Wave", "Wait For Stragglers", "Wait For Due Contacts"] &&
      jsondecode(output.state_machine_definition).States["Contacts In Flight?"].Choices[0].Variable == "$.contacts.due" &&
      jsondecode(output.state_machine_definition).States["Contacts In Flight?"].Choices[1].Variable == "$.contacts.more" &&
      jsondecode(output.state_machine_definition).States["Contacts In Flight?"].Choices[2].Variable == "$.contacts.waitSeconds" &&
      jsondecode(output.state_machine_definition).States["Contacts In Flight?"].Choices[2].IsNumeric &&
      jsondecode(output.state_machine_definition).States["Contacts In Flight?"].Default == "Release Finished Run"
    )
    error_message = "Contacts In Flight?: due -> Start Next Wave; more -> Wait For Stragglers; waitSeconds a number -> Wait For Due Contacts; otherwise release."
  }

  assert {
    condition = (
      jsondecode(output.state_machine_definition).States["Wait For Due Contacts"].Type == "Wait" &&
      jsondecode(output.state_machine_definition).States["Wait For Due Contacts"].SecondsPath == "$.contacts.waitSeconds" &&
      jsondecode(output.state_machine_definition).States["Wait For Due Contacts"].Next == "Start Next Wave"
    )
    error_message = "Wait For Due Contacts waits waitSeconds, then starts the next wave of the same run."
  }

  assert {
    condition = (
      toset([for c in jsondecode(output.state_machine_definition).States["Contacts Arrived?"].Choices[0].Or : c.Variable]) == toset(["$.contacts.more", "$.contacts.due"]) &&
      jsondecode(output.state_machine_definition).States["Contacts Arrived?"].Choices[0].Next == "Start Fresh Run"
    )
    error_message = "After the release, contacts in the queue or due in the ledger start a fresh run."
  }
}
