data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

data "aws_region" "current" {
  count = var.create ? 1 : 0
}

locals {
  create_whisper     = var.create && var.create_outbound_whisper_flow
  create_disposition = var.create && var.create_disposition_flow
  create_outbound    = var.create && var.create_outbound_contact_flow

  # The templates ship with the module (sample-files/ at the repository root), so that they can
  # also be imported by hand in the flow designer once the placeholders are filled.
  whisper_template     = coalesce(var.outbound_whisper_flow_template, "${path.module}/../../sample-files/outbound-whisper-flow.json.tftpl")
  disposition_template = coalesce(var.disposition_flow_template, "${path.module}/../../sample-files/disposition-agent-guide.json.tftpl")
  outbound_template    = coalesce(var.outbound_contact_flow_template, "${path.module}/../../sample-files/outbound-contact-flow.json.tftpl")

  whisper_content = local.create_whisper ? templatefile(local.whisper_template, {
    # Null would abort the render before the precondition below can say what is missing.
    caller_id_function_arn        = var.caller_id_function_arn == null ? "" : var.caller_id_function_arn
    invocation_time_limit_seconds = var.caller_id_time_limit_seconds
  }) : null

  # The guide: a ShowView block in the managed detail view, one button per disposition. The
  # button chosen is the view's action, and "the Action value determines the branching path from
  # the Show view block" (https://docs.aws.amazon.com/connect/latest/adminguide/no-code-ui-builder-setting-actions-in-flows.html):
  # each branch is a condition Equals <disposition> on that action
  # (https://docs.aws.amazon.com/connect/latest/APIReference/participant-actions-showview.html,
  # "Results and conditions"), and invokes set-disposition with that same action name. The name
  # is written into each branch rather than read back through a JSONPath such as
  # $.Views.Action, which the flow-language reference does not document: the branch taken is the
  # action, so the value passed is the action whatever that path turns out to be
  # (docs/aws-verification.md, "Step-by-step guide and dispositions").
  # The buttons that also list the number as do-not-call (set-disposition's `doNotCall`).
  do_not_call_dispositions = var.do_not_call_dispositions == null ? [for d in var.dispositions : d if d == "Do not call"] : var.do_not_call_dispositions

  disposition_content = local.create_disposition ? templatefile(local.disposition_template, {
    set_disposition_function_arn = var.set_disposition_function_arn == null ? "" : var.set_disposition_function_arn
    dispositions                 = var.dispositions
    do_not_call_dispositions     = local.do_not_call_dispositions
    heading                      = var.disposition_view_heading
    description                  = var.disposition_view_description
    view_time_limit_seconds      = var.disposition_view_time_limit_seconds
    # Amazon Connect's managed views live in the region under the "aws" account.
    partition = data.aws_partition.current[0].partition
    region    = data.aws_region.current[0].name
  }) : null

  # The contact flow campaign calls run (the dialer's `contactflow`): it attaches the guide to
  # the call, then queues it for an agent. A step-by-step guide is shown when the agent accepts
  # a contact whose DefaultFlowForAgentUI attribute holds the guide's flow id, "as long as this
  # attribute is set before a contact gets routed to a queue"
  # (https://docs.aws.amazon.com/connect/latest/adminguide/how-to-invoke-a-flow-sg.html).
  # StartOutboundVoiceContact runs the flow given as ContactFlowId once the call is placed; a
  # flow that puts the contact in queue routes it to an agent
  # (https://docs.aws.amazon.com/connect/latest/APIReference/API_StartOutboundVoiceContact.html).
  # Not the outbound whisper flow: Transfer to queue is not supported in whisper flows
  # (https://docs.aws.amazon.com/connect/latest/APIReference/contact-actions-transfercontacttoqueue.html).
  outbound_content = local.create_outbound ? templatefile(local.outbound_template, {
    disposition_flow_id = try(aws_connect_contact_flow.disposition[0].contact_flow_id, "")
    # Set working queue takes a queue id or ARN
    # (https://docs.aws.amazon.com/connect/latest/APIReference/contact-actions-updatecontacttargetqueue.html);
    # empty leaves the queue StartOutboundVoiceContact was given (the dialer's QueueId).
    queue_id = var.connect_queue_id == null ? "" : var.connect_queue_id
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
  description = "Step-by-step guide: the agent picks the call's disposition, recorded by set-disposition on the related voice contact. Set as DefaultFlowForAgentUI by the outbound contact flow."
  type        = "CONTACT_FLOW"
  content     = local.disposition_content

  tags = var.tags

  lifecycle {
    precondition {
      condition     = var.set_disposition_function_arn != null
      error_message = "The disposition agent guide needs set_disposition_function_arn (or create_disposition_flow = false)."
    }

    precondition {
      condition     = length(setsubtract(local.do_not_call_dispositions, var.dispositions)) == 0
      error_message = "do_not_call_dispositions names codes that are not dispositions: ${join(", ", setsubtract(local.do_not_call_dispositions, var.dispositions))}."
    }

    precondition {
      condition     = can(jsondecode(local.disposition_content)) && length(regexall("[$][{]", local.disposition_content)) == 0
      error_message = "The rendered disposition agent guide is not valid JSON or keeps an unresolved template placeholder: check ${local.disposition_template}."
    }
  }
}

resource "aws_connect_contact_flow" "outbound" {
  count = local.create_outbound ? 1 : 0

  instance_id = var.connect_instance_id
  name        = "${var.name} outbound"
  description = "Campaign calls: sets DefaultFlowForAgentUI to the disposition guide, then transfers the call to the queue. Use its id as the dialer's contact flow."
  type        = "CONTACT_FLOW"
  content     = local.outbound_content

  tags = var.tags

  lifecycle {
    precondition {
      condition     = local.create_disposition
      error_message = "The outbound contact flow attaches the disposition guide: it needs create_disposition_flow (and set_disposition_function_arn)."
    }

    precondition {
      condition     = can(jsondecode(local.outbound_content)) && length(regexall("[$][{]", local.outbound_content)) == 0
      error_message = "The rendered outbound contact flow is not valid JSON or keeps an unresolved template placeholder: check ${local.outbound_template}."
    }
  }
}
