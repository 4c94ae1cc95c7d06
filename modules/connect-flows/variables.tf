variable "create" {
  description = "Whether to create any resource of this module."
  type        = bool
  default     = true
}

variable "name" {
  description = "Name of the deployment: prefixes the flow names (`<name> outbound whisper`, `<name> disposition guide`, `<name> outbound`)."
  type        = string

  validation {
    condition     = length(var.name) > 0 && length(var.name) <= 60
    error_message = "name must be 1 to 60 characters (it prefixes contact flow names)."
  }
}

variable "tags" {
  description = "Tags for every flow."
  type        = map(string)
  default     = {}
}

variable "connect_instance_id" {
  description = "Amazon Connect instance id the flows are created in."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.connect_instance_id))
    error_message = "connect_instance_id must be an Amazon Connect instance id: a lower-case UUID (the part after \"instance/\" in the instance ARN)."
  }
}

################################################################################
# Outbound whisper flow
################################################################################

variable "create_outbound_whisper_flow" {
  description = "Whether to create the outbound whisper flow: invoke `caller-id`, then place the call with the caller ID from its `outbound_number` answer (the queue's number if the function fails)."
  type        = bool
  default     = true
}

variable "caller_id_function_arn" {
  description = "ARN of the `caller-id` function (associated with the instance)."
  type        = string
  default     = null
}

variable "caller_id_time_limit_seconds" {
  description = "How long the flow waits for `caller-id` (1 to 8 seconds) before calling with the queue's number."
  type        = number
  default     = 3

  validation {
    condition     = var.caller_id_time_limit_seconds >= 1 && var.caller_id_time_limit_seconds <= 8 && floor(var.caller_id_time_limit_seconds) == var.caller_id_time_limit_seconds
    error_message = "caller_id_time_limit_seconds must be a whole number from 1 to 8 (Amazon Connect's limit for a Lambda function in a flow)."
  }
}

variable "outbound_whisper_flow_template" {
  description = "Path of the outbound whisper flow template (Amazon Connect flow language, rendered with `templatefile()`). Null uses `sample-files/outbound-whisper-flow.json.tftpl`. Variables: `caller_id_function_arn`, `invocation_time_limit_seconds`."
  type        = string
  default     = null
}

################################################################################
# Disposition agent guide
################################################################################

variable "create_disposition_flow" {
  description = "Whether to create the disposition agent guide (a step-by-step guide flow showing the disposition codes to the agent, each invoking `set-disposition`)."
  type        = bool
  default     = true
}

variable "set_disposition_function_arn" {
  description = "ARN of the `set-disposition` function (associated with the instance)."
  type        = string
  default     = null
}

variable "dispositions" {
  description = "Disposition codes the agent chooses from, in display order. Each is sent to `set-disposition` as the `disposition` parameter."
  type        = list(string)
  default     = ["Interested", "Not interested", "Call back later", "Wrong number", "Do not call"]

  validation {
    condition     = length(var.dispositions) > 0 && length(var.dispositions) <= 20 && length(distinct(var.dispositions)) == length(var.dispositions)
    error_message = "dispositions must hold 1 to 20 distinct codes."
  }

  validation {
    condition     = alltrue([for d in var.dispositions : length(trimspace(d)) > 0 && length(d) <= 64])
    error_message = "Each disposition must be a non-blank label of at most 64 characters."
  }
}

variable "do_not_call_dispositions" {
  description = "Dispositions (among `dispositions`) that also put the called number on the deployment's do-not-call list: their button sends `doNotCall` = `true` to `set-disposition`. Null: `Do not call` when `dispositions` has it. `[]`: none."
  type        = list(string)
  default     = null

  validation {
    condition     = var.do_not_call_dispositions == null || alltrue([for d in coalesce(var.do_not_call_dispositions, []) : length(trimspace(d)) > 0])
    error_message = "do_not_call_dispositions must name dispositions (non-blank codes)."
  }
}

variable "disposition_view_heading" {
  description = "Heading of the disposition view shown to the agent."
  type        = string
  default     = "Call outcome"
}

variable "disposition_view_description" {
  description = "Text under the heading of the disposition view."
  type        = string
  default     = "Choose the outcome of this call. It is recorded with the campaign results."
}

variable "disposition_view_time_limit_seconds" {
  description = "How long the guide waits for the agent to choose a disposition."
  type        = number
  default     = 900

  validation {
    condition     = var.disposition_view_time_limit_seconds >= 1 && floor(var.disposition_view_time_limit_seconds) == var.disposition_view_time_limit_seconds
    error_message = "disposition_view_time_limit_seconds must be a whole number of seconds, 1 or more."
  }
}

variable "disposition_flow_template" {
  description = "Path of the disposition agent guide template (rendered with `templatefile()`). Null uses `sample-files/disposition-agent-guide.json.tftpl`. Variables: `set_disposition_function_arn`, `dispositions`, `do_not_call_dispositions`, `heading`, `description`, `view_time_limit_seconds`, `partition`, `region`."
  type        = string
  default     = null
}

################################################################################
# Outbound contact flow
################################################################################

variable "create_outbound_contact_flow" {
  description = "Whether to create the contact flow campaign calls run: it sets the `DefaultFlowForAgentUI` contact attribute to the disposition guide (so the agent gets it on accepting the call), optionally sets the working queue, and transfers the call to the queue. Use its id as the dialer's contact flow. Needs `create_disposition_flow`."
  type        = bool
  default     = false

  validation {
    condition     = var.create_outbound_contact_flow != null
    error_message = "create_outbound_contact_flow must be true or false."
  }
}

variable "connect_queue_id" {
  description = "Queue the outbound contact flow sets as the working queue before the transfer (id or ARN). Null keeps the queue `StartOutboundVoiceContact` was given (the dialer's `QueueId`)."
  type        = string
  default     = null

  validation {
    condition = var.connect_queue_id == null || can(regex(
      "^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|arn:aws[a-z-]*:connect:[a-z0-9-]+:[0-9]{12}:instance/[0-9a-f-]{36}/queue/[0-9a-f-]{36})$",
      var.connect_queue_id
    ))
    error_message = "connect_queue_id must be a queue id (the lower-case UUID after \"queue/\" in its ARN) or the queue ARN."
  }
}

variable "outbound_contact_flow_template" {
  description = "Path of the outbound contact flow template (rendered with `templatefile()`). Null uses `sample-files/outbound-contact-flow.json.tftpl`. Variables: `disposition_flow_id`, `queue_id` (empty when `connect_queue_id` is null)."
  type        = string
  default     = null

  validation {
    condition     = var.outbound_contact_flow_template == null || length(trimspace(coalesce(var.outbound_contact_flow_template, " "))) > 0
    error_message = "outbound_contact_flow_template must be null or the path of a template file."
  }
}
