################################################################################
# Naming, tags, encryption, logs
################################################################################

variable "name" {
  description = "Name of the deployment: prefixes every resource (`<name>-dial`, `<name>-dialer`, `<name>-contacts`, `<name>-activedialing`, ...) and the default SSM prefix `/connect/blaster/<name>/`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,26}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 28 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen: it prefixes function, role, queue, table and bucket names, which have length and character limits."
  }
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key for the buckets, queues, table, log groups and function environments. Null uses AWS managed keys (buckets: `aws/s3`; table: `aws/dynamodb`) or service-owned encryption (queues: SSE-SQS; logs). The key policy must let CloudWatch Logs and EventBridge (contact-event dead-letter queue) use the key; S3 notifications to Lambda need no KMS grant."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias ARN is not accepted by CloudWatch Logs."
  }
}

variable "contact_key_kms_key_arn" {
  description = "ARN of a KMS HMAC key (key spec `HMAC_256`, usage `GENERATE_VERIFY_MAC`) that contact keys are derived from. Null creates one. Give the same key to every deployment that must name a contact the same way; changing it renames every contact."
  type        = string
  default     = null

  validation {
    condition     = var.contact_key_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.contact_key_kms_key_arn))
    error_message = "contact_key_kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>): IAM grants kms:GenerateMac on the key, and an alias could be pointed at another key."
  }
}

variable "log_retention_in_days" {
  description = "Retention of the functions' and the state machine's log groups, in days (a value CloudWatch Logs accepts; 0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_level" {
  description = "Application log level of the dialer functions: TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (upper case)."
  }
}

################################################################################
# Functions
################################################################################

variable "lambda_artifacts_dir" {
  description = "Directory holding `<binary>/bootstrap.zip` for every dialer function (`make build` writes `dist/<architecture>/`)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the functions: `x86_64` or `arm64` (must match the zips in `lambda_artifacts_dir`)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "function_settings" {
  description = "Memory (MB) and timeout (seconds) per dialer function, keyed by binary name: `load-list`, `get-config`, `get-contacts`, `dial`, `process-contact-events`, `connect-status`, `set-disposition`. Unset values keep the defaults listed in the README."
  type = map(object({
    memory_size = optional(number)
    timeout     = optional(number)
  }))
  default = {}

  validation {
    condition     = alltrue([for k in keys(var.function_settings) : contains(["load-list", "get-config", "get-contacts", "dial", "process-contact-events", "connect-status", "set-disposition"], k)])
    error_message = "function_settings keys must be dialer binary names: load-list, get-config, get-contacts, dial, process-contact-events, connect-status, set-disposition."
  }

  validation {
    condition     = alltrue([for s in values(var.function_settings) : s.memory_size == null || try(s.memory_size >= 128 && s.memory_size <= 10240 && floor(s.memory_size) == s.memory_size, false)])
    error_message = "function_settings memory_size must be a whole number of MB from 128 to 10240."
  }

  validation {
    condition     = alltrue([for s in values(var.function_settings) : s.timeout == null || try(s.timeout >= 1 && s.timeout <= 900 && floor(s.timeout) == s.timeout, false)])
    error_message = "function_settings timeout must be a whole number of seconds from 1 to 900."
  }

  validation {
    condition     = try(var.function_settings["set-disposition"].timeout, null) == null || try(var.function_settings["set-disposition"].timeout <= 8, false)
    error_message = "function_settings[\"set-disposition\"].timeout must be at most 8 seconds: a contact flow waits at most 8 seconds for a Lambda function."
  }
}

################################################################################
# Amazon Connect and dialing behaviour (SSM parameters)
################################################################################

variable "connect_instance_id" {
  description = "Id of the Amazon Connect instance (the UUID after `instance/` in its ARN): `connectid` parameter, IAM scope, EventBridge rule scope."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_instance_id))
    error_message = "connect_instance_id must be the instance UUID (for example 11111111-2222-3333-4444-555555555555), not its ARN or alias."
  }
}

