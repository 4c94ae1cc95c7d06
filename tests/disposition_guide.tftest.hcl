# The disposition guide as Amazon Connect runs it: the Show view block branches on the view's
# action (the button the agent chose), each branch passes that action name to set-disposition,
# and the outbound contact flow attaches the guide to the call (DefaultFlowForAgentUI) before
# queueing it.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                         = "blaster"
  connect_instance_id          = "11111111-2222-3333-4444-555555555555"
  caller_id_function_arn       = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-caller-id"
  set_disposition_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-set-disposition"
  dispositions                 = ["Interested", "Not interested", "Call \"back\" later"]
}

run "each_branch_of_the_view_passes_its_action_name" {
  module {
    source = "./modules/connect-flows"
  }

  assert {
    condition = alltrue([
      for c in [for a in jsondecode(output.disposition_flow_content).Actions : a if a.Type == "ShowView"][0].Transitions.Conditions :
      c.Condition.Operator == "Equals" && length(c.Condition.Operands) == 1
    ])
    error_message = "Each branch out of the Show view block must compare the view's action with one action name (Equals)."
  }

  assert {
    # The buttons are the view's actions: the branches must cover exactly them.
    condition = (
      tolist([for c in [for a in jsondecode(output.disposition_flow_content).Actions : a if a.Type == "ShowView"][0].Transitions.Conditions : c.Condition.Operands[0]]) ==
      tolist([for a in jsondecode(output.disposition_flow_content).Actions : a.Parameters.ViewData.Actions if a.Type == "ShowView"][0])
    )
    error_message = "There must be one branch per action the view shows, with the action's own name."
  }

  assert {
    # Follow each branch: it must invoke set-disposition with the very action it matched.
    condition = alltrue([
      for c in [for a in jsondecode(output.disposition_flow_content).Actions : a if a.Type == "ShowView"][0].Transitions.Conditions :
      lookup({
        for a in jsondecode(output.disposition_flow_content).Actions : a.Identifier => a.Parameters.LambdaInvocationAttributes.disposition
        if a.Type == "InvokeLambdaFunction" && try(a.Parameters.LambdaFunctionARN, "") == var.set_disposition_function_arn
      }, c.NextAction, null) == c.Condition.Operands[0]
    ])
    error_message = "Each branch must invoke set-disposition with the action name it branched on, as the disposition."
  }

  assert {
    condition = [
      for e in [for a in jsondecode(output.disposition_flow_content).Actions : a if a.Type == "ShowView"][0].Transitions.Errors : e.ErrorType
    ] == ["NoMatchingCondition", "TimeLimitExceeded", "NoMatchingError"]
    error_message = "The Show view block must handle the errors ShowView documents (no matching condition, time limit, any other)."
  }

  assert {
    condition     = length(aws_connect_contact_flow.outbound) == 0 && output.outbound_contact_flow_id == null
    error_message = "The outbound contact flow is opt-in (create_outbound_contact_flow)."
  }
}

run "outbound_flow_attaches_the_guide_then_queues_the_call" {
  module {
    source = "./modules/connect-flows"
  }

  variables {
    create_outbound_contact_flow = true
    connect_queue_id             = "33333333-4444-5555-6666-777777777777"
  }

  assert {
    condition     = aws_connect_contact_flow.outbound[0].type == "CONTACT_FLOW" && aws_connect_contact_flow.outbound[0].instance_id == var.connect_instance_id
    error_message = "The outbound contact flow must be a CONTACT_FLOW (the flow StartOutboundVoiceContact runs) in the instance."
  }

  assert {
    condition = (
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a if a.Identifier == jsondecode(aws_connect_contact_flow.outbound[0].content).StartAction][0].Type == "UpdateContactAttributes" &&
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a if a.Identifier == jsondecode(aws_connect_contact_flow.outbound[0].content).StartAction][0].Parameters.TargetContact == "Current" &&
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a if a.Identifier == jsondecode(aws_connect_contact_flow.outbound[0].content).StartAction][0].Parameters.Attributes.DefaultFlowForAgentUI == aws_connect_contact_flow.disposition[0].contact_flow_id
    )
    error_message = "The flow must start by setting DefaultFlowForAgentUI on the call to the disposition guide's flow id."
  }

  assert {
    # Attribute first, then the working queue, then the transfer: the attribute must be set
    # before the contact is routed to a queue.
    condition = (
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a.Transitions.NextAction if a.Type == "UpdateContactAttributes"] == ["set-working-queue"] &&
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a.Parameters.QueueId if a.Type == "UpdateContactTargetQueue"] == [var.connect_queue_id] &&
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a.Transitions.NextAction if a.Type == "UpdateContactTargetQueue"] == ["transfer-to-queue"] &&
      [for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : a.Type if a.Identifier == "transfer-to-queue"] == ["TransferContactToQueue"]
    )
    error_message = "After the attribute, the flow must set the working queue and transfer the call to it."
  }

  assert {
    condition = alltrue(flatten([
      for a in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : [
        for next in concat(
          can(a.Transitions.NextAction) ? [a.Transitions.NextAction] : [],
          [for e in try(a.Transitions.Errors, []) : e.NextAction],
        ) : contains([for b in jsondecode(aws_connect_contact_flow.outbound[0].content).Actions : b.Identifier], next)
      ]
    ]))
    error_message = "Every transition of the outbound flow must lead to an action of the flow."
  }

  assert {
    condition     = output.outbound_contact_flow_id == aws_connect_contact_flow.outbound[0].contact_flow_id && !strcontains(output.outbound_contact_flow_content, "$${")
    error_message = "The outbound flow's id must be an output, and no placeholder may survive rendering."
  }
}

run "outbound_flow_without_a_queue_keeps_the_dialers_queue" {
  module {
    source = "./modules/connect-flows"
  }

  variables {
    create_outbound_contact_flow = true
  }

  assert {
    condition = (
      length([for a in jsondecode(output.outbound_contact_flow_content).Actions : a if a.Type == "UpdateContactTargetQueue"]) == 0 &&
      [for a in jsondecode(output.outbound_contact_flow_content).Actions : a.Transitions.NextAction if a.Type == "UpdateContactAttributes"] == ["transfer-to-queue"]
    )
    error_message = "Without connect_queue_id the flow must transfer to the queue StartOutboundVoiceContact was given, with no working-queue block."
  }
}

run "outbound_flow_needs_the_guide" {
  command = plan

  module {
    source = "./modules/connect-flows"
  }

  variables {
    create_outbound_contact_flow = true
    create_disposition_flow      = false
  }

  expect_failures = [aws_connect_contact_flow.outbound]
}

run "outbound_flow_variables_are_validated" {
  command = plan

  module {
    source = "./modules/connect-flows"
  }

  variables {
    create_outbound_contact_flow   = true
    connect_queue_id               = "my-queue"
    outbound_contact_flow_template = " "
  }

  expect_failures = [var.connect_queue_id, var.outbound_contact_flow_template]
}
