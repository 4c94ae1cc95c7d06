################################################################################
# General
################################################################################

variable "create" {
  description = "Whether to create anything at all. False plans no resource (useful to switch a deployment off in one place)."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the deployment. Prefixes every resource name (`<name>-dial`, `<name>-caller-id`, ...) and the default SSM prefix `/connect/blaster/<name>/`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,26}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 28 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen: it prefixes function, role, queue, table and bucket names, which have length and character limits."
  }
}

variable "tags" {
  description = "Tags for every resource. Merged with the per-component maps (`caller_id_tags`, `dialer_tags`, ...)."
  type        = map(string)
  default     = {}
}

variable "create_caller_id" {
  description = "Whether to create caller ID by destination: the `caller-id` function, its routing file (optional) and its Connect association."
  type        = bool
  default     = true
}

variable "create_dialer" {
  description = "Whether to create the campaign dialer: state machine, SQS queue and DLQ, DynamoDB table, SSM parameters, EventBridge rule, input and results buckets and the dialer functions."
  type        = bool
  default     = true
}

variable "create_pinpoint_channel" {
  description = "Whether to create the Amazon Pinpoint custom channel (`queue-contacts` and its invoke permission). Off by default: Amazon Pinpoint engagement features (campaigns, segments, custom channels) reached end of support on 2026-10-30; CSV upload is the primary intake. Needs `create_dialer`."
  type        = bool
  default     = false
}

variable "create_contact_flows" {
  description = "Whether to create the contact flows from `sample-files/`: the outbound whisper flow (needs `create_caller_id`) and the disposition agent guide (needs `create_dialer`)."
  type        = bool
  default     = false
}

variable "create_outbound_contact_flow" {
  description = "Whether to also create the contact flow campaign calls run (needs `create_contact_flows` and `create_dialer`): it sets `DefaultFlowForAgentUI` to the disposition guide, sets `connect_queue_id` as the working queue and transfers the call to it. Use its id (`outbound_contact_flow_id` output) as `connect_contact_flow_id` so that agents get the guide."
  type        = bool
  default     = false

  validation {
    condition     = var.create_outbound_contact_flow != null
    error_message = "create_outbound_contact_flow must be true or false."
  }
}

variable "create_connect_lambda_associations" {
  description = "Whether to associate `caller-id` and `set-disposition` with the Connect instance (so flows can invoke them). Turn off where the instance is not reachable, e.g. against a local emulator."
  type        = bool
  default     = true
}

variable "create_dashboard" {
  description = "Whether to create the dialer's CloudWatch dashboard `<name>-dialer` (calls placed, answered and failed, lanes against `max_concurrent_calls`, contacts fed and waiting, dead letters, runs, function errors, throttles and durations; needs `create_dialer`) and the log metric filters its campaign figures come from."
  type        = bool
  default     = true
  nullable    = false
}

variable "create_results_catalog" {
  description = "Whether to make the dialer's results queryable with Athena (needs `create_dialer`): a Glue database and table over the results bucket's records (partition projection on the campaign: no crawler), an Athena workgroup with encrypted, enforced query results and saved queries (`results_catalog`)."
  type        = bool
  default     = true
  nullable    = false
}

variable "results_catalog" {
  description = "The results catalog (`create_results_catalog`; checked in `modules/results-catalog`): `database_name` (null: `<name>_outbound`, `-` read as `_`), `table_name`, `workgroup_name` (null: `<name>-results`), `query_results_prefix` in the results bucket where the workgroup writes query results (not under `results/`), `bytes_scanned_cutoff_per_query` (at least 10 MB; null: no limit), and `force_destroy` (whether a destroy may delete the workgroup with its saved queries and history)."
  type = object({
    database_name                  = optional(string)
    table_name                     = optional(string, "results")
    workgroup_name                 = optional(string)
    query_results_prefix           = optional(string, "athena-query-results/")
    bytes_scanned_cutoff_per_query = optional(number, 10737418240)
    force_destroy                  = optional(bool, false)
  })
  default  = {}
  nullable = false
}

