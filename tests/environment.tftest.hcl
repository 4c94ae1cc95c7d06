# Every environment variable Terraform sets on a function is read by it, and every variable a
# function reads is set: the variables of each aws_lambda_function in the plan of the root module
# are compared with functions/<binary>/environment.json, the list the function's own test holds
# its code to (outbound_core::testkit::env_contract). Only names are compared: values may be
# unknown until apply. A variable marked `set_when` in the list is set only under that condition
# (`routing`: the dialer has a routing file).

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "22222222-3333-4444-5555-666666666666"
  connect_queue_id        = "33333333-4444-5555-6666-777777777777"

  # Every function: caller ID, the dialer (with the routing file, dialer_uses_routing's default)
  # and the Pinpoint channel.
  create_pinpoint_channel = true
}

run "every_function_reads_exactly_what_terraform_sets" {
  command = plan

  assert {
    condition = (
      sort(concat(["caller-id", "queue-contacts"], keys(module.dialer[0].lambda_function_environments))) ==
      sort([for contract in fileset("functions", "*/environment.json") : dirname(contract)])
    )
    error_message = "Every deployed function needs functions/<binary>/environment.json, and every such file a deployed function: deployed ${jsonencode(sort(concat(["caller-id", "queue-contacts"], keys(module.dialer[0].lambda_function_environments))))}, listed ${jsonencode(sort([for contract in fileset("functions", "*/environment.json") : dirname(contract)]))}."
  }

  assert {
    condition = alltrue([
      for binary, env in merge(module.dialer[0].lambda_function_environments, {
        "caller-id"      = module.caller_id[0].lambda_environment
        "queue-contacts" = module.pinpoint_channel[0].lambda_environment
      }) :
      sort(keys(env)) == sort(keys(jsondecode(file("functions/${binary}/environment.json")).variables))
    ])
    error_message = "Terraform and functions/<binary>/environment.json disagree. Per function, the variables Terraform sets that the function does not read (remove them from Terraform, or read them), and those it reads that Terraform does not set (set them, or stop reading them): ${jsonencode({
      for binary, env in merge(module.dialer[0].lambda_function_environments, {
        "caller-id"      = module.caller_id[0].lambda_environment
        "queue-contacts" = module.pinpoint_channel[0].lambda_environment
        }) : binary => {
        set_not_read = setsubtract(keys(env), keys(jsondecode(file("functions/${binary}/environment.json")).variables))
        read_not_set = setsubtract(keys(jsondecode(file("functions/${binary}/environment.json")).variables), keys(env))
      } if sort(keys(env)) != sort(keys(jsondecode(file("functions/${binary}/environment.json")).variables))
    })}"
  }
}

run "without_routing_the_routing_variables_are_not_set" {
  command = plan

  variables {
    dialer_uses_routing = false
  }

  assert {
    condition = alltrue([
      for binary, env in merge(module.dialer[0].lambda_function_environments, {
        "caller-id"      = module.caller_id[0].lambda_environment
        "queue-contacts" = module.pinpoint_channel[0].lambda_environment
      }) :
      sort(keys(env)) == sort([for name, v in jsondecode(file("functions/${binary}/environment.json")).variables : name if try(v.set_when, null) != "routing"])
    ])
    error_message = "Without a routing file for the dialer, each function must get exactly the variables of its environment.json that are not set_when routing. Per function, set but not expected, and expected but not set: ${jsonencode({
      for binary, env in merge(module.dialer[0].lambda_function_environments, {
        "caller-id"      = module.caller_id[0].lambda_environment
        "queue-contacts" = module.pinpoint_channel[0].lambda_environment
        }) : binary => {
        set_not_expected = setsubtract(keys(env), [for name, v in jsondecode(file("functions/${binary}/environment.json")).variables : name if try(v.set_when, null) != "routing"])
        expected_not_set = setsubtract([for name, v in jsondecode(file("functions/${binary}/environment.json")).variables : name if try(v.set_when, null) != "routing"], keys(env))
      } if sort(keys(env)) != sort([for name, v in jsondecode(file("functions/${binary}/environment.json")).variables : name if try(v.set_when, null) != "routing"])
    })}"
  }
}
