variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the deployment: the function is `<name>-caller-id`, a bucket created here is named `<name>-routing-<random suffix>`."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,26}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 28 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen (it prefixes function, role and bucket names)."
  }
}

variable "tags" {
  description = "Tags for every resource of this module."
  type        = map(string)
  default     = {}
}

################################################################################
# Function
################################################################################

variable "lambda_artifacts_dir" {
  description = "Directory holding `caller-id/bootstrap.zip` (`make build` writes `dist/<architecture>`)."
  type        = string
}

variable "architecture" {
  description = "Instruction set of the function: `x86_64` or `arm64` (the zip must be built for it)."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.architecture)
    error_message = "architecture must be \"x86_64\" or \"arm64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB. The handler answers from an in-memory cache: 128 is plenty."
  type        = number
  default     = 128
}

variable "timeout" {
  description = "Timeout of the function in seconds. A contact flow waits at most 8 seconds for a Lambda function."
  type        = number
  default     = 3

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 8 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 1 to 8: Amazon Connect waits at most 8 seconds for a function in a flow."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency of the function; -1 means no reservation. A reservation keeps other functions (a dialer's lanes at a wave's start) from taking the concurrency every whisper flow waits on."
  type        = number
  default     = -1

  validation {
    condition     = var.reserved_concurrent_executions == -1 || (var.reserved_concurrent_executions >= 1 && floor(var.reserved_concurrent_executions) == var.reserved_concurrent_executions)
    error_message = "reserved_concurrent_executions must be -1 (no reservation) or a whole number of at least 1."
  }
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
  description = "Application log level of the function (TRACE, DEBUG, INFO, WARN, ERROR, FATAL)."
  type        = string
  default     = "INFO"
}

variable "kms_key_arn" {
  description = "Customer managed KMS key ARN for the log group, the environment variables, the bucket this module creates and the routing object. The function may `kms:Decrypt` with it. Null uses AWS managed encryption."
  type        = string
  default     = null
}

variable "routing_cache_ttl_seconds" {
  description = "How long the function answers from its cached routing file before revalidating it (a conditional GET with the ETag). `ROUTING_CACHE_TTL_SECONDS`."
  type        = number
  default     = 60

  validation {
    condition     = var.routing_cache_ttl_seconds >= 0 && var.routing_cache_ttl_seconds <= 86400 && floor(var.routing_cache_ttl_seconds) == var.routing_cache_ttl_seconds
    error_message = "routing_cache_ttl_seconds must be a whole number of seconds from 0 to 86400."
  }
}

variable "trust_roots" {
  description = "Root certificates the function trusts for its S3 requests (`TRUST_ROOTS`): `amazon` (the default), the roots of Amazon Trust Services carried in the binary, the authority of AWS's service endpoints, with nothing to read at start-up; `system`, the runtime's trust store, read on the first request (3 ms of a cold start measured, more on a slow disk), for endpoints served with another authority (a TLS-inspecting proxy, a partition whose S3 endpoints do not use Amazon Trust Services)."
  type        = string
  default     = "amazon"

  validation {
    condition     = contains(["amazon", "system"], var.trust_roots)
    error_message = "trust_roots must be \"amazon\" or \"system\"."
  }
}

################################################################################
# Routing file
################################################################################

variable "create_bucket" {
  description = "Whether to create the bucket that holds the routing file (encrypted, versioned, public access blocked, TLS only). When false, `bucket_name` names an existing bucket."
  type        = bool
  default     = false
}

variable "bucket_name" {
  description = "Existing bucket holding the routing file (when `create_bucket` is false), or the exact name of the bucket to create (null: `<name>-routing-` plus a unique suffix)."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be null or an S3 bucket name: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }
}

variable "force_destroy_bucket" {
  description = "Whether destroying a bucket created here deletes the objects (and versions) it still holds."
  type        = bool
  default     = false
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which old versions of the routing file are deleted from a bucket created here."
  type        = number
  default     = 90
}

variable "routing_object_key" {
  description = "Key of the routing file in the bucket (`COUNTRY_ROUTING_LIST_KEY`)."
  type        = string
  default     = "routing.json"

  validation {
    # "*" and "?" would become wildcards in the function's s3:GetObject grant.
    condition     = length(var.routing_object_key) > 0 && length(var.routing_object_key) <= 1024 && can(regex("^[^/*?][^*?]*$", var.routing_object_key))
    error_message = "routing_object_key must be a non-empty S3 key of at most 1024 characters, without a leading \"/\" and without \"*\" or \"?\" (they would be IAM wildcards in the read grant), for example \"caller-id/routing.json\"."
  }
}

# `any`, not map(...): a routing file mixes single numbers and pools, e.g.
# { GB = "+442079460001", US = ["+12125550101", "+12125550102"] }, and Terraform has no union
# type. map(any) would force every value to one type and reject that mix. The validations below
# give the shape back.
variable "routing" {
  description = "Content of the routing file to write to `routing_object_key`; null leaves the object to you (upload it yourself). Keys: ISO 3166-1 alpha-2 country codes (`GB`), `Default`, or E.164 prefixes (`+4420`, the longest matching prefix wins over the country). Values: an E.164 number (`+442079460001`) or a non-empty list of them (a pool; each customer always gets the same number from it)."
  type        = any
  default     = null

  validation {
    condition     = var.routing == null || can(keys(var.routing))
    error_message = "routing must be a map such as { GB = \"+442079460001\", Default = \"+12125550100\" }, or null."
  }

  validation {
    condition = var.routing == null || try(alltrue([
      for k in keys(var.routing) : can(regex("^([A-Z]{2}|Default|\\+[1-9][0-9]{0,14})$", k))
    ]), false)
    error_message = "routing has invalid keys: ${try(join(", ", [for k in keys(var.routing) : jsonencode(k) if !can(regex("^([A-Z]{2}|Default|\\+[1-9][0-9]{0,14})$", k))]), "(not a map)")}. Each key must be an upper-case ISO 3166-1 alpha-2 country code (\"GB\"), \"Default\", or a \"+\" followed by 1 to 15 digits of an E.164 prefix (\"+4420\")."
  }

  validation {
    condition = var.routing == null || try(alltrue([
      for k, v in var.routing : (
        can(regex("^\\+[1-9][0-9]{6,14}$", v)) ||
        try(length(tolist(v)) > 0 && alltrue([for n in tolist(v) : can(regex("^\\+[1-9][0-9]{6,14}$", n))]), false)
      )
    ]), false)
    error_message = "routing has invalid values for keys: ${try(join(", ", [for k, v in var.routing : jsonencode(k) if !(can(regex("^\\+[1-9][0-9]{6,14}$", v)) || try(length(tolist(v)) > 0 && alltrue([for n in tolist(v) : can(regex("^\\+[1-9][0-9]{6,14}$", n))]), false))]), "(not a map)")}. Each value must be an E.164 number as a string (\"+442079460001\": a \"+\", then 7 to 15 digits, no spaces) or a non-empty list of such numbers."
  }
}

################################################################################
# Amazon Connect
################################################################################

variable "connect_instance_id" {
  description = "Amazon Connect instance id to associate the function with (so flows can invoke it). Null creates no association."
  type        = string
  default     = null

  validation {
    condition     = var.connect_instance_id == null || can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_instance_id))
    error_message = "connect_instance_id must be null or an Amazon Connect instance id: a lower-case UUID such as 11111111-2222-3333-4444-555555555555 (the last part of the instance ARN), not the ARN or the alias."
  }
}
