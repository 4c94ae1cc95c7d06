locals {
  create_caller_id        = var.create && var.create_caller_id
  create_dialer           = var.create && var.create_dialer
  create_pinpoint_channel = var.create && var.create_pinpoint_channel && var.create_dialer
  create_contact_flows    = var.create && var.create_contact_flows
  create_results_catalog  = var.create && var.create_dialer && var.create_results_catalog

  create_associations = var.create_connect_lambda_associations && var.connect_instance_id != null

  # cargo lambda writes one directory per architecture (a second build into the same directory
  # would overwrite the first).
  lambda_artifacts_dir = coalesce(var.lambda_artifacts_dir, "${path.module}/dist/${var.lambda_architecture}")

  # The routing file the dialer reads for campaign calls: the caller-id one when it exists
  # here, or an existing bucket given by name.
  dialer_routing_bucket = (
    !var.dialer_uses_routing ? null :
    local.create_caller_id ? module.caller_id[0].bucket_name :
    var.routing_bucket_name
  )
  # Decided from variables only: the bucket name may be unknown until apply (created here),
  # and the dialer may size its policies on whether a key is given.
  dialer_routing_key = var.dialer_uses_routing && (local.create_caller_id || var.routing_bucket_name != null) ? var.routing_object_key : null
}

# Cross-variable checks: a variable's validation may only look at itself before Terraform 1.9.
data "aws_partition" "current" {
  count = var.create ? 1 : 0

  lifecycle {
    precondition {
      condition     = !local.create_dialer || (var.connect_instance_id != null && var.connect_contact_flow_id != null && var.connect_queue_id != null)
      error_message = "create_dialer needs connect_instance_id, connect_contact_flow_id and connect_queue_id (the UUIDs at the end of the instance, flow and queue ARNs)."
    }

    precondition {
      condition     = !(var.create && var.create_pinpoint_channel) || var.create_dialer
      error_message = "create_pinpoint_channel needs create_dialer: the Pinpoint channel queues contacts into the dialer's queue and starts its state machine."
    }

    precondition {
      condition     = !local.create_contact_flows || var.connect_instance_id != null
      error_message = "create_contact_flows needs connect_instance_id: the flows are created in that instance."
    }

    precondition {
      condition     = !(var.create && var.create_outbound_contact_flow) || (local.create_contact_flows && local.create_dialer)
      error_message = "create_outbound_contact_flow needs create_contact_flows and create_dialer: the flow attaches the disposition guide, which invokes the dialer's set-disposition."
    }

    precondition {
      condition     = !(local.create_dialer && var.dialer_uses_routing) || local.create_caller_id || var.routing_bucket_name != null
      error_message = "dialer_uses_routing needs a routing file: create_caller_id = true (its bucket), or routing_bucket_name naming an existing bucket. Set dialer_uses_routing = false to leave campaign calls to the queue's outbound caller ID."
    }

    precondition {
      condition     = !local.create_contact_flows || var.create_caller_id || var.create_dialer
      error_message = "create_contact_flows needs create_caller_id (outbound whisper flow) or create_dialer (disposition agent guide): each flow invokes one of their functions."
    }
  }
}

################################################################################
# Caller ID by destination
################################################################################

module "caller_id" {
  source = "./modules/caller-id"
  count  = local.create_caller_id ? 1 : 0

  name = var.name
  tags = merge(var.tags, var.caller_id_tags)

  lambda_artifacts_dir = local.lambda_artifacts_dir
  architecture         = var.lambda_architecture
  timeout              = var.caller_id_timeout
  # caller-id's own share of the account's concurrency (the reserved_concurrency variable).
  reserved_concurrent_executions = var.reserved_concurrency.caller_id
  log_retention_in_days          = var.log_retention_in_days
  log_level                      = var.lambda_log_level
  kms_key_arn                    = var.kms_key_arn

  create_bucket             = var.create_routing_bucket
  bucket_name               = var.routing_bucket_name
  force_destroy_bucket      = var.force_destroy_buckets
  routing_object_key        = var.routing_object_key
  routing                   = var.routing
  routing_cache_ttl_seconds = var.routing_cache_ttl_seconds
  trust_roots               = var.caller_id_trust_roots

  connect_instance_id = local.create_associations ? var.connect_instance_id : null
}

################################################################################
# Campaign dialer
################################################################################

module "dialer" {
  source = "./modules/dialer"
  count  = local.create_dialer ? 1 : 0

  name                  = var.name
  tags                  = merge(var.tags, var.dialer_tags)
  kms_key_arn           = var.kms_key_arn
  log_retention_in_days = var.log_retention_in_days
  log_level             = var.lambda_log_level

  contact_key_kms_key_arn = var.contact_key_kms_key_arn

  lambda_artifacts_dir = local.lambda_artifacts_dir
  architecture         = var.lambda_architecture
  function_settings    = var.dialer_function_settings