variable "connect_contact_flow_id" {
  description = "Id of the contact flow outbound calls run (`contactflow` parameter), the UUID after `contact-flow/` in its ARN."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_contact_flow_id))
    error_message = "connect_contact_flow_id must be the contact flow UUID (after contact-flow/ in its ARN), not the ARN or the flow name."
  }
}

variable "connect_queue_id" {
  description = "Id of the outbound queue (`queue` parameter), the UUID after `queue/` in its ARN; its hours of operation pace the campaign."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_queue_id))
    error_message = "connect_queue_id must be the queue UUID (after queue/ in its ARN), not the ARN or the queue name."
  }
}

variable "country_code" {
  description = "Numeric calling code of the default region without `+` (`countrycode` parameter)."
  type        = string
  default     = "44"

  validation {
    condition     = can(regex("^[1-9][0-9]{0,2}$", var.country_code))
    error_message = "country_code must be a calling code of 1 to 3 digits without \"+\", for example \"44\" or \"1\"."
  }
}

variable "iso_country_code" {
  description = "ISO 3166-1 alpha-2 code of the default region (`isocountrycode` parameter)."
  type        = string
  default     = "GB"

  validation {
    condition     = can(regex("^[A-Z]{2}$", var.iso_country_code))
    error_message = "iso_country_code must be an upper-case ISO 3166-1 alpha-2 code such as \"GB\" or \"US\"."
  }
}

variable "allowed_countries" {
  description = "Destination countries the dialer may call (ISO 3166-1 alpha-2, `ALLOWED_COUNTRIES`): rows and messages for other countries are rejects, and premium-rate, shared-cost, personal and non-geographic numbers are never dialed. Null: only `iso_country_code`."
  type        = list(string)
  default     = null

  validation {
    condition     = length(coalesce(var.allowed_countries, ["GB"])) > 0 && alltrue([for c in coalesce(var.allowed_countries, ["GB"]) : can(regex("^[A-Z]{2}$", c))])
    error_message = "allowed_countries must be null or a non-empty list of upper-case ISO 3166-1 alpha-2 codes, such as [\"GB\", \"IE\"]."
  }
}

variable "concurrent_calls" {
  description = "Initial value of the `concurrentcalls` parameter: dialing lanes per wave, one call in progress per lane. Operators may change the parameter at run time up to `max_concurrent_calls`; an apply does not reset it."
  type        = number
  default     = 5

  validation {
    condition     = var.concurrent_calls >= 1 && floor(var.concurrent_calls) == var.concurrent_calls
    error_message = "concurrent_calls must be a whole number, 1 or more."
  }
}

variable "max_concurrent_calls" {
  description = "Upper bound on `concurrentcalls` the state machine is built for (`MAX_CONCURRENT_CALLS` of get-config). Up to 40 the lanes run in an inline Map; above 40 in a Distributed Map whose lanes are child executions."
  type        = number
  default     = 40

  validation {
    condition     = var.max_concurrent_calls >= 1 && var.max_concurrent_calls <= 1000 && floor(var.max_concurrent_calls) == var.max_concurrent_calls
    error_message = "max_concurrent_calls must be a whole number from 1 to 1000: the lane list and the lanes' results travel through Step Functions states, whose input and output are capped at 256 KiB."
  }
}

variable "dial_reserved_concurrency" {
  description = "Reserved concurrency of dial. Null reserves `max_concurrent_calls` (one invocation per lane, the most the state machine runs at once): dial then draws on its own pool, so lanes waiting in the rate limiter at a wave's start can never take the account's unreserved concurrency from caller-id or any other function. -1: no reservation."
  type        = number
  default     = null

  validation {
    condition     = var.dial_reserved_concurrency == null || try(var.dial_reserved_concurrency == -1 || (var.dial_reserved_concurrency >= var.max_concurrent_calls && floor(var.dial_reserved_concurrency) == var.dial_reserved_concurrency), false)
    error_message = "dial_reserved_concurrency must be null (max_concurrent_calls), -1 (no reservation) or a whole number of at least max_concurrent_calls: fewer would throttle lanes."
  }
}

