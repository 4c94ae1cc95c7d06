# The whole module against moto on loopback: no AWS account, no credentials. The moto
# launcher (local/) must be running at var.moto_endpoint; Amazon Connect is answered by the
# Connect simulator, so every Connect resource is off here (no Lambda association, no flows).

provider "aws" {
  region = var.region

  # moto accepts any key; these never leave the machine.
  access_key = "local-moto"
  secret_key = "local-moto"

  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  s3_use_path_style           = true

  # Every service the module uses, and nothing else: a call to a service missing here would
  # go to AWS and fail for want of real credentials instead of silently leaving the machine.
  endpoints {
    cloudwatch = var.moto_endpoint
    dynamodb   = var.moto_endpoint
    events     = var.moto_endpoint
    iam        = var.moto_endpoint
    kms        = var.moto_endpoint
    lambda     = var.moto_endpoint
    logs       = var.moto_endpoint
    pinpoint   = var.moto_endpoint
    s3         = var.moto_endpoint
    sfn        = var.moto_endpoint
    sqs        = var.moto_endpoint
    ssm        = var.moto_endpoint
    sts        = var.moto_endpoint
  }
}

module "outbound_voice" {
  source = "../../"

  name = var.name

  create_caller_id = true
  create_dialer    = true
  # Exercised locally even though Pinpoint engagement features reached end of support on
  # 2026-10-30: moto answers CreateApp, and queue-contacts can be invoked with a sample batch.
  create_pinpoint_channel = true
  # Amazon Connect has no emulator for these: moto answers 404 to the association.
  create_contact_flows               = false
  create_connect_lambda_associations = false
  # moto's server answers no Athena API (CreateWorkGroup is a 404): the results catalog is left
  # out here; its saved queries run with DuckDB over sample records in tests/operations. The
  # dashboard and its metric filters are created (moto answers PutDashboard and
  # PutMetricFilter with dimensions).
  create_results_catalog = false

  # The Connect simulator accepts these ids (any id, unless started with --instance-id).
  connect_instance_id     = var.connect_instance_id
  connect_contact_flow_id = var.connect_contact_flow_id
  connect_queue_id        = var.connect_queue_id

  routing            = var.routing
  routing_object_key = "routing.json"

  country_code     = "44"
  iso_country_code = "GB"
  # The sample list and the tests call the UK, the US, Canada and Australia.
  allowed_destination_countries = ["GB", "US", "CA", "AU"]

  # Short timings for a demo whose simulated calls last seconds, not minutes.
  concurrent_calls     = var.concurrent_calls
  max_concurrent_calls = 10
  call_timeout_seconds = var.call_timeout_seconds
  calls_per_second     = var.calls_per_second
  history_budget       = 2000
  # The simulator's schedule is edited while a campaign runs (tests close the queue for 30 s);
  # a one-second cache sees the edit within a second, as an operator would want in a demo.
  status_cache_seconds = 1

  dialer_queue = {
    message_retention_seconds  = 3600
    visibility_timeout_seconds = var.queue_visibility_timeout_seconds
    max_receive_count          = 10
  }
  dialer_function_settings = {
    dial        = { timeout = var.dial_timeout_seconds }
    "load-list" = { timeout = var.load_list_timeout_seconds }
  }

  # A busy, unanswered or failed call is dialed again a minute later (var.redial), so a demo
  # sees a redial; a run whose lanes found nothing waits up to 3 minutes for such redials
  # instead of ending.
  dialer_redial = var.redial
  # The rule is on, its window all day unless a demo or test narrows it (var.calling_window).
  dialer_calling_window = var.calling_window
  dialer_frequency_cap  = var.frequency_cap
  # Off unless a test turns it on: the simulator checks the request as Connect documents it.
  dialer_answering_machine_detection = var.answering_machine_detection
  # The demo is torn down with its ledger.
  dialer_ledger = {
    deletion_protection  = false
    wait_for_due_minutes = 3
  }

  state_machine_logging = {
    level                  = "ALL"
    include_execution_data = true # local, fictional numbers only
  }

  lambda_artifacts_dir  = var.lambda_artifacts_dir
  lambda_architecture   = "x86_64"
  log_retention_in_days = 1

  # A demo is torn down with everything in it.
  force_destroy_buckets = true

  tags = {
    Project     = "outbound-voice"
    Environment = "local"
  }
}
