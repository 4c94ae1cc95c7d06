data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

locals {
  create_whisper     = var.create && var.create_outbound_whisper_flow
  create_disposition = var.create && var.create_disposition_flow

  # The templates ship with the module (sample-files/ at the repository root), so that they can
  # also be imported by hand in the flow designer once the placeholders are filled.
  whisper_template     = coalesce(var.outbound_whisper_flow_template, "${path.module}/../../sample-files/outbound-whisper-flow.json.tftpl")
  disposition_template = coalesce(var.disposition_flow_template, "${path.module}/../../sample-files/disposition-agent-guide.json.tftpl")

  whisper_content = local.create_whisper ? templatefile(local.whisper_template, {
    # Null would abort the render before the precondition below can say what is missing.
    caller_id_function_arn        = var.caller_id_function_arn == null ? "" : var.caller_id_function_arn
    invocation_time_limit_seconds = var.caller_id_time_limit_seconds
  }) : null

  disposition_content = local.create_disposition ? templatefile(local.disposition_template, {
    set_disposition_function_arn = var.set_disposition_function_arn == null ? "" : var.set_disposition_function_arn
    dispositions                 = var.dispositions
    heading                      = var.disposition_view_heading
    description                  = var.disposition_view_description
    view_time_limit_seconds      = var.disposition_view_time_limit_seconds
    # Amazon Connect's managed views live in the region under the "aws" account.
    partition = data.aws_partition.current[0].partition
    region    = data.aws_region.current[0].name
  }) : null
}

resource "aws_connect_contact_flow" "outbound_whisper" {
  count = local.create_whisper ? 1 : 0

  instance_id = var.connect_instance_id
  name        = "${var.name} outbound whisper"
  description = "Sets the caller ID of outbound calls from the caller-id function (routing by destination)."
  type        = "OUTBOUND_WHISPER"
  content     = local.whisper_content

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.caller_id_function_arn != null
      error_message = "The outbound whisper flow needs caller_id_function_arn (or create_outbound_whisper_flow = false)."
    }

    precondition {
      # "[$][{]" rather than an escaped "$${": a literal the HCL parser of checkov backtracks on.
      condition     = can(jsondecode(local.whisper_content)) && length(regexall("[$][{]", local.whisper_content)) == 0
      error_message = "The rendered outbound whisper flow is not valid JSON or keeps an unresolved template placeholder: check ${local.whisper_template}."
    }
  }
}

resource "aws_connect_contact_flow" "disposition" {
  count = local.create_disposition ? 1 : 0

  instance_id = var.connect_instance_id
  name        = "${var.name} disposition guide"
  description = "Step-by-step guide: the agent picks the call's disposition, recorded by set-disposition. Set it as DefaultFlowForAgentUI in the outbound contact flow."
  type        = "CONTACT_FLOW"
  content     = local.disposition_content

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.set_disposition_function_arn != null
      error_message = "The disposition agent guide needs set_disposition_function_arn (or create_disposition_flow = false)."
    }

    precondition {
      condition     = can(jsondecode(local.disposition_content)) && length(regexall("[$][{]", local.disposition_content)) == 0
      error_message = "The rendered disposition agent guide is not valid JSON or keeps an unresolved template placeholder: check ${local.disposition_template}."
    }
  }
}
