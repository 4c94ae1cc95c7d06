variable "name" {
  description = "Name of the deployment: prefixes the workgroup (`<name>-results`), the saved queries and, with `-` read as `_`, the default database name (`<name>_outbound`)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", var.name))
    error_message = "name must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit."
  }
}

variable "results_bucket_name" {
  description = "The dialer's results bucket: the table reads `results/` in it, and the workgroup writes query results under `query_results_prefix`."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.results_bucket_name))
    error_message = "results_bucket_name must be an S3 bucket name (3 to 63 lower-case letters, digits, '.' or '-')."
  }
}

variable "database_name" {
  description = "Name of the Glue database. Null: `<name>_outbound` (lower case, `-` read as `_`)."
  type        = string
  default     = null

  validation {
    condition     = var.database_name == null || can(regex("^[a-z0-9_]{1,255}$", var.database_name))
    error_message = "database_name must be lower-case letters, digits and '_' (what Athena accepts in a database name)."
  }
}

variable "table_name" {
  description = "Name of the results table in the database."
  type        = string
  default     = "results"

  validation {
    condition     = can(regex("^[a-z0-9_]{1,255}$", var.table_name))
    error_message = "table_name must be lower-case letters, digits and '_' (what Athena accepts in a table name)."
  }
}

variable "workgroup_name" {
  description = "Name of the Athena workgroup. Null: `<name>-results`."
  type        = string
  default     = null

  validation {
    condition     = var.workgroup_name == null || can(regex("^[A-Za-z0-9._-]{1,128}$", var.workgroup_name))
    error_message = "workgroup_name must be 1 to 128 letters, digits, '.', '_' or '-'."
  }
}

variable "query_results_prefix" {
  description = "Prefix in the results bucket where the workgroup writes query results (encrypted; clients cannot choose another place). Ends with `/`, and must not be under `results/` (the table would read them)."
  type        = string
  default     = "athena-query-results/"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-][A-Za-z0-9!_.*'()/-]*/$", var.query_results_prefix)) && !startswith(var.query_results_prefix, "results/")
    error_message = "query_results_prefix must be an S3 key prefix ending with '/' and not under results/ (the results table reads everything there)."
  }
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Largest amount of data, in bytes, one query of the workgroup may scan before Athena cancels it (at least 10 MB). Null: no limit."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query == null || try(var.bytes_scanned_cutoff_per_query >= 10485760, false)
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MB, Athena's minimum), or null for no limit."
  }
}

variable "kms_key_arn" {
  description = "Customer managed KMS key that encrypts the workgroup's query results (SSE_KMS). Null: S3-managed keys (SSE_S3). The results bucket's own encryption is the dialer's."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.kms_key_arn))
    error_message = "kms_key_arn must be null or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<key id>)."
  }
}

variable "force_destroy" {
  description = "Whether `terraform destroy` may delete the workgroup while it holds saved queries or query history."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for the database and the workgroup."
  type        = map(string)
  default     = {}
}