################################################################################
# Amazon Connect
################################################################################

variable "connect_instance_id" {
  description = "Amazon Connect instance id (the UUID at the end of the instance ARN). Needed by the dialer, the Lambda associations and the contact flows."
  type        = string
  default     = null

  validation {
    condition     = var.connect_instance_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_instance_id))
    error_message = "connect_instance_id must be an Amazon Connect instance id: a lower-case UUID such as 11111111-2222-3333-4444-555555555555 (the part after \"instance/\" in the instance ARN), not the ARN or the instance alias."
  }
}

variable "connect_contact_flow_id" {
  description = "Id of the contact flow that campaign calls run when the customer answers (`contactflow` parameter)."
  type        = string
  default     = null

  validation {
    condition     = var.connect_contact_flow_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_contact_flow_id))
    error_message = "connect_contact_flow_id must be a contact flow id: a lower-case UUID (the part after \"contact-flow/\" in the flow ARN), not the ARN or the flow name."
  }
}

variable "connect_queue_id" {
  description = "Id of the queue campaign calls are placed for (`queue` parameter): its outbound caller ID, status and hours of operation apply."
  type        = string
  default     = null

  validation {
    condition     = var.connect_queue_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_queue_id))
    error_message = "connect_queue_id must be a queue id: a lower-case UUID (the part after \"queue/\" in the queue ARN), not the ARN or the queue name."
  }
}

################################################################################
# Lambda functions
################################################################################

variable "lambda_artifacts_dir" {
  description = "Directory holding `<binary>/bootstrap.zip` for every function, as `make build` writes it. Null means `<module>/dist/<lambda_architecture>`, which is right when the module is used from a clone where `make build` ran."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Instruction set of every function: `x86_64` or `arm64` (Graviton; build with `make build ARCH=arm64`)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key for the log groups, Lambda environment variables, S3 buckets and objects, SQS queues and the DynamoDB table. Not covered: the SSM parameters (plain `String`, no personal data) and the state machine's execution history (Step Functions' own encryption). Null uses AWS managed encryption. The key policy must let CloudWatch Logs and EventBridge (the contact-event dead-letter queue) use it; S3 notifications to Lambda need no KMS grant."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>); aliases are not accepted by CloudWatch Logs."
  }
}

variable "contact_key_kms_key_arn" {
  description = "ARN of a KMS HMAC key (key spec `HMAC_256`, usage `GENERATE_VERIFY_MAC`) that contact keys are derived from: contact keys name contacts in records, keys and logs without giving their numbers back. Null creates one in the dialer. Changing it renames every contact (a re-uploaded list is then dialed again)."
  type        = string
  default     = null

  validation {
    condition     = var.contact_key_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.contact_key_kms_key_arn))
    error_message = "contact_key_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): IAM grants kms:GenerateMac on the key, and an alias could be pointed at another key."
  }
}

variable "log_retention_in_days" {
  description = "Retention in days of every log group (functions, state machine). A value CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, ...); 0 keeps logs forever."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "lambda_log_level" {
  description = "Application log level of every function (Lambda's `application_log_level`, JSON logs): TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.lambda_log_level)
    error_message = "lambda_log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (upper case)."
  }
}

################################################################################
# Caller ID by destination
################################################################################

variable "routing" {
  description = "Routing file to write for `caller-id` (and `dial`): keys ISO 3166-1 alpha-2 codes, `Default` or E.164 prefixes (`+4420`); values an E.164 number or a list of them. Null leaves the object to you (upload it to `routing_object_key` yourself). `any` because values mix strings and lists; the caller-id module validates the shape."
  type        = any
  default     = null
}

variable "create_routing_bucket" {
  description = "Whether to create the bucket for the routing file. When false, `routing_bucket_name` names an existing bucket."
  type        = bool
  default     = true
}

variable "routing_bucket_name" {
  description = "Existing bucket holding the routing file (with `create_routing_bucket = false`), or the exact name of the bucket to create (null: a unique name from `name`)."
  type        = string
  default     = null
}

