variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the deployment: the function is `<name>-queue-contacts`, a Pinpoint application created here is named `<name>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,26}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 28 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

################################################################################
# Pinpoint application
################################################################################

variable "create_app" {
  description = "Whether to create the Pinpoint application (project). When false, `application_id` names an existing one."
  type        = bool
  default     = true
}

variable "application_id" {
  description = "Id of an existing Pinpoint application whose campaigns may invoke `queue-contacts` (with `create_app = false`)."
  type        = string
  default     = null

  validation {
    condition     = var.application_id == null || can(regex("^[0-9a-f]{32}$", var.application_id))
    error_message = "application_id must be null or a Pinpoint application id: 32 lower-case hexadecimal characters."
  }
}

variable "invoke_principal" {
  description = "Service principal Pinpoint invokes custom-channel functions as. Null means the regional principal `pinpoint.<region>.amazonaws.com` that the Pinpoint custom channel documentation uses."
  type        = string
  default     = null

  validation {
    condition     = var.invoke_principal == null || can(regex("^pinpoint(\\.[a-z0-9-]+)?\\.amazonaws\\.com(\\.cn)?$", var.invoke_principal))
    error_message = "invoke_principal must be null, \"pinpoint.amazonaws.com\" or a regional principal such as \"pinpoint.eu-west-2.amazonaws.com\"."
  }
}

################################################################################
# The dialer this channel feeds
################################################################################

variable "ledger_table_name" {
  description = "Name of the dialer's campaign ledger (`LEDGER_TABLE_NAME`): each endpoint of a batch is admitted there as a contact of its campaign; the dialer feeds the queue from it."
  type        = string
}

variable "ledger_table_arn" {
  description = "ARN of the dialer's campaign ledger: the function may only admit contacts to it (`dynamodb:PutItem`/`UpdateItem`)."
  type        = string
}

variable "results_bucket" {
  description = "Name of the results bucket (`RESULTS_BUCKET`): rejected endpoints go to `rejects/`."
  type        = string
}

variable "state_machine_arn" {
  description = "ARN of the dialer state machine (`STATE_MACHINE_ARN`): a batch starts (or joins) the campaign's execution."
  type        = string
}

variable "ssm_prefix" {
  description = "Prefix of the dialer's SSM parameters, ending with `/` (`SSM_PREFIX`)."
  type        = string

  validation {
    condition     = startswith(var.ssm_prefix, "/") && endswith(var.ssm_prefix, "/")
    error_message = "ssm_prefix must start and end with \"/\", for example \"/connect/blaster/spring/\"."
  }
}

################################################################################
# Function
################################################################################

variable "lambda_artifacts_dir" {
  description = "Directory holding `queue-contacts/bootstrap.zip` (`make build` writes `dist/<architecture>`)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function: `x86_64` or `arm64`."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB."
  type        = number
  default     = 256
}

variable "timeout" {
  description = "Timeout of the function in seconds. A batch holds up to 50 endpoints; Pinpoint retries a batch that fails or times out."
  type        = number
  default     = 60
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; -1 means no reservation."
  type        = number
  default     = -1
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the function: null, `Active` or `PassThrough`."
  type        = string
  default     = null
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group in days."
  type        = number
  default     = 30
}

variable "log_level" {
  description = "Application log level of the function."
  type        = string
  default     = "INFO"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key of the dialer (queue, bucket, parameters) and of the function's logs and environment. The function may use it to encrypt what it writes. Null: AWS managed encryption."
  type        = string
  default     = null
}

variable "contact_key_kms_key_arn" {
  description = "ARN of the KMS HMAC key contact keys are derived from (`CONTACT_KEY_KMS_KEY_ARN`): the dialer's `contact_key_kms_key_arn` output, so that both intakes name a contact the same way."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.contact_key_kms_key_arn))
    error_message = "contact_key_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), the dialer's contact_key_kms_key_arn output."
  }
}

variable "allowed_countries" {
  description = "Destination countries queue-contacts accepts (ISO 3166-1 alpha-2, `ALLOWED_COUNTRIES`): endpoints for other countries, and premium-rate, shared-cost, personal and non-geographic numbers, are rejects. The dialer's `allowed_countries` output."
  type        = list(string)

  validation {
    condition     = length(var.allowed_countries) > 0 && alltrue([for c in var.allowed_countries : can(regex("^[A-Z]{2}$", c))])
    error_message = "allowed_countries must be a non-empty list of upper-case ISO 3166-1 alpha-2 codes, such as [\"GB\", \"IE\"]."
  }
}
