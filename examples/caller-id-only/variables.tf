variable "region" {
  description = "AWS region of the Amazon Connect instance."
  type        = string
  default     = "eu-west-2"
}

variable "name" {
  description = "Name of the deployment (prefixes resource names)."
  type        = string
  default     = "callerid"
}

variable "connect_instance_id" {
  description = "Amazon Connect instance id to associate the function with. Null deploys the function without association."
  type        = string
  default     = null
}

variable "routing" {
  description = "Routing file: ISO country codes, `Default` or E.164 prefixes mapped to a caller ID or a pool of them."
  type        = any
  default = {
    GB      = "+442079460001"
    US      = ["+12125550101", "+12125550102"]
    CA      = "+14165550101"
    "+1212" = "+12125550103"
    Default = "+12125550100"
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
