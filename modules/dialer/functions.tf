################################################################################
# The dialer functions: one module instance (log group, role, function) each
################################################################################

locals {
  function_defaults = {
    "load-list" = {
      description = "Streams a CSV contact list from the input bucket into the campaign ledger and starts the campaign."
      memory_size = 256
      timeout     = 900
    }
    "get-config" = {
      description = "Reads the dialer parameters, claims the run, feeds due contacts from the ledger to the queue and sizes the lanes of a wave."
      memory_size = 128
      timeout     = 30
    }
    "get-contacts" = {
      description = "Counts the contacts left in the queue and tells whether the ledger holds contacts due now or soon."
      memory_size = 128
      timeout     = 30
    }
    "dial" = {
      description = "Takes the next contact and places its call with StartOutboundVoiceContact, paced and idempotent."
      memory_size = 256
      timeout     = 60
    }
    "process-contact-events" = {
      description = "Records DISCONNECTED contact events and completes the waiting lane."
      memory_size = 128
      timeout     = 30
    }
    "connect-status" = {
      description = "Answers whether the queue is open (and when it opens next) and reconciles calls whose end was not seen."
      memory_size = 128
      timeout     = 30
    }
    "set-disposition" = {
      description = "Records the agent's disposition code against the contact (agent guide flow)."
      memory_size = 128
      timeout     = 8
    }
  }

  function_settings = {
    for binary, d in local.function_defaults : binary => {
      description = d.description
      memory_size = coalesce(try(var.function_settings[binary].memory_size, null), d.memory_size)
      timeout     = coalesce(try(var.function_settings[binary].timeout, null), d.timeout)
    }
  }

  # Invoked by S3 notifications and EventBridge, which do not wait for the result (and load-list
  # by itself: a big file's continuation). The dead-letter queue keeps the events of every
  # asynchronous invocation that failed, a continuation's included.
  asynchronous_functions = ["load-list", "process-contact-events"]

  queue_url             = aws_sqs_queue.contacts.url
  dead_letter_queue_url = aws_sqs_queue.dead_letter.url

  common_environment = {
    SSM_PREFIX = local.ssm_prefix
  }

  # The campaign ledger (ledger.tf): who writes which variable is in docs/architecture.md.
  ledger_environment = {
    LEDGER_TABLE_NAME = local.ledger_table_name
  }
  # outbound_core::ledger::RedialRules reads this JSON: {"max_attempts":..,"delay_minutes":{..},"final_outcomes":[..]}.
  # callback_max_days is set-disposition's alone (CALLBACK_MAX_DAYS), so not part of the rules.
  redial_environment = {
    REDIAL_RULES = jsonencode({
      max_attempts   = var.redial.max_attempts
      delay_minutes  = var.redial.delay_minutes
      final_outcomes = var.redial.final_outcomes
    })
  }
  # outbound_core::calling_window reads this JSON: {"enabled":..,"days":{"MONDAY":[{"start":"08:00","end":"21:00"}],..},"unknown_time_zone":..}.
  # The feeder defers contacts outside their window, and dial checks again just before a call.
  calling_window_environment = {
    CALLING_WINDOW = jsonencode({
      enabled           = var.calling_window.enabled
      days              = var.calling_window.days
      unknown_time_zone = var.calling_window.unknown_time_zone
    })
  }
  # outbound_core::frequency_cap reads this JSON: {"enabled":..,"max_calls":..,"period_hours":..}.
  # The feeder defers capped numbers, and dial records each call (or defers) just before it.
  frequency_cap_environment = {
    FREQUENCY_CAP = jsonencode({
      enabled      = var.frequency_cap.enabled
      max_calls    = var.frequency_cap.max_calls
      period_hours = var.frequency_cap.period_hours
    })
  }
  # The functions that finish attempts: the redial rules decide, final items expire.
  finish_environment = merge(local.ledger_environment, local.redial_environment, {
    FINAL_RETENTION_DAYS = tostring(var.ledger.final_retention_days)
  })

  # Toll-fraud protection: the intake and dial refuse other destinations.
  allowed_countries = join(",", coalesce(var.allowed_countries, [var.iso_country_code]))

  routing_environment = local.routing_enabled ? {
    BUCKET_NAME               = var.routing_bucket_name
    COUNTRY_ROUTING_LIST_KEY  = var.routing_object_key
    ROUTING_CACHE_TTL_SECONDS = tostring(var.routing_cache_ttl_seconds)
  } : {}

  # docs/architecture.md, "Environment variables": exactly what each function reads, listed with
  # example values in functions/<binary>/environment.json (tests/environment.tftest.hcl compares
  # the two in both directions).
  function_environment = {
    # The intake admits contacts to the ledger (validating a file's redial override like the
    # variable); it no longer sends to the queue: get-config's feeder does.
    # The calling rules (window, cap) and the lanes are read for the file's plan; a contact on
    # the do-not-call list is made final at intake, and expires like other final items.
    "load-list" = merge(local.common_environment, local.ledger_environment, local.redial_environment, local.calling_window_environment, local.frequency_cap_environment, {
      FINAL_RETENTION_DAYS    = tostring(var.ledger.final_retention_days)
      MAX_CONCURRENT_CALLS    = tostring(var.max_concurrent_calls)
      ALLOWED_COUNTRIES       = local.allowed_countries
      CONTACT_KEY_KMS_KEY_ARN = local.contact_key_kms_key_arn
      INPUT_BUCKET            = local.input_bucket_name
      RESULTS_BUCKET          = local.results_bucket_name
      STATE_MACHINE_ARN       = local.state_machine_arn
      # A big file goes on in the next invocation (continuation); this is the time kept back
      # from the timeout to finish a segment and hand over: a fifth of it, at most 60 s.
      HANDOVER_MARGIN_SECONDS = tostring(max(1, min(60, floor(local.function_settings["load-list"].timeout / 5))))
    })
    # The feeder: leases due contacts for LEASE_SECONDS and sends them to the queue; it finishes
    # attempts a dead run abandoned (redial rules, final records in the results bucket).
    "get-config" = merge(local.common_environment, local.finish_environment, local.calling_window_environment, local.frequency_cap_environment, {
      TABLE_NAME           = local.table_name
      RESULTS_BUCKET       = local.results_bucket_name
      QUEUE_URL            = local.queue_url
      HISTORY_BUDGET       = tostring(var.history_budget)
      MAX_CONCURRENT_CALLS = tostring(var.max_concurrent_calls)
      LEASE_SECONDS        = tostring(var.ledger.lease_minutes * 60)
    })
    # Counts only: no parameters, no long poll. DUE_WAIT_SECONDS: how far ahead a due contact
    # keeps an idle run waiting.
    "get-contacts" = merge(local.ledger_environment, {
      QUEUE_URL             = local.queue_url
      DEAD_LETTER_QUEUE_URL = local.dead_letter_queue_url
      DUE_WAIT_SECONDS      = tostring(var.ledger.wait_for_due_minutes * 60)
    })
    "dial" = merge(local.common_environment, local.routing_environment, local.finish_environment, local.calling_window_environment, local.frequency_cap_environment, {
      # dial::amd reads the variable as it is; enabled = false: calls go out as before.
      ANSWERING_MACHINE_DETECTION = jsonencode(var.answering_machine_detection)
      ALLOWED_COUNTRIES           = local.allowed_countries
      QUEUE_URL                   = local.queue_url
      TABLE_NAME                  = local.table_name
      RESULTS_BUCKET              = local.results_bucket_name
      RECEIVE_WAIT_SECONDS        = tostring(var.receive_wait_seconds)
      STATUS_CACHE_SECONDS        = tostring(var.status_cache_seconds)
      # The dial that takes a wave's last call starts the next wave, whose lanes take over
      # from this wave's lanes one by one (dial::next_wave, dial::lane_handover).
      STATE_MACHINE_ARN = local.state_machine_arn
    })
    # Everything these two need is in the event and the tables: no parameters. The instance ARN
    # lets process-contact-events ignore events of other instances even if the rule changes.
    "process-contact-events" = merge(local.finish_environment, {
      TABLE_NAME           = local.table_name
      RESULTS_BUCKET       = local.results_bucket_name
      CONNECT_INSTANCE_ARN = local.connect_instance_arn
    })
    "connect-status" = merge(local.common_environment, local.finish_environment, {
      TABLE_NAME     = local.table_name
      RESULTS_BUCKET = local.results_bucket_name
    })
    # Callbacks are scheduled on the contact's ledger item, at most CALLBACK_MAX_DAYS ahead.
    "set-disposition" = merge(local.ledger_environment, {
      TABLE_NAME        = local.table_name
      RESULTS_BUCKET    = local.results_bucket_name
      CALLBACK_MAX_DAYS = tostring(var.redial.callback_max_days)
    })
  }
}

