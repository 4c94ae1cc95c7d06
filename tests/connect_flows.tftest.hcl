# modules/connect-flows: both flows rendered from sample-files/ with the deployment's ARNs.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                         = "blaster"
  connect_instance_id          = "11111111-2222-3333-4444-555555555555"
  caller_id_function_arn       = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-caller-id"
  set_disposition_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-set-disposition"
}

run "whisper_flow_invokes_caller_id_then_sets_the_caller_id" {
  module {
    source = "./modules/connect-flows"
  }

  assert {
    condition     = aws_connect_contact_flow.outbound_whisper[0].type == "OUTBOUND_WHISPER" && aws_connect_contact_flow.outbound_whisper[0].instance_id == var.connect_instance_id
    error_message = "The whisper flow must be an OUTBOUND_WHISPER flow in the given instance."
  }

  assert {
    condition     = !strcontains(aws_connect_contact_flow.outbound_whisper[0].content, "$${")
    error_message = "No placeholder may survive rendering."
  }

  assert {
    condition = (
      [for a in jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).Actions : a if a.Identifier == jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).StartAction][0].Type == "InvokeLambdaFunction" &&
      [for a in jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).Actions : a if a.Identifier == jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).StartAction][0].Parameters.LambdaFunctionARN == var.caller_id_function_arn &&
      [for a in jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).Actions : a if a.Identifier == jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).StartAction][0].Parameters.InvocationTimeLimitSeconds == "3"
    )
    error_message = "The whisper flow must start by invoking the caller-id function, within 3 seconds."
  }

  assert {
    condition = [
      for a in jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).Actions : a.Parameters.CallerId.Number
      if a.Type == "CompleteOutboundCall" && can(a.Parameters.CallerId)
    ] == ["$.External.outbound_number"]
    error_message = "The call must be placed with the caller ID from the function's outbound_number."
  }

  assert {
    condition = alltrue(flatten([
      for a in jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).Actions : [
        for next in concat(
          can(a.Transitions.NextAction) ? [a.Transitions.NextAction] : [],
          [for e in try(a.Transitions.Errors, []) : e.NextAction],
        ) : contains([for b in jsondecode(aws_connect_contact_flow.outbound_whisper[0].content).Actions : b.Identifier], next)
      ]
    ]))
    error_message = "Every transition of the whisper flow must lead to an action of the flow."
  }

  assert {
    condition     = output.outbound_whisper_flow_id == aws_connect_contact_flow.outbound_whisper[0].contact_flow_id
    error_message = "The flow id must be an output."
  }
}

run "disposition_guide_invokes_set_disposition_once_per_code" {
  module {
    source = "./modules/connect-flows"
  }

  variables {
    dispositions = ["Sale", "No sale", "Call \"back\""]
  }

  assert {
    condition     = aws_connect_contact_flow.disposition[0].type == "CONTACT_FLOW" && !strcontains(aws_connect_contact_flow.disposition[0].content, "$${")
    error_message = "The guide must be a CONTACT_FLOW with no placeholder left."
  }

  assert {
    condition = tolist([
      for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : a.Parameters.LambdaInvocationAttributes.disposition
      if a.Type == "InvokeLambdaFunction" && try(a.Parameters.LambdaFunctionARN, "") == var.set_disposition_function_arn
    ]) == var.dispositions
    error_message = "Each disposition must invoke set-disposition with its own code (quotes escaped)."
  }

  assert {
    condition = (
      [for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : a.Parameters.ViewResource.Id if a.Type == "ShowView"] == ["arn:aws:connect:eu-west-2:aws:view/detail"] &&
      tolist([for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : a.Parameters.ViewData.Actions if a.Type == "ShowView"][0]) == var.dispositions
    )
    error_message = "The guide must show the codes in the region's managed detail view."
  }

  assert {
    condition = tolist([
      for c in [for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : a if a.Type == "ShowView"][0].Transitions.Conditions : c.Condition.Operands[0]
    ]) == var.dispositions
    error_message = "Each code must have its own branch out of the view."
  }

  assert {
    condition = alltrue(flatten([
      for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : [
        for next in concat(
          can(a.Transitions.NextAction) ? [a.Transitions.NextAction] : [],
          [for e in try(a.Transitions.Errors, []) : e.NextAction],
          [for c in try(a.Transitions.Conditions, []) : c.NextAction],
        ) : contains([for b in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : b.Identifier], next)
      ]
    ]))
    error_message = "Every transition of the guide must lead to an action of the flow."
  }
}

run "do_not_call_button_lists_the_number" {
  module {
    source = "./modules/connect-flows"
  }

  assert {
    condition = {
      for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : a.Parameters.LambdaInvocationAttributes.disposition => try(a.Parameters.LambdaInvocationAttributes.doNotCall, null)
      if a.Type == "InvokeLambdaFunction"
      } == {
      "Interested" = null, "Not interested" = null, "Call back later" = null, "Wrong number" = null, "Do not call" = "true"
    }
    error_message = "By default only the Do not call button must send doNotCall = true."
  }
}

run "do_not_call_dispositions_chosen_or_none" {
  module {
    source = "./modules/connect-flows"
  }

  variables {
    dispositions             = ["Sale", "Remove me", "Stop calling"]
    do_not_call_dispositions = ["Remove me", "Stop calling"]
  }

  assert {
    condition = [
      for a in jsondecode(aws_connect_contact_flow.disposition[0].content).Actions : a.Parameters.LambdaInvocationAttributes.disposition
      if a.Type == "InvokeLambdaFunction" && try(a.Parameters.LambdaInvocationAttributes.doNotCall, "") == "true"
    ] == ["Remove me", "Stop calling"]
    error_message = "The chosen dispositions must send doNotCall."
  }
}

run "do_not_call_disposition_must_be_a_disposition" {
  command = plan

  module {
    source = "./modules/connect-flows"
  }

  variables {
    dispositions             = ["Sale", "No sale"]
    do_not_call_dispositions = ["Do not call"]
  }

  expect_failures = [aws_connect_contact_flow.disposition]
}

run "whisper_flow_only" {
  command = plan

  module {
    source = "./modules/connect-flows"
  }

  variables {
    create_disposition_flow      = false
    set_disposition_function_arn = null
  }

  assert {
    condition     = length(aws_connect_contact_flow.disposition) == 0 && length(aws_connect_contact_flow.outbound_whisper) == 1
    error_message = "create_disposition_flow = false must plan only the whisper flow."
  }
}

run "missing_function_arn_is_reported" {
  command = plan

  module {
    source = "./modules/connect-flows"
  }

  variables {
    caller_id_function_arn = null
  }

  expect_failures = [aws_connect_contact_flow.outbound_whisper]
}

run "invalid_variables" {
  command = plan

  module {
    source = "./modules/connect-flows"
  }

  variables {
    connect_instance_id          = "my-instance"
    caller_id_time_limit_seconds = 10
    dispositions                 = ["Sale", "Sale"]
  }

  expect_failures = [var.connect_instance_id, var.caller_id_time_limit_seconds, var.dispositions]
}
