variable "moto_endpoint" {
  description = "URL of the moto server (the local launcher), used for every AWS service."
  type        = string
  default     = "http://127.0.0.1:5000"

  validation {
    condition     = can(regex("^http://(127\\.0\\.0\\.1|localhost|\\[::1\\]):[0-9]+/?$", var.moto_endpoint))
    error_message = "moto_endpoint must be a loopback http URL with a port, for example http://127.0.0.1:5000: the local example never talks to AWS."
  }
}

variable "region" {
  description = "Region the resources are created in. The Connect simulator builds its ARNs (and the EventBridge rule's instance ARN) from the same region: keep both equal (the simulator's default is us-east-1)."
  type        = string
  default     = "us-east-1"
}

variable "name" {
  description = "Name of the deployment (prefixes resource names)."
  type        = string
  default     = "local-blaster"
}

variable "connect_instance_id" {
  description = "Instance id the Connect simulator answers for."
  type        = string
  default     = "00000000-0000-4000-8000-000000000001"
}

variable "connect_contact_flow_id" {
  description = "Contact flow id given to the simulator's StartOutboundVoiceContact."
  type        = string
  default     = "00000000-0000-4000-8000-000000000002"
}

variable "connect_queue_id" {
  description = "Queue id whose status and hours the simulator reports."
  type        = string
  default     = "00000000-0000-4000-8000-000000000003"
}

variable "concurrent_calls" {
  description = "Dialing lanes for the demo."
  type        = number
  default     = 3
}

variable "call_timeout_seconds" {
  description = "How long a lane waits for a simulated call to end before asking the simulator (the module's minimum is 10)."
  type        = number
  default     = 20
}

variable "dial_timeout_seconds" {
  description = "The dial function's timeout. The end-to-end tests turn it down (with `queue_visibility_timeout_seconds`) to see a dial that times out after Connect placed its call."
  type        = number
  default     = 60

  validation {
    condition     = var.dial_timeout_seconds >= 3 && var.dial_timeout_seconds <= 900
    error_message = "dial_timeout_seconds must be from 3 to 900 seconds (Lambda's range, and time to place a call)."
  }
}

variable "load_list_timeout_seconds" {
  description = "The load-list function's timeout. load-list hands the rest of a file over to a new invocation a fifth of it before the end; the end-to-end tests turn it down to load a list in several segments."
  type        = number
  default     = 900

  validation {
    condition     = var.load_list_timeout_seconds >= 5 && var.load_list_timeout_seconds <= 900
    error_message = "load_list_timeout_seconds must be from 5 to 900 seconds (Lambda's limit; a segment needs a few seconds)."
  }
}

variable "calling_window" {
  description = "Recipients' calling window (the module's `dialer_calling_window`). Open all day every day by default, so a demo or a test calls at any hour; the demo and the calling-rule tests set a window around the time they run, so a contact in a far time zone is deferred."
  type        = any
  default = {
    days = {
      MONDAY    = [{ start = "00:00", end = "24:00" }]
      TUESDAY   = [{ start = "00:00", end = "24:00" }]
      WEDNESDAY = [{ start = "00:00", end = "24:00" }]
      THURSDAY  = [{ start = "00:00", end = "24:00" }]
      FRIDAY    = [{ start = "00:00", end = "24:00" }]
      SATURDAY  = [{ start = "00:00", end = "24:00" }]
      SUNDAY    = [{ start = "00:00", end = "24:00" }]
    }
  }
}

variable "frequency_cap" {
  description = "Calls per number across campaigns (the module's `dialer_frequency_cap`). Off by default; the calling-rule tests turn it on."
  type        = any
  default     = { enabled = false }
}

variable "queue_visibility_timeout_seconds" {
  description = "How long a contact taken by dial stays invisible in the queue: longer than `dial_timeout_seconds`. A contact whose dial died comes back after it."
  type        = number
  default     = 300
}

variable "calls_per_second" {
  description = "Dial rate limit; the simulator's quota defaults to Connect's 2 per second."
  type        = number
  default     = 2
}

variable "routing" {
  description = "Routing file written to the routing bucket (fictional numbers)."
  type        = any
  default = {
    GB      = ["+442079460001", "+442079460002"]
    "+4420" = "+442079460003"
    US      = "+12125550101"
    CA      = "+14165550101"
    Default = "+442079460001"
  }
}

variable "lambda_artifacts_dir" {
  description = "Directory of the built zips (`make build`). Null means `dist/x86_64` at the repository root."
  type        = string
  default     = null
}

variable "redial" {
  description = "Redial rules (the module's `dialer_redial`). By default a busy, unanswered or failed call (or a voicemail) is dialed again a minute later, so the demo sees a redial; the end-to-end tests that count one call per contact set `max_attempts = 1`."
  type = object({
    max_attempts = optional(number, 3)
    delay_minutes = optional(object({
      connected = optional(number, 60)
      no_answer = optional(number, 1)
      busy      = optional(number, 1)
      failed    = optional(number, 1)
      timeout   = optional(number, 30)
      error     = optional(number, 60)
      # Final by default; a minute when a test takes it out of final_outcomes.
      invalid_number = optional(number, 1)
      voicemail      = optional(number, 1)
      # The module waits 3 days after an abandoned call; the local stack a minute.
      abandoned = optional(number, 1)
    }), {})
    final_outcomes = optional(list(string), ["connected", "timeout", "error", "invalid_number"])
  })
  default = {}
}

variable "answering_machine_detection" {
  description = "The module's `dialer_answering_machine_detection`. Off by default; the simulator then answers a voicemail as a person (`connected`), as Connect does."
  type = object({
    enabled                     = optional(bool, false)
    await_answer_machine_prompt = optional(bool, false)
    campaign_id                 = optional(string)
  })
  default = {}
}