module "function" {
  source   = "../lambda-function"
  for_each = local.function_settings

  function_name = "${var.name}-${each.key}"
  binary_name   = each.key
  description   = each.value.description
  artifacts_dir = var.lambda_artifacts_dir
  architecture  = var.architecture
  memory_size   = each.value.memory_size
  timeout       = each.value.timeout

  environment = local.function_environment[each.key]

  reserved_concurrent_executions = each.key == "dial" ? coalesce(var.dial_reserved_concurrency, var.max_concurrent_calls) : -1

  # The asynchronously invoked functions keep the events they failed on (queue.tf).
  dead_letter_target_arn = contains(local.asynchronous_functions, each.key) ? aws_sqs_queue.failed_invocations.arn : null

  policy_json = data.aws_iam_policy_document.function[each.key].json
  # The documents name resources of this configuration (the routing bucket may be created in
  # the same apply): whether to attach must not wait for their JSON.
  attach_policy_json = true

  log_retention_in_days = var.log_retention_in_days
  log_level             = var.log_level
  kms_key_arn           = var.kms_key_arn
  tracing_mode          = var.state_machine_tracing_enabled ? "Active" : null

  tags = var.tags
}

################################################################################
# Connect: set-disposition is invoked from the agent guide flow
################################################################################

resource "aws_connect_lambda_function_association" "set_disposition" {
  count = var.create_connect_lambda_association ? 1 : 0

  instance_id  = var.connect_instance_id
  function_arn = module.function["set-disposition"].function_arn
}