variable "routing_object_key" {
  description = "Key of the routing file in its bucket (`COUNTRY_ROUTING_LIST_KEY`)."
  type        = string
  default     = "routing.json"

  validation {
    condition     = length(var.routing_object_key) <= 1024 && can(regex("^[^/*?][^*?]*$", var.routing_object_key))
    error_message = "routing_object_key must be a non-empty S3 key of at most 1024 characters, without a leading \"/\" and without \"*\" or \"?\" (they would be IAM wildcards in the functions' read grants)."
  }
}

variable "routing_cache_ttl_seconds" {
  description = "How long `caller-id` and `dial` answer from their cached routing file before revalidating it with a conditional GET (`ROUTING_CACHE_TTL_SECONDS`)."
  type        = number
  default     = 60
}

variable "dialer_uses_routing" {
  description = "Whether campaign calls take their caller ID (`SourcePhoneNumber`) from the same routing file as the whisper flow. False leaves it to the queue's outbound caller ID."
  type        = bool
  default     = true
}

variable "caller_id_trust_roots" {
  description = "Root certificates `caller-id` trusts for its S3 requests: `amazon` (the default), the roots of Amazon Trust Services carried in the binary (AWS's service endpoints use them; nothing to read at start-up); `system`, the runtime's trust store, read on the first request (3 ms of a cold start measured, more on a slow disk), for endpoints served with another authority such as a TLS-inspecting proxy."
  type        = string
  default     = "amazon"

  validation {
    condition     = contains(["amazon", "system"], var.caller_id_trust_roots)
    error_message = "caller_id_trust_roots must be \"amazon\" or \"system\"."
  }
}

variable "caller_id_timeout" {
  description = "Timeout of the `caller-id` function in seconds, and the outbound whisper flow's time limit for it (1 to 8: a flow waits at most 8 s for a Lambda function)."
  type        = number
  default     = 3

  validation {
    condition     = var.caller_id_timeout >= 1 && var.caller_id_timeout <= 8 && floor(var.caller_id_timeout) == var.caller_id_timeout
    error_message = "caller_id_timeout must be a whole number of seconds from 1 to 8 (Amazon Connect's limit for a Lambda function invoked from a flow)."
  }
}