variable "call_timeout_seconds" {
  description = "Initial value of the `timeOut` parameter: how long a lane waits for a call's end before asking Connect (DescribeContact) what happened. Longer than the expected call, agent time included."
  type        = number
  default     = 900

  validation {
    condition     = var.call_timeout_seconds >= 10 && var.call_timeout_seconds <= 86400 && floor(var.call_timeout_seconds) == var.call_timeout_seconds
    error_message = "call_timeout_seconds must be a whole number of seconds from 10 to 86400."
  }
}

variable "calls_per_second" {
  description = "Initial value of the `callspersecond` parameter: the StartOutboundVoiceContact rate shared by all lanes. Connect's default quota is 2 per second (burst 5) per account."
  type        = number
  default     = 2

  validation {
    condition     = var.calls_per_second > 0 && var.calls_per_second <= 100
    error_message = "calls_per_second must be above 0 and at most 100 (Connect's default StartOutboundVoiceContact quota is 2 per second)."
  }
}

variable "ssm_prefix" {
  description = "Prefix of the dialer's SSM parameters, starting and ending with `/`. Null means `/connect/blaster/<name>/`."
  type        = string
  default     = null

  validation {
    condition     = var.ssm_prefix == null || can(regex("^/([A-Za-z0-9_.-]+/)+$", var.ssm_prefix))
    error_message = "ssm_prefix must start and end with \"/\" and hold only letters, digits, \"_\", \".\" and \"-\" between the slashes, for example \"/connect/blaster/spring/\"."
  }

  validation {
    condition     = var.ssm_prefix == null || !can(regex("^/(aws|ssm)", lower(coalesce(var.ssm_prefix, "/x/"))))
    error_message = "ssm_prefix must not start with /aws or /ssm: those names are reserved by Parameter Store."
  }
}

variable "routing_bucket_name" {
  description = "Bucket of the caller-ID routing file that dial reads to set the caller ID of campaign calls (usually the caller-id module's bucket). Used only with `routing_object_key`."
  type        = string
  default     = null
}

variable "routing_object_key" {
  description = "Key of the routing file in `routing_bucket_name`. Null: dial gets no routing environment and campaign calls use the queue's outbound caller ID."
  type        = string
  default     = null

  validation {
    condition     = var.routing_object_key == null || can(regex("^[^/*?][^*?]*$", var.routing_object_key))
    error_message = "routing_object_key must be an S3 object key without a leading \"/\" and without wildcards (\"*\", \"?\")."
  }
}

variable "routing_cache_ttl_seconds" {
  description = "How long dial keeps the routing file in memory before revalidating it (`ROUTING_CACHE_TTL_SECONDS`)."
  type        = number
  default     = 60

  validation {
    condition     = var.routing_cache_ttl_seconds >= 0 && var.routing_cache_ttl_seconds <= 86400 && floor(var.routing_cache_ttl_seconds) == var.routing_cache_ttl_seconds
    error_message = "routing_cache_ttl_seconds must be a whole number of seconds from 0 to 86400."
  }
}

variable "receive_wait_seconds" {
  description = "SQS long-poll wait of dial (`RECEIVE_WAIT_SECONDS`): how long a lane waits for a contact before it reports the queue empty."
  type        = number
  default     = 2

  validation {
    condition     = var.receive_wait_seconds >= 0 && var.receive_wait_seconds <= 20 && floor(var.receive_wait_seconds) == var.receive_wait_seconds
    error_message = "receive_wait_seconds must be a whole number of seconds from 0 to 20 (the SQS long-poll maximum)."
  }
}

variable "status_cache_seconds" {
  description = "How long dial caches the queue's status and hours before asking Connect again (`STATUS_CACHE_SECONDS`)."
  type        = number
  default     = 30

  validation {
    condition     = var.status_cache_seconds >= 0 && var.status_cache_seconds <= 3600 && floor(var.status_cache_seconds) == var.status_cache_seconds
    error_message = "status_cache_seconds must be a whole number of seconds from 0 to 3600."
  }
}

