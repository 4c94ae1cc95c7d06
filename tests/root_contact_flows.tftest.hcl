# The root module with contact flows on: the flows invoke the functions this deployment created.
# (Its own file: overriding a nested module's outputs after another apply in the same state
# crashes Terraform 1.11's test runner.)

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "22222222-3333-4444-5555-666666666666"
  connect_queue_id        = "33333333-4444-5555-6666-777777777777"
}

run "contact_flows_use_the_deployed_functions" {
  variables {
    create_contact_flows = true
    caller_id_timeout    = 5
  }

  override_module {
    target = module.caller_id[0].module.function
    outputs = {
      function_arn  = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-caller-id"
      function_name = "blaster-caller-id"
      role_arn      = "arn:aws:iam::123456789012:role/blaster-caller-id"
    }
  }

  override_module {
    target = module.dialer[0]
    outputs = {
      # The results catalog reads the dialer's results bucket.
      results_bucket_name   = "blaster-results-123456789012-eu-west-2"
      lambda_function_arns  = { "set-disposition" = "arn:aws:lambda:eu-west-2:123456789012:function:blaster-set-disposition" }
      lambda_function_names = { "set-disposition" = "blaster-set-disposition" }
      lambda_role_arns      = { "set-disposition" = "arn:aws:iam::123456789012:role/blaster-set-disposition" }
      state_machine_arn     = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
      ssm_prefix            = "/connect/blaster/blaster/"
    }
  }

  assert {
    condition     = length(module.contact_flows) == 1 && output.outbound_whisper_flow_id != null && output.disposition_flow_id != null
    error_message = "create_contact_flows must create both flows when caller ID and the dialer are on."
  }

  assert {
    condition = (
      strcontains(module.contact_flows[0].outbound_whisper_flow_content, "\"arn:aws:lambda:eu-west-2:123456789012:function:blaster-caller-id\"") &&
      !strcontains(module.contact_flows[0].outbound_whisper_flow_content, "$${")
    )
    error_message = "The whisper flow must invoke the deployed caller-id function, with no placeholder left."
  }

  assert {
    condition     = strcontains(module.contact_flows[0].outbound_whisper_flow_content, "\"InvocationTimeLimitSeconds\": \"5\"")
    error_message = "The whisper flow must wait as long as caller-id may run (caller_id_timeout)."
  }

  assert {
    condition = (
      strcontains(module.contact_flows[0].disposition_flow_content, "\"arn:aws:lambda:eu-west-2:123456789012:function:blaster-set-disposition\"") &&
      !strcontains(module.contact_flows[0].disposition_flow_content, "$${")
    )
    error_message = "The disposition guide must invoke the deployed set-disposition function, with no placeholder left."
  }
}