variable "reserved_concurrency" {
  description = <<-EOT
    Reserved concurrency (a guaranteed share of the account's Lambda concurrency, which is also the function's cap):
    - `caller_id` (default 20): every outbound call's whisper flow waits for caller-id; a throttled invocation shows the customer the queue's number. 20 concurrent invocations of a few milliseconds each serve thousands of calls per second. -1: no reservation.
    - `dial` (default null: `max_concurrent_calls`, one per lane): lanes waiting in the rate limiter at a wave's start then draw on dial's own pool, never on the account's unreserved concurrency that caller-id and every other function share. -1: no reservation.
    The account must keep 100 unreserved: with the defaults, 20 + `max_concurrent_calls` must fit under the account's concurrency quota minus 100.
  EOT
  type = object({
    caller_id = optional(number, 20)
    dial      = optional(number)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.reserved_concurrency.caller_id == -1 || (var.reserved_concurrency.caller_id >= 1 && floor(var.reserved_concurrency.caller_id) == var.reserved_concurrency.caller_id)
    error_message = "reserved_concurrency.caller_id must be -1 (no reservation) or a whole number of at least 1."
  }

  validation {
    condition     = var.reserved_concurrency.dial == null || try(var.reserved_concurrency.dial == -1 || (var.reserved_concurrency.dial >= var.max_concurrent_calls && floor(var.reserved_concurrency.dial) == var.reserved_concurrency.dial), false)
    error_message = "reserved_concurrency.dial must be null (max_concurrent_calls), -1 (no reservation) or a whole number of at least max_concurrent_calls: fewer would throttle lanes."
  }
}

variable "caller_id_tags" {
  description = "Tags for the caller ID resources, merged over `tags`."
  type        = map(string)
  default     = {}
}

################################################################################
# Campaign dialer
################################################################################

variable "country_code" {
  description = "Numeric calling code of the default region, without `+` (`countrycode` parameter): numbers in a list without a `+` are read in this region."
  type        = string
  default     = "44"

  validation {
    condition     = can(regex("^[1-9][0-9]{0,2}$", var.country_code))
    error_message = "country_code must be a calling code of 1 to 3 digits without \"+\", for example \"44\" or \"1\"."
  }
}

variable "allowed_destination_countries" {
  description = "Destination countries campaign calls may go to (ISO 3166-1 alpha-2). Rows and Pinpoint endpoints for other countries are rejected with the reason, and premium-rate, shared-cost, personal and non-geographic numbers are never dialed, so whoever can write a contact list cannot run up call charges abroad. Null: only `iso_country_code`."
  type        = list(string)
  default     = null

  validation {
    condition     = length(coalesce(var.allowed_destination_countries, ["GB"])) > 0 && alltrue([for c in coalesce(var.allowed_destination_countries, ["GB"]) : can(regex("^[A-Z]{2}$", c))])
    error_message = "allowed_destination_countries must be null or a non-empty list of upper-case ISO 3166-1 alpha-2 codes, such as [\"GB\", \"IE\"]."
  }
}

variable "iso_country_code" {
  description = "ISO 3166-1 alpha-2 code of the default region (`isocountrycode` parameter), for example `GB`."
  type        = string
  default     = "GB"

  validation {
    condition     = can(regex("^[A-Z]{2}$", var.iso_country_code))
    error_message = "iso_country_code must be an upper-case ISO 3166-1 alpha-2 code such as \"GB\" or \"US\"."
  }
}

variable "concurrent_calls" {
  description = "Dialing lanes per wave (`concurrentcalls` parameter, operators may change it at run time up to `max_concurrent_calls`). One call in progress per lane: match it to the agents (or the instance's concurrent call quota)."
  type        = number
  default     = 1

  validation {
    condition     = var.concurrent_calls >= 1 && floor(var.concurrent_calls) == var.concurrent_calls
    error_message = "concurrent_calls must be a whole number, 1 or more."
  }
}

variable "max_concurrent_calls" {
  description = "Upper bound on `concurrent_calls` that the state machine is built for. Above 40 the lanes run in a Distributed Map."
  type        = number
  default     = 40

  validation {
    condition     = var.max_concurrent_calls >= 1 && var.max_concurrent_calls <= 1000 && floor(var.max_concurrent_calls) == var.max_concurrent_calls
    error_message = "max_concurrent_calls must be a whole number from 1 to 1000: the lane list and the lanes' results travel through Step Functions states, whose input and output are capped at 256 KiB."
  }
}

variable "call_timeout_seconds" {
  description = "How long a lane waits for a call to end before asking Connect what happened (`timeOut` parameter). Longer than the expected call, agent time included."
  type        = number
  default     = 900

  validation {
    condition     = var.call_timeout_seconds >= 10 && var.call_timeout_seconds <= 86400 && floor(var.call_timeout_seconds) == var.call_timeout_seconds
    error_message = "call_timeout_seconds must be a whole number of seconds from 10 to 86400."
  }
}

variable "calls_per_second" {
  description = "Rate limit of `StartOutboundVoiceContact` shared by all lanes (`callspersecond` parameter). Amazon Connect's default quota is 2 per second per account: stay under it."
  type        = number
  default     = 1

  validation {
    condition     = var.calls_per_second > 0 && var.calls_per_second <= 100
    error_message = "calls_per_second must be a number above 0 and at most 100 (Connect's default quota is 2)."
  }
}

variable "ssm_prefix" {
  description = "Prefix of the dialer's SSM parameters, starting and ending with `/`. Null means `/connect/blaster/<name>/`."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_prefix == null || can(regex("^/([A-Za-z0-9_.-]+/)+$", var.ssm_prefix))
    error_message = "ssm_prefix must start and end with \"/\" and contain only letters, digits, \"_\", \".\", \"-\" between the slashes, for example \"/connect/blaster/spring/\"."
  }
}

