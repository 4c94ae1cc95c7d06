# The root module's outbound contact flow (create_outbound_contact_flow): it attaches the
# disposition guide this deployment created and queues calls to connect_queue_id.
# (Its own file, as root_contact_flows.tftest.hcl: overriding a nested module's outputs after
# another apply in the same state crashes Terraform 1.11's test runner.)

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

run "outbound_contact_flow_needs_the_flows_and_the_dialer" {
  command = plan

  variables {
    create_outbound_contact_flow = true
    create_contact_flows         = false
  }

  expect_failures = [data.aws_partition.current]
}

run "outbound_contact_flow_attaches_the_deployed_guide" {
  variables {
    create_contact_flows         = true
    create_outbound_contact_flow = true
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
    condition     = output.outbound_contact_flow_id != null && output.outbound_contact_flow_id == module.contact_flows[0].outbound_contact_flow_id
    error_message = "create_outbound_contact_flow must create the flow and output its id."
  }

  assert {
    condition = (
      [for a in jsondecode(module.contact_flows[0].outbound_contact_flow_content).Actions : a.Parameters.Attributes.DefaultFlowForAgentUI if a.Type == "UpdateContactAttributes"] == [output.disposition_flow_id] &&
      [for a in jsondecode(module.contact_flows[0].outbound_contact_flow_content).Actions : a.Parameters.QueueId if a.Type == "UpdateContactTargetQueue"] == [var.connect_queue_id]
    )
    error_message = "The outbound flow must set DefaultFlowForAgentUI to the deployed guide and queue calls to connect_queue_id."
  }
}
