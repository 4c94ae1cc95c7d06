variable "function_arns" {
  description = "ARNs of the functions the definition invokes, keyed by binary name: `get-config`, `get-contacts`, `dial`, `connect-status`."
  type        = map(string)

  validation {
    condition     = alltrue([for b in ["get-config", "get-contacts", "dial", "connect-status"] : contains(keys(var.function_arns), b)])
    error_message = "function_arns must hold the ARNs of get-config, get-contacts, dial and connect-status."
  }
}

variable "table_name" {
  description = "Name of the ActiveDialing table (the run claim is released there)."
  type        = string
}

variable "max_concurrency" {
  description = "MaxConcurrency of the lanes Map; above 40 the Map is DISTRIBUTED."
  type        = number

  validation {
    condition     = var.max_concurrency >= 1 && var.max_concurrency <= 10000 && floor(var.max_concurrency) == var.max_concurrency
    error_message = "max_concurrency must be a whole number from 1 to 10000."
  }
}

variable "closed_poll_seconds" {
  description = "Wait between looks at a disabled queue."
  type        = number
}

variable "drain_wait_seconds" {
  description = "Wait before dialing contacts that were still in flight when every lane found the queue empty."
  type        = number
}