variable "dialer_function_settings" {
  description = "Memory (MB) and timeout (seconds) per dialer function, keyed by binary name (`dial`, `load-list`, ...). Functions not listed keep the dialer's defaults."
  type = map(object({
    memory_size = optional(number)
    timeout     = optional(number)
  }))
  default = {}
}

variable "dialer_queue" {
  description = "Contact queue settings: how long contacts wait (`message_retention_seconds`), how long a received contact stays invisible (`visibility_timeout_seconds`, longer than the dial function's timeout) and after how many receives it goes to the dead-letter queue. Unset attributes keep the dialer's defaults."
  type = object({
    message_retention_seconds  = optional(number)
    visibility_timeout_seconds = optional(number)
    max_receive_count          = optional(number)
  })
  default = {}
}

variable "status_cache_seconds" {
  description = "How long a warm dial function reuses the queue's status and hours of operation before asking Connect again. Scheduled closings are seen at once (the hours are evaluated at every call); an edit to the queue or its hours is seen within this time."
  type        = number
  default     = 30

  validation {
    condition     = var.status_cache_seconds >= 0 && var.status_cache_seconds <= 3600 && floor(var.status_cache_seconds) == var.status_cache_seconds
    error_message = "status_cache_seconds must be a whole number of seconds from 0 (always ask Connect) to 3600."
  }
}

variable "history_budget" {
  description = "Events one state machine execution may spend before the controller starts a new wave (`HISTORY_BUDGET`); keeps every execution far from the 25,000-event limit."
  type        = number
  default     = 8000

  validation {
    condition     = var.history_budget >= 500 && var.history_budget <= 20000 && floor(var.history_budget) == var.history_budget
    error_message = "history_budget must be a whole number from 500 to 20000 (an execution's history is capped at 25,000 events)."
  }
}

variable "state_machine_logging" {
  description = "Logging of the state machine: `level` (ALL, ERROR, FATAL or OFF) and whether execution data is logged. Execution data holds contact data and the live task tokens of waiting calls (anyone who can read the log could complete a lane's task): keep `include_execution_data` false outside debugging."
  type = object({
    level                  = optional(string, "ERROR")
    include_execution_data = optional(bool, false)
  })
  default = {}

  validation {
    condition     = contains(["ALL", "ERROR", "FATAL", "OFF"], var.state_machine_logging.level)
    error_message = "state_machine_logging.level must be one of ALL, ERROR, FATAL, OFF."
  }
}

variable "state_machine_tracing_enabled" {
  description = "Whether X-Ray tracing is on for the state machine."
  type        = bool
  default     = false
}

variable "start_on_activation" {
  description = "Whether setting the `activeBlaster` parameter back to `True` starts the state machine again (resume after a stop)."
  type        = bool
  default     = true
}