  connect_instance_id     = var.connect_instance_id
  connect_contact_flow_id = var.connect_contact_flow_id
  connect_queue_id        = var.connect_queue_id

  country_code         = var.country_code
  iso_country_code     = var.iso_country_code
  allowed_countries    = var.allowed_destination_countries
  concurrent_calls     = var.concurrent_calls
  max_concurrent_calls = var.max_concurrent_calls

  dial_reserved_concurrency = var.reserved_concurrency.dial
  call_timeout_seconds      = var.call_timeout_seconds
  calls_per_second          = var.calls_per_second
  ssm_prefix                = var.ssm_prefix

  routing_bucket_name       = local.dialer_routing_bucket
  routing_object_key        = local.dialer_routing_key
  routing_cache_ttl_seconds = var.routing_cache_ttl_seconds

  input_bucket_name       = var.dialer_input_bucket_name
  input_bucket_writers    = var.dialer_input_bucket_writers
  results_bucket_name     = var.dialer_results_bucket_name
  input_expiration_days   = var.input_expiration_days
  results_expiration_days = var.results_expiration_days
  start_on_activation     = var.start_on_activation
  alarms                  = var.dialer_alarms
  redial                  = var.dialer_redial
  ledger                  = var.dialer_ledger
  calling_window          = var.dialer_calling_window
  frequency_cap           = var.dialer_frequency_cap

  answering_machine_detection = var.dialer_answering_machine_detection

  queue                         = var.dialer_queue
  history_budget                = var.history_budget
  status_cache_seconds          = var.status_cache_seconds
  state_machine_logging         = var.state_machine_logging
  state_machine_tracing_enabled = var.state_machine_tracing_enabled

  create_connect_lambda_association = local.create_associations
  force_destroy_buckets             = var.force_destroy_buckets
  create_dashboard                  = var.create_dashboard
}

################################################################################
# Results queryable with Athena (the dialer's results bucket)
################################################################################

module "results_catalog" {
  source = "./modules/results-catalog"
  count  = local.create_results_catalog ? 1 : 0

  name                = var.name
  tags                = merge(var.tags, var.dialer_tags)
  results_bucket_name = module.dialer[0].results_bucket_name
  kms_key_arn         = var.kms_key_arn

  database_name                  = var.results_catalog.database_name
  table_name                     = var.results_catalog.table_name
  workgroup_name                 = var.results_catalog.workgroup_name
  query_results_prefix           = var.results_catalog.query_results_prefix
  bytes_scanned_cutoff_per_query = var.results_catalog.bytes_scanned_cutoff_per_query
  force_destroy                  = var.results_catalog.force_destroy
}

################################################################################
# Pinpoint custom channel (end of support 2026-10-30: off by default)
################################################################################

module "pinpoint_channel" {
  source = "./modules/pinpoint-channel"
  count  = local.create_pinpoint_channel ? 1 : 0

  name = var.name
  tags = merge(var.tags, var.pinpoint_channel_tags)

  lambda_artifacts_dir  = local.lambda_artifacts_dir
  architecture          = var.lambda_architecture
  log_retention_in_days = var.log_retention_in_days
  log_level             = var.lambda_log_level
  kms_key_arn           = var.kms_key_arn

  create_app     = var.pinpoint_application_id == null
  application_id = var.pinpoint_application_id

  ledger_table_name = module.dialer[0].campaign_ledger_table_name
  ledger_table_arn  = module.dialer[0].campaign_ledger_table_arn
  results_bucket    = module.dialer[0].results_bucket_name
  state_machine_arn = module.dialer[0].state_machine_arn
  ssm_prefix        = module.dialer[0].ssm_prefix
  allowed_countries = coalesce(var.allowed_destination_countries, [var.iso_country_code])

  contact_key_kms_key_arn = module.dialer[0].contact_key_kms_key_arn
}

################################################################################
# Contact flows
################################################################################

module "contact_flows" {
  source = "./modules/connect-flows"
  count  = local.create_contact_flows ? 1 : 0

  name                = var.name
  tags                = merge(var.tags, var.contact_flows_tags)
  connect_instance_id = var.connect_instance_id

  create_outbound_whisper_flow = local.create_caller_id
  caller_id_function_arn       = try(module.caller_id[0].lambda_function_arn, null)
  # The flow waits as long as the function may run: a longer Lambda timeout than the flow's
  # limit would only let the flow give up on an answer still coming.
  caller_id_time_limit_seconds = var.caller_id_timeout

  create_disposition_flow      = local.create_dialer
  set_disposition_function_arn = try(module.dialer[0].lambda_function_arns["set-disposition"], null)

  # The flow campaign calls can run: attaches the guide (DefaultFlowForAgentUI), then queues.
  create_outbound_contact_flow = var.create_outbound_contact_flow
  connect_queue_id             = var.connect_queue_id

  # A flow that invokes a function not yet associated with the instance is rejected.
  depends_on = [module.caller_id, module.dialer]
}
