################################################################################
# Configuration parameters, with the original solution's names under the prefix
################################################################################

locals {
  # Set by Terraform: an apply brings them back to the variables.
  managed_parameters = {
    connectid             = { value = var.connect_instance_id, description = "Amazon Connect instance id." }
    contactflow           = { value = var.connect_contact_flow_id, description = "Contact flow id of outbound campaign calls." }
    queue                 = { value = var.connect_queue_id, description = "Outbound queue id; its hours of operation pace the campaign." }
    countrycode           = { value = var.country_code, description = "Calling code of the default region of contact lists (no +)." }
    isocountrycode        = { value = var.iso_country_code, description = "ISO 3166-1 alpha-2 code of the default region of contact lists." }
    ResultsBucket         = { value = local.results_bucket_name, description = "Bucket of the campaign results (JSON Lines)." }
    "table-activedialing" = { value = local.table_name, description = "ActiveDialing DynamoDB table." }
  }

  # Changed at run time by operators or by the functions: created with an initial value,
  # never reset by an apply (a running campaign's switch or counters must not jump back).
  tunable_parameters = {
    concurrentcalls = { value = tostring(var.concurrent_calls), description = "Dialing lanes per wave (at most ${var.max_concurrent_calls}). Operators may change it; the next wave uses it." }
    timeOut         = { value = tostring(var.call_timeout_seconds), description = "Seconds a lane waits for a call to end before asking Connect. Operators may change it." }
    callspersecond  = { value = tostring(var.calls_per_second), description = "StartOutboundVoiceContact calls per second shared by all lanes. Operators may change it." }
    activeBlaster   = { value = "True", description = "Stop switch: False stops every lane within one call; True again resumes." }
    dialIndex       = { value = "0", description = "Calls placed in the current run (get-config, once per wave)." }
    totalRecords    = { value = "0", description = "Contacts queued in the current run (load-list, queue-contacts)." }
  }
}

resource "aws_ssm_parameter" "managed" {
  for_each = local.managed_parameters

  # checkov:skip=CKV2_AWS_34:Ids and names, not secrets: the contract (docs/architecture.md) makes them String so that operators can read and change them in the console.
  name        = "${local.ssm_prefix}${each.key}"
  description = each.value.description
  type        = "String"
  value       = each.value.value

  tags = var.tags
}

resource "aws_ssm_parameter" "tunable" {
  for_each = local.tunable_parameters

  # checkov:skip=CKV2_AWS_34:Operator switches and counters, not secrets: String by contract (docs/architecture.md).
  name        = "${local.ssm_prefix}${each.key}"
  description = each.value.description
  type        = "String"
  value       = each.value.value

  tags = var.tags

  lifecycle {
    ignore_changes = [value]
  }
}