variable "dialer_alarms" {
  description = "The dialer's CloudWatch alarms: `caller_id_refused` fires when Connect refuses a routed caller ID and calls go out with the queue's own number (fix the routing file); `failed_invocations` fires when a CSV upload or a contact event failed after Lambda's retries (its event is kept in the failed-invocations queue); `executions_failed`, `executions_timed_out` and `executions_aborted` fire when a run of the state machine failed, timed out or was stopped by hand; `lease_expiries` when fed contacts came back unanswered in each of three hours; `contacts_dead_lettered` when a contact message failed dial `max_receive_count` times; `no_run_started` (with the sweep) when no execution started for `no_run_minutes` (default 30, longer than the sweep's interval): contacts due in the ledger have no run. `alarm_actions`: SNS topic ARNs to notify. `create_alarm_topic`: also create an encrypted SNS topic `<name>-alarms` they notify (output `alarm_sns_topic_arn`), under `kms_key_arn` (whose key policy must then let `cloudwatch.amazonaws.com` use it) or a key created for it."
  type = object({
    create             = optional(bool, true)
    alarm_actions      = optional(list(string), [])
    create_alarm_topic = optional(bool, false)
    no_run_minutes     = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.dialer_alarms.no_run_minutes >= 10 && var.dialer_alarms.no_run_minutes <= 1440 && var.dialer_alarms.no_run_minutes % 5 == 0
    error_message = "dialer_alarms.no_run_minutes must be a multiple of 5 from 10 to 1440 (the alarm counts 5-minute periods without a started execution)."
  }

  validation {
    condition     = alltrue([for arn in var.dialer_alarms.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", arn))])
    error_message = "dialer_alarms.alarm_actions must be SNS topic ARNs (arn:aws:sns:<region>:<account>:<topic>)."
  }
}

variable "dialer_redial" {
  description = "Redial rules of the campaign ledger (the dialer's `redial`; checked there). After an attempt with outcome `o` (`connected`, `no_answer`, `busy`, `failed`, `timeout`, `error`, `invalid_number`: final by default, `voicemail`: with answering machine detection on, `abandoned`: answered and hung up in the queue): `o` in `final_outcomes` ends the contact; otherwise it is dialed again `delay_minutes[o]` later (1 to 43200), until `max_attempts` attempts (1 to 10) were made. A CSV may override any subset of these with its `x-amz-meta-redial` object metadata (a JSON object of this shape). `callback_max_days` (1 to 365, default 30): how far ahead an agent's callback may be."
  type = object({
    max_attempts = optional(number, 3)
    delay_minutes = optional(object({
      connected = optional(number, 60)
      no_answer = optional(number, 120)
      busy      = optional(number, 10)
      failed    = optional(number, 30)
      timeout   = optional(number, 30)
      error     = optional(number, 60)
      # A changed number stays invalid: final by default, this delay applies only when
      # invalid_number is left out of final_outcomes.
      invalid_number = optional(number, 1440)
      # With answering machine detection on: 4 hours later, another time of the day.
      voicemail = optional(number, 240)
      # Answered, hung up in the queue before an agent: 3 days later (Ofcom allows a
      # repeat call within 72 hours only with a live agent guaranteed).
      abandoned = optional(number, 4320)
    }), {})
    final_outcomes    = optional(list(string), ["connected", "timeout", "error", "invalid_number"])
    callback_max_days = optional(number, 30)
  })
  default  = {}
  nullable = false
}

variable "dialer_calling_window" {
  description = "Recipient-local calling window (the dialer's `calling_window`; checked there): contacts are called only while it is open on the recipient's wall clock, in every time zone of the number (or the CSV's `timezone` column), and deferred to its next opening otherwise. `days`: ranges per weekday (`MONDAY` to `SUNDAY`, `HH:MM`, end may be `24:00`; a day left out has no calls), default 08:00-21:00 every day; `unknown_time_zone`: the zone of numbers without a known one (null: the queue's hours alone); `enabled = false` turns it off."
  type = object({
    enabled = optional(bool, true)
    days = optional(map(list(object({
      start = string
      end   = string
      }))), {
      MONDAY    = [{ start = "08:00", end = "21:00" }]
      TUESDAY   = [{ start = "08:00", end = "21:00" }]
      WEDNESDAY = [{ start = "08:00", end = "21:00" }]
      THURSDAY  = [{ start = "08:00", end = "21:00" }]
      FRIDAY    = [{ start = "08:00", end = "21:00" }]
      SATURDAY  = [{ start = "08:00", end = "21:00" }]
      SUNDAY    = [{ start = "08:00", end = "21:00" }]
    })
    unknown_time_zone = optional(string)
  })
  default  = {}
  nullable = false
}

variable "dialer_frequency_cap" {
  description = "Calls per number across every campaign (the dialer's `frequency_cap`; checked there): at most `max_calls` (1 to 100) calls to one number per rolling `period_hours` (1 to 744); a number at its cap waits until a call leaves the period. Off unless `enabled = true`."
  type = object({
    enabled      = optional(bool, false)
    max_calls    = optional(number, 3)
    period_hours = optional(number, 24)
  })
  default  = {}
  nullable = false
}

variable "dialer_answering_machine_detection" {
  description = "Answering machine detection for the dialer's calls (the dialer's `answering_machine_detection`; checked there), off by default. `enabled`: calls are placed with Connect's answering machine detection and campaign traffic (`TrafficType = CAMPAIGN`); needs Connect outbound campaigns on the instance and the campaign-calls service quota (README, \"Answering machine detection\"). A voicemail then ends the attempt with the outcome `voicemail`. `await_answer_machine_prompt`: wait for the greeting's beep before the flow runs (a leave-message flow). `campaign_id`: the outbound campaign's id, sent as `CampaignId` when given."
  type = object({
    enabled                     = optional(bool, false)
    await_answer_machine_prompt = optional(bool, false)
    campaign_id                 = optional(string)
  })
  default  = {}
  nullable = false
}

variable "dialer_ledger" {
  description = "The campaign ledger (the dialer's `ledger`; checked there): `final_retention_days` a finished contact is kept as the duplicate filter (0 to 3650, 0: for ever); `lease_minutes` a contact fed to the queue stays reserved for its run (5 to 1440); `wait_for_due_minutes` a run with nothing left to dial waits for redials due that soon instead of ending (0 to 60); `create_sweep_rule` and `sweep_schedule_expression` (`rate(...)` or `cron(...)`) start a run on a schedule while contacts are due; `deletion_protection` of the table."
  type = object({
    final_retention_days      = optional(number, 90)
    lease_minutes             = optional(number, 60)
    wait_for_due_minutes      = optional(number, 5)
    create_sweep_rule         = optional(bool, true)
    sweep_schedule_expression = optional(string, "rate(10 minutes)")
    deletion_protection       = optional(bool, true)
  })
  default  = {}
  nullable = false
}

variable "dialer_input_bucket_name" {
  description = "Name of the input bucket (CSV uploads). Null: `<name>-input-<account>-<region>`."
  type        = string
  default     = null
}

variable "dialer_input_bucket_writers" {
  description = "IAM principals (role or user ARNs, `*` wildcards allowed) that may upload contact lists to the dialer's input bucket; the bucket policy denies uploads to every other principal. Every upload places calls: name your upload pipeline's role. Empty: any principal of the account with an IAM grant may upload."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "dialer_results_bucket_name" {
  description = "Name of the results bucket (JSON Lines results and rejects). Null: `<name>-results-<account>-<region>`."
  type        = string
  default     = null
}

variable "input_expiration_days" {
  description = "Days after which uploaded contact lists (personal data) are deleted from the input bucket. Null keeps them."
  type        = number
  default     = 30
}

variable "results_expiration_days" {
  description = "Days after which results and rejects are deleted from the results bucket. Null keeps them."
  type        = number
  default     = null
}

variable "force_destroy_buckets" {
  description = "Whether `terraform destroy` may delete buckets that still hold objects (input lists, results, routing file). Keep false in production."
  type        = bool
  default     = false
}

variable "dialer_tags" {
  description = "Tags for the dialer resources, merged over `tags`."
  type        = map(string)
  default     = {}
}

################################################################################
# Pinpoint custom channel
################################################################################

variable "pinpoint_application_id" {
  description = "Existing Pinpoint application (project) id whose campaigns may invoke `queue-contacts`. Null creates an application named `<name>`."
  type        = string
  default     = null

  validation {
    condition     = var.pinpoint_application_id == null || can(regex("^[0-9a-f]{32}$", var.pinpoint_application_id))
    error_message = "pinpoint_application_id must be null or a Pinpoint application id: 32 lower-case hexadecimal characters."
  }
}

variable "pinpoint_channel_tags" {
  description = "Tags for the Pinpoint channel resources, merged over `tags`."
  type        = map(string)
  default     = {}
}

################################################################################
# Contact flows
################################################################################

variable "contact_flows_tags" {
  description = "Tags for the contact flows, merged over `tags`."
  type        = map(string)
  default     = {}
}
