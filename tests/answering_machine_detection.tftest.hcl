# Answering machine detection, opt-in (README, "Answering machine detection"): the dialer's
# `answering_machine_detection` reaches dial as ANSWERING_MACHINE_DETECTION (dial::amd reads it),
# off by default; the root's dialer_answering_machine_detection is passed through; bad values
# fail with a clear message. Which variables each function gets is environment.tftest.hcl's.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  connect_instance_id     = "11111111-2222-3333-4444-555555555555"
  connect_contact_flow_id = "66666666-7777-8888-9999-000000000000"
  connect_queue_id        = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
}

run "off_by_default" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition     = jsondecode(output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION) == { enabled = false, await_answer_machine_prompt = false, campaign_id = null }
    error_message = "ANSWERING_MACHINE_DETECTION is off by default: ${output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION}"
  }

  assert {
    condition     = output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION == jsondecode(file("functions/dial/environment.json")).variables.ANSWERING_MACHINE_DETECTION.example
    error_message = "functions/dial/environment.json's ANSWERING_MACHINE_DETECTION example must be the default rendering: ${output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION}"
  }

  assert {
    condition     = [for binary, env in output.lambda_function_environments : binary if contains(keys(env), "ANSWERING_MACHINE_DETECTION")] == ["dial"]
    error_message = "Only dial places calls: ANSWERING_MACHINE_DETECTION goes to dial alone."
  }
}

run "enabled_with_a_campaign" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    answering_machine_detection = {
      enabled                     = true
      await_answer_machine_prompt = true
      campaign_id                 = "8f4e0d3a-1b2c-4d5e-8f90-0a1b2c3d4e5f"
    }
  }

  assert {
    condition     = jsondecode(output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION) == { enabled = true, await_answer_machine_prompt = true, campaign_id = "8f4e0d3a-1b2c-4d5e-8f90-0a1b2c3d4e5f" }
    error_message = "The given settings reach dial as they are: ${output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION}"
  }
}

run "enabled_without_a_campaign" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    answering_machine_detection = { enabled = true }
  }

  assert {
    condition     = jsondecode(output.lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION) == { enabled = true, await_answer_machine_prompt = false, campaign_id = null }
    error_message = "Detection without a campaign id is accepted (CampaignId is optional in StartOutboundVoiceContact)."
  }
}

run "root_passes_it_to_the_dialer" {
  command = plan

  variables {
    dialer_answering_machine_detection = { enabled = true, campaign_id = "cmp-1" }
  }

  assert {
    condition     = jsondecode(module.dialer[0].lambda_function_environments["dial"].ANSWERING_MACHINE_DETECTION) == { enabled = true, await_answer_machine_prompt = false, campaign_id = "cmp-1" }
    error_message = "dialer_answering_machine_detection reaches dial through the dialer module."
  }
}

run "campaign_id_empty" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    answering_machine_detection = { enabled = true, campaign_id = " " }
  }
  expect_failures = [var.answering_machine_detection]
}

run "campaign_id_too_long" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    answering_machine_detection = { enabled = true, campaign_id = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx" }
  }
  expect_failures = [var.answering_machine_detection]
}

run "await_prompt_without_detection" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    answering_machine_detection = { await_answer_machine_prompt = true }
  }
  expect_failures = [var.answering_machine_detection]
}