variable "history_budget" {
  description = "Events one execution may spend on its lanes before the run continues in a new execution (`HISTORY_BUDGET` of get-config); keeps every execution far below the 25,000-event limit."
  type        = number
  default     = 8000

  validation {
    condition     = var.history_budget >= 500 && var.history_budget <= 20000 && floor(var.history_budget) == var.history_budget
    error_message = "history_budget must be a whole number from 500 to 20000 (an execution's history is capped at 25,000 events)."
  }
}

################################################################################
# Queue, buckets
################################################################################

variable "queue" {
  description = "Contact queue: how long contacts wait (`message_retention_seconds`), how long a received contact stays invisible (`visibility_timeout_seconds`, longer than dial's timeout), receives before the dead-letter queue (`max_receive_count`)."
  type = object({
    message_retention_seconds  = optional(number, 345600)
    visibility_timeout_seconds = optional(number, 300)
    max_receive_count          = optional(number, 10)
  })
  default = {}

  validation {
    condition     = var.queue.message_retention_seconds >= 60 && var.queue.message_retention_seconds <= 1209600 && floor(var.queue.message_retention_seconds) == var.queue.message_retention_seconds
    error_message = "queue.message_retention_seconds must be a whole number of seconds from 60 to 1209600 (14 days), the range SQS accepts."
  }

  validation {
    condition     = var.queue.visibility_timeout_seconds >= 0 && var.queue.visibility_timeout_seconds <= 43200 && floor(var.queue.visibility_timeout_seconds) == var.queue.visibility_timeout_seconds
    error_message = "queue.visibility_timeout_seconds must be a whole number of seconds from 0 to 43200 (12 hours), the range SQS accepts."
  }

  validation {
    condition     = var.queue.max_receive_count >= 1 && var.queue.max_receive_count <= 1000 && floor(var.queue.max_receive_count) == var.queue.max_receive_count
    error_message = "queue.max_receive_count must be a whole number from 1 to 1000."
  }
}

variable "input_bucket_name" {
  description = "Name of the input bucket (CSV uploads). Null means `<name>-input-<account>-<region>`."
  type        = string
  default     = null

  validation {
    condition     = var.input_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.input_bucket_name, "x")))
    error_message = "input_bucket_name must be a valid S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens."
  }
}

