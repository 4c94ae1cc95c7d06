# Renders the dialer's ASL definition. Its own module so that the dialer and the provider-free
# render check (tests/asl-render, scripts/validate-asl.sh) fill the template the same way.

locals {
  definition = templatefile("${path.module}/../../state-machine.asl.json.tftpl", {
    get_config_arn     = var.function_arns["get-config"]
    get_contacts_arn   = var.function_arns["get-contacts"]
    dial_arn           = var.function_arns["dial"]
    connect_status_arn = var.function_arns["connect-status"]
    table_name         = var.table_name
    # Lanes run inline up to 40 concurrent iterations (the inline Map's limit), as child
    # executions of a Distributed Map above.
    processor_config = jsonencode(var.max_concurrency > 40 ? {
      Mode          = "DISTRIBUTED"
      ExecutionType = "STANDARD"
      } : {
      Mode = "INLINE"
    })
    max_concurrency     = var.max_concurrency
    closed_poll_seconds = var.closed_poll_seconds
    drain_wait_seconds  = var.drain_wait_seconds
  })
}
