provider "aws" {
  region = var.region
}

# Caller ID by destination only: the whisper-flow function, its routing file in a bucket
# created here, and the association with the Connect instance. No dialer.
module "caller_id" {
  source = "../../"

  name = var.name

  create_caller_id = true
  create_dialer    = false

  connect_instance_id = var.connect_instance_id

  routing            = var.routing
  routing_object_key = "caller-id/routing.json"

  lambda_artifacts_dir  = var.lambda_artifacts_dir
  lambda_architecture   = var.lambda_architecture
  log_retention_in_days = 30

  tags = {
    Project   = "outbound-voice"
    Component = "caller-id"
  }
}
