variable "region" {
  description = "AWS region of the Amazon Connect instance."
  type        = string
  default     = "eu-west-2"
}

variable "environment" {
  description = "Environment tag."
  type        = string
  default     = "production"
}

variable "name" {
  description = "Name of the deployment (prefixes resource names)."
  type        = string
  default     = "blaster"
}

variable "connect_instance_id" {
  description = "Amazon Connect instance id (the UUID after `instance/` in the instance ARN)."
  type        = string
}

variable "connect_contact_flow_id" {
  description = "Id of the contact flow campaign calls run when the customer answers."
  type        = string
}

variable "connect_queue_id" {
  description = "Id of the outbound queue (its caller ID, status and hours apply)."
  type        = string
}

variable "create_pinpoint_channel" {
  description = "Whether to create the Pinpoint custom channel (Pinpoint engagement features reached end of support on 2026-10-30)."
  type        = bool
  default     = true
}

variable "routing" {
  description = "Routing file: ISO country codes, `Default` or E.164 prefixes mapped to a caller ID or a pool of them."
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
  description = "Directory of the built zips (`make build`). Null means `dist/<architecture>` at the repository root."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Architecture the zips were built for: `x86_64` or `arm64`."
  type        = string
  default     = "x86_64"
}
