variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "function_name" {
  description = "Name of the Lambda function. Also names its IAM role and its log group (`/aws/lambda/<function_name>`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_-]{1,64}$", var.function_name))
    error_message = "function_name must be 1 to 64 characters of letters, digits, hyphens or underscores (a Lambda function name that is also a valid IAM role name)."
  }
}

variable "binary_name" {
  description = "Cargo binary name of the function: its zip is read from `<artifacts_dir>/<binary_name>/bootstrap.zip`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*$", var.binary_name))
    error_message = "binary_name must be a cargo binary name (lower-case letters, digits, hyphens, underscores), for example \"caller-id\"."
  }
}

variable "description" {
  description = "Description of the Lambda function."
  type        = string
  default     = ""
}

variable "artifacts_dir" {
  description = "Directory holding `<binary_name>/bootstrap.zip`, as `cargo lambda build --release --output-format zip --lambda-dir <dir>` (`make build`) produces. One directory per architecture."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function: `x86_64` or `arm64`. Must match the architecture the zip in `artifacts_dir` was built for."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB (128 to 10240)."
  type        = number
  default     = 128

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  description = "Timeout of the function in seconds (1 to 900)."
  type        = number
  default     = 3

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "environment" {
  description = "Environment variables of the function."
  type        = map(string)
  default     = {}
}

variable "policy_json" {
  description = "The function's own IAM policy document (JSON), attached to its role as its own inline policy. Null attaches nothing beyond logging (and X-Ray when tracing is on)."
  type        = string
  default     = null
}

variable "attach_policy_json" {
  description = "Whether to attach `policy_json`. Null means `policy_json != null`; set it to true when `policy_json` is built from resources of the same configuration (its value, hence its null-ness, is then unknown until apply and cannot decide a count)."
  type        = bool
  default     = null
}

variable "log_retention_in_days" {
  description = "Retention of the function's log group in days (a value CloudWatch Logs accepts; 0 keeps logs forever)."
  type        = number
  default     = 30

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_in_days)
    error_message = "log_retention_in_days must be one of the values CloudWatch Logs accepts: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "log_level" {
  description = "Application log level the function emits (Lambda's `application_log_level`, exposed to the runtime as `AWS_LAMBDA_LOG_LEVEL`): TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"], var.log_level)
    error_message = "log_level must be one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL (upper case)."
  }
}

variable "system_log_level" {
  description = "Level of the Lambda platform's own log lines (START, END, REPORT are INFO): DEBUG, INFO or WARN."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.system_log_level)
    error_message = "system_log_level must be one of DEBUG, INFO, WARN (upper case)."
  }
}

variable "kms_key_arn" {
  description = "ARN of a customer managed KMS key that encrypts the log group and the function's environment variables. Null uses AWS owned keys. The key policy must allow the CloudWatch Logs service principal of the region."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>); an alias is not accepted by CloudWatch Logs."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; -1 means no reservation (the account's unreserved pool), 0 disables the function."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions >= -1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions
    error_message = "reserved_concurrent_executions must be a whole number, -1 (no reservation) or more."
  }
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: null (no tracing configuration), `Active` or `PassThrough`. `Active` also grants the role the X-Ray write actions."
  type        = string
  default     = null

  validation {
    condition     = var.tracing_mode == null || contains(["Active", "PassThrough"], coalesce(var.tracing_mode, "Active"))
    error_message = "tracing_mode must be null, \"Active\" or \"PassThrough\"."
  }
}

variable "dead_letter_target_arn" {
  description = "SQS queue or SNS topic ARN receiving the events of failed asynchronous invocations (S3 notifications, EventBridge). Null: none (synchronous callers get the error themselves). The role may send to it."
  type        = string
  default     = null

  validation {
    condition     = var.dead_letter_target_arn == null || can(regex("^arn:aws[a-z-]*:(sqs|sns):[a-z0-9-]+:[0-9]{12}:.+$", var.dead_letter_target_arn))
    error_message = "dead_letter_target_arn must be null or an SQS queue or SNS topic ARN."
  }
}

variable "code_signing_config_arn" {
  description = "ARN of a Lambda code signing configuration (AWS Signer) the package must satisfy. Null: no code signing."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}