variable "input_bucket_writers" {
  description = "IAM principals (role or user ARNs, `*` wildcards allowed) that may upload contact lists to the input bucket. Every upload starts a campaign that places calls, so the bucket policy denies `s3:PutObject` to any other principal of the account, whatever its IAM policies say. Empty: no such restriction (any principal with an IAM grant may upload)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.input_bucket_writers : can(regex("^arn:aws[a-z-]*:(iam|sts)::[0-9]{12}:[A-Za-z0-9+=,.@_/*-]+$", arn))])
    error_message = "input_bucket_writers must be IAM principal ARNs such as arn:aws:iam::123456789012:role/campaign-uploader (arn:aws:sts::<account>:assumed-role/<role>/* for role sessions)."
  }
}

variable "results_bucket_name" {
  description = "Name of the results bucket (JSON Lines results and rejects). Null means `<name>-results-<account>-<region>`."
  type        = string
  default     = null

  validation {
    condition     = var.results_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", coalesce(var.results_bucket_name, "x")))
    error_message = "results_bucket_name must be a valid S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens."
  }
}

variable "input_expiration_days" {
  description = "Days after which uploaded contact lists (personal data) are deleted from the input bucket. Null keeps them."
  type        = number
  default     = 30

  validation {
    condition     = var.input_expiration_days == null || try(var.input_expiration_days >= 1 && floor(var.input_expiration_days) == var.input_expiration_days, false)
    error_message = "input_expiration_days must be null or a whole number of days, 1 or more."
  }
}

variable "results_expiration_days" {
  description = "Days after which results and rejects are deleted from the results bucket. Null keeps them."
  type        = number
  default     = null

  validation {
    condition     = var.results_expiration_days == null || try(var.results_expiration_days >= 1 && floor(var.results_expiration_days) == var.results_expiration_days, false)
    error_message = "results_expiration_days must be null or a whole number of days, 1 or more."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which overwritten or deleted object versions are removed from both buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days, 1 or more."
  }
}

variable "force_destroy_buckets" {
  description = "Whether `terraform destroy` may delete the input and results buckets with their objects."
  type        = bool
  default     = false
}

################################################################################
# Campaign ledger and redials
################################################################################

variable "redial" {
  description = "Redial rules of the campaign ledger (`REDIAL_RULES`, docs/architecture.md \"Redial rules\"). After an attempt with outcome `o`: `o` in `final_outcomes` ends the contact (`final`); otherwise the contact is dialed again `delay_minutes[o]` later, until `max_attempts` attempts were made. Outcomes: `connected`, `no_answer`, `busy`, `failed` (the network failed the call, or Connect refused or lost the placement), `timeout` (the call was still up when its lane stopped waiting), `error` (a request Connect refused as invalid), `invalid_number` (Connect said the number does not exist, is no longer in use or cannot be dialed; final by default), `voicemail` (answering machine detection heard a voicemail greeting; only with `answering_machine_detection` on), `abandoned` (answered, put in the queue by the flow, and hung up before an agent took it; redialed after 3 days by default). A file may override any subset of these with its `x-amz-meta-redial` object metadata. `callback_max_days`: how far ahead an agent's callback (set-disposition's `callbackAt`) may be, 1 to 365 days (`CALLBACK_MAX_DAYS`; a deployment setting, not part of `REDIAL_RULES` nor of a file's override)."
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

  validation {
    condition     = var.redial.callback_max_days >= 1 && var.redial.callback_max_days <= 365 && floor(var.redial.callback_max_days) == var.redial.callback_max_days
    error_message = "redial.callback_max_days must be a whole number of days from 1 to 365: how far ahead an agent may schedule a callback."
  }

  validation {
    condition     = var.redial.max_attempts >= 1 && var.redial.max_attempts <= 10 && floor(var.redial.max_attempts) == var.redial.max_attempts
    error_message = "redial.max_attempts must be a whole number from 1 (never redial) to 10: attempts per contact, the first call included."
  }

  validation {
    condition     = alltrue([for outcome, minutes in var.redial.delay_minutes : minutes >= 1 && minutes <= 43200 && floor(minutes) == minutes])
    error_message = "redial.delay_minutes must be whole numbers of minutes from 1 to 43200 (30 days) for each outcome (connected, no_answer, busy, failed, timeout, error, invalid_number, voicemail, abandoned)."
  }

  validation {
    condition     = alltrue([for outcome in var.redial.final_outcomes : contains(["connected", "no_answer", "busy", "failed", "timeout", "error", "invalid_number", "voicemail", "abandoned"], outcome)])
    error_message = "redial.final_outcomes may only list the outcomes an attempt can have: connected, no_answer, busy, failed, timeout, error, invalid_number, voicemail, abandoned (lower case)."
  }

  validation {
    condition     = length(distinct(var.redial.final_outcomes)) == length(var.redial.final_outcomes)
    error_message = "redial.final_outcomes must not list an outcome twice."
  }
}

variable "answering_machine_detection" {
  description = "Answering machine detection, off by default (`ANSWERING_MACHINE_DETECTION`, dial). When `enabled`, every call is placed with Connect's `AnswerMachineDetectionConfig` and `TrafficType = CAMPAIGN`, and a call answered by a voicemail ends with the outcome `voicemail` (redialed after `redial.delay_minutes.voicemail`, or final when `redial.final_outcomes` lists it). Prerequisites (README, \"Answering machine detection\"): Connect outbound campaigns enabled on the instance and the service quota for campaign calls raised; Connect refuses campaign traffic otherwise. `await_answer_machine_prompt`: Connect waits for the greeting's end (the beep) before the flow runs, so a leave-message flow speaks after the beep. `campaign_id`: the outbound campaign the calls belong to (`CampaignId`, 1 to 100 characters), sent when given."
  type = object({
    enabled                     = optional(bool, false)
    await_answer_machine_prompt = optional(bool, false)
    campaign_id                 = optional(string)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.answering_machine_detection.campaign_id == null || try(length(trimspace(var.answering_machine_detection.campaign_id)) >= 1 && length(var.answering_machine_detection.campaign_id) <= 100, false)
    error_message = "answering_machine_detection.campaign_id must be null or the outbound campaign's id, 1 to 100 characters (StartOutboundVoiceContact's CampaignId)."
  }

  validation {
    condition     = var.answering_machine_detection.enabled || !var.answering_machine_detection.await_answer_machine_prompt
    error_message = "answering_machine_detection.await_answer_machine_prompt needs enabled = true: Connect waits for a voicemail's prompt only while it detects answering machines."
  }
}

variable "ledger" {
  description = "Campaign ledger (`<name>-campaign-ledger`). `final_retention_days`: days a finished contact (and its phone number) is kept as the campaign's duplicate filter before DynamoDB expires it (0: kept for ever; `FINAL_RETENTION_DAYS`). `lease_minutes`: how long a contact fed to the queue stays reserved for its run; a lease that runs out (a lost message, a run that stopped) makes the contact due again (`LEASE_SECONDS`). `wait_for_due_minutes`: how long a run whose lanes found nothing to dial waits for redials due within that time instead of ending (0: end at once; `DUE_WAIT_SECONDS`). `create_sweep_rule` and `sweep_schedule_expression`: an EventBridge schedule that starts a run while contacts are due (redials due after the last run ended, the contacts of a run that failed); a sweep during a run finds the run claimed and ends. `deletion_protection`: DynamoDB refuses to delete the table (turn off only for throwaway deployments)."
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

  validation {
    condition     = var.ledger.final_retention_days >= 0 && var.ledger.final_retention_days <= 3650 && floor(var.ledger.final_retention_days) == var.ledger.final_retention_days
    error_message = "ledger.final_retention_days must be a whole number of days from 0 (keep finished contacts for ever) to 3650."
  }

  validation {
    condition     = var.ledger.lease_minutes >= 5 && var.ledger.lease_minutes <= 1440 && floor(var.ledger.lease_minutes) == var.ledger.lease_minutes
    error_message = "ledger.lease_minutes must be a whole number of minutes from 5 to 1440: longer than a fed contact waits in the queue plus one dial, short enough that the contacts of a stopped run come back the same day."
  }

  validation {
    condition     = var.ledger.wait_for_due_minutes >= 0 && var.ledger.wait_for_due_minutes <= 60 && floor(var.ledger.wait_for_due_minutes) == var.ledger.wait_for_due_minutes
    error_message = "ledger.wait_for_due_minutes must be a whole number of minutes from 0 (end the run at once) to 60; the sweep starts a run for redials due later."
  }

  validation {
    # optional() turns null into the default, so the rule is turned off with create_sweep_rule.
    condition     = can(regex("^(rate|cron)\\(.+\\)$", var.ledger.sweep_schedule_expression))
    error_message = "ledger.sweep_schedule_expression must be an EventBridge schedule expression, \"rate(...)\" or \"cron(...)\", such as \"rate(10 minutes)\"; to have no sweep, set ledger.create_sweep_rule = false."
  }
}

################################################################################
# Calling rules
################################################################################

variable "calling_window" {
  description = "Recipient-local calling window (`CALLING_WINDOW`, docs/architecture.md \"Calling rules\"): a contact is called only while the window is open on its recipient's wall clock, in every time zone of its number (libphonenumber's prefix → time zone map) or in the zone of its CSV's `timezone` column (an IANA name; a bad one rejects the row). Outside it the contact is deferred to the window's next opening: never lost, and contacts whose window is open go first. `days`: ranges per weekday (`MONDAY` to `SUNDAY`; a day left out has no calls), `HH:MM` from `00:00` to `24:00`, start before end; the default is 08:00-21:00 every day (the US TCPA's hours). `unknown_time_zone`: the zone of numbers without a known one (null: only the queue's hours apply to them). `enabled = false` turns the rule off."
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

  validation {
    condition     = alltrue([for day in keys(var.calling_window.days) : contains(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], day)])
    error_message = "calling_window.days may only have the keys MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY, SATURDAY and SUNDAY (in capitals)."
  }

  validation {
    condition = alltrue(flatten([for day, ranges in var.calling_window.days : [
      for r in ranges : can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", r.start)) && can(regex("^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$", r.end)) && try(tonumber(replace(r.start, ":", "")) < tonumber(replace(r.end, ":", "")), false)
    ]]))
    error_message = "calling_window.days ranges must be { start = \"HH:MM\", end = \"HH:MM\" } on a 24-hour clock (00:00 to 23:59; end may be 24:00), with start before end, such as { start = \"08:00\", end = \"21:00\" }."
  }

  validation {
    condition     = var.calling_window.unknown_time_zone == null || can(regex("^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$", coalesce(var.calling_window.unknown_time_zone, "UTC")))
    error_message = "calling_window.unknown_time_zone must be an IANA time zone name, such as America/New_York or Europe/London (or null)."
  }
}

variable "frequency_cap" {
  description = "Calls per number (`FREQUENCY_CAP`, docs/architecture.md \"Calling rules\"): at most `max_calls` calls to one number per rolling `period_hours`, across every campaign of the deployment. dial records each call just before placing it; a number at its cap is deferred until its oldest call of the period leaves it (the feeder defers it too, so it takes no place in the queue). Numbers are identified by their keyed hash, never stored in clear. Off unless `enabled = true`. Contacts admitted by a version before the cap carry no key and are not capped."
  type = object({
    enabled      = optional(bool, false)
    max_calls    = optional(number, 3)
    period_hours = optional(number, 24)
  })
  default  = {}
  nullable = false

  validation {
    condition     = var.frequency_cap.max_calls >= 1 && var.frequency_cap.max_calls <= 100 && floor(var.frequency_cap.max_calls) == var.frequency_cap.max_calls
    error_message = "frequency_cap.max_calls must be a whole number of calls from 1 to 100."
  }

  validation {
    condition     = var.frequency_cap.period_hours >= 1 && var.frequency_cap.period_hours <= 744 && floor(var.frequency_cap.period_hours) == var.frequency_cap.period_hours
    error_message = "frequency_cap.period_hours must be whole hours from 1 to 744 (31 days)."
  }
}

################################################################################
# State machine
################################################################################

variable "state_machine_logging" {
  description = "State machine logging: `level` (ALL, ERROR, FATAL or OFF) and whether execution data is logged. Inputs and outputs hold contact data and the live task tokens of waiting calls (anyone who can read the log could complete a lane's task): keep `include_execution_data` false outside debugging."
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
  description = "Whether X-Ray traces the state machine; also turns on Active tracing for the dialer functions."
  type        = bool
  default     = false
}

variable "closed_poll_seconds" {
  description = "While the Connect queue is disabled (no next opening known), how often the state machine looks again."
  type        = number
  default     = 300

  validation {
    condition     = var.closed_poll_seconds >= 10 && var.closed_poll_seconds <= 86400 && floor(var.closed_poll_seconds) == var.closed_poll_seconds
    error_message = "closed_poll_seconds must be a whole number of seconds from 10 to 86400."
  }
}

variable "drain_wait_seconds" {
  description = "When every lane found the queue empty but contacts are still in flight (a throttled contact made visible later, a dial that died mid-way), how long the run waits before dialing them in its next wave."
  type        = number
  default     = 60

  validation {
    condition     = var.drain_wait_seconds >= 1 && var.drain_wait_seconds <= 3600 && floor(var.drain_wait_seconds) == var.drain_wait_seconds
    error_message = "drain_wait_seconds must be a whole number of seconds from 1 to 3600."
  }
}

################################################################################
# Connect and EventBridge integration
################################################################################

variable "create_connect_lambda_association" {
  description = "Whether to associate set-disposition with the Connect instance (a contact flow may only invoke associated functions). Off for the local stack, which has no Connect."
  type        = bool
  default     = true
}

variable "contact_event_retry" {
  description = "Retry policy of the EventBridge target that delivers DISCONNECTED events to process-contact-events; events that exhaust it go to the contact-event dead-letter queue."
  type = object({
    maximum_event_age_in_seconds = optional(number, 3600)
    maximum_retry_attempts       = optional(number, 24)
  })
  default = {}

  validation {
    condition     = var.contact_event_retry.maximum_event_age_in_seconds >= 60 && var.contact_event_retry.maximum_event_age_in_seconds <= 86400 && var.contact_event_retry.maximum_retry_attempts >= 0 && var.contact_event_retry.maximum_retry_attempts <= 185
    error_message = "contact_event_retry.maximum_event_age_in_seconds must be from 60 to 86400 and maximum_retry_attempts from 0 to 185 (EventBridge's limits)."
  }
}

variable "start_on_activation" {
  description = "Whether turning the `activeBlaster` parameter back on starts the state machine (an EventBridge rule on Parameter Store changes). A start while a run is in progress only finds the run claimed and ends."
  type        = bool
  default     = true
}

variable "alarms" {
  description = "CloudWatch alarms of the dialer. `caller_id_refused` fires when Connect refused a routed caller ID and the call went out with the queue's own number instead (a number not claimed in the instance, or not allowed for the destination: fix the routing file; results carry `caller_id_refused`). `failed_invocations` fires when an upload or a contact event failed after Lambda's retries (its event is kept in the failed-invocations queue). `executions_failed`, `executions_timed_out`, `executions_aborted` fire when a run of the state machine ended other than by finishing, stopping or handing over (its leased contacts come back when their leases run out, and the sweep starts the next run). `lease_expiries` fires when fed contacts came back unanswered in each of three hours; `contacts_dead_lettered` when a contact message failed dial `queue.max_receive_count` times. `no_run_started` (with the sweep, `ledger.create_sweep_rule`) fires when no execution started for `no_run_minutes` (default 30, longer than the sweep's interval): contacts due in the ledger have no run. `alarm_actions`: SNS topic ARNs notified when an alarm fires and clears. `create_alarm_topic`: also create an encrypted SNS topic `<name>-alarms` for them (the `alarm_sns_topic_arn` output; subscribe to it), encrypted with `kms_key_arn` (whose key policy must then let `cloudwatch.amazonaws.com` use it) or, without one, with a key created for the topic: CloudWatch cannot publish to a topic under the AWS managed `aws/sns` key."
  type = object({
    create             = optional(bool, true)
    alarm_actions      = optional(list(string), [])
    create_alarm_topic = optional(bool, false)
    no_run_minutes     = optional(number, 30)
  })
  default = {}

  validation {
    condition     = var.alarms.no_run_minutes >= 10 && var.alarms.no_run_minutes <= 1440 && var.alarms.no_run_minutes % 5 == 0
    error_message = "alarms.no_run_minutes must be a multiple of 5 from 10 to 1440 (the alarm counts 5-minute periods without a started execution)."
  }

  validation {
    condition     = alltrue([for arn in var.alarms.alarm_actions : can(regex("^arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+$", arn))])
    error_message = "alarms.alarm_actions must be SNS topic ARNs (arn:aws:sns:<region>:<account>:<topic>)."
  }
}

variable "create_dashboard" {
  description = "Whether to create the CloudWatch dashboard `<name>-dialer` (calls placed, answered and failed, lanes against `max_concurrent_calls`, contacts fed and waiting, dead letters, runs, function errors, throttles and durations) and the log metric filters its campaign figures come from."
  type        = bool
  default     = true
}
