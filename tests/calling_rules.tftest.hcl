# The calling rules (docs/architecture.md, "Calling rules") in modules/dialer and the root, with
# the mock provider: the recipient-local calling window each function is told, its defaults and
# the variable's checks.

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

run "calling_window_defaults" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition = toset([
      for binary, env in output.lambda_function_environments : binary if contains(keys(env), "CALLING_WINDOW")
    ]) == toset(["load-list", "get-config", "dial"])
    error_message = "CALLING_WINDOW goes to the intake (load-list), whose plan counts the contacts outside their window, to the feeder (get-config), which defers them, and to dial, which checks again just before the call; to no other."
  }

  assert {
    condition = jsondecode(output.lambda_function_environments["dial"].CALLING_WINDOW) == {
      enabled           = true
      unknown_time_zone = null
      days = {
        for day in ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"] :
        day => [{ start = "08:00", end = "21:00" }]
      }
    }
    error_message = "CALLING_WINDOW decodes to the documented default, 08:00-21:00 every day: ${output.lambda_function_environments["dial"].CALLING_WINDOW}"
  }

  assert {
    # The example the functions' own tests read is exactly what Terraform sets by default.
    condition = alltrue([
      for binary in ["get-config", "dial"] :
      output.lambda_function_environments[binary].CALLING_WINDOW == jsondecode(file("functions/${binary}/environment.json")).variables.CALLING_WINDOW.example
    ])
    error_message = "functions/<binary>/environment.json's CALLING_WINDOW example must be the default rendering: ${output.lambda_function_environments["dial"].CALLING_WINDOW}"
  }
}

run "calling_window_given" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    calling_window = {
      days = {
        MONDAY   = [{ start = "09:00", end = "12:00" }, { start = "14:00", end = "24:00" }]
        SATURDAY = [{ start = "10:00", end = "16:00" }]
      }
      unknown_time_zone = "America/New_York"
    }
  }

  assert {
    condition = jsondecode(output.lambda_function_environments["get-config"].CALLING_WINDOW) == {
      enabled           = true
      unknown_time_zone = "America/New_York"
      days = {
        MONDAY   = [{ start = "09:00", end = "12:00" }, { start = "14:00", end = "24:00" }]
        SATURDAY = [{ start = "10:00", end = "16:00" }]
      }
    }
    error_message = "CALLING_WINDOW holds the given days only (a day left out has no calls) and the fallback zone: ${output.lambda_function_environments["get-config"].CALLING_WINDOW}"
  }
}

run "calling_window_through_the_root" {
  command = plan

  variables {
    dialer_calling_window = { enabled = false }
  }

  assert {
    condition     = jsondecode(module.dialer[0].lambda_function_environments["dial"].CALLING_WINDOW).enabled == false
    error_message = "The root's dialer_calling_window reaches the dialer."
  }
}

run "calling_window_unknown_day" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    calling_window = { days = { Monday = [{ start = "08:00", end = "21:00" }] } }
  }
  expect_failures = [var.calling_window]
}

run "calling_window_range_backwards" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    calling_window = { days = { MONDAY = [{ start = "21:00", end = "08:00" }] } }
  }
  expect_failures = [var.calling_window]
}

run "calling_window_time_not_hh_mm" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    calling_window = { days = { MONDAY = [{ start = "8:00", end = "21:00" }] } }
  }
  expect_failures = [var.calling_window]
}

run "calling_window_start_at_midnight_end" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    calling_window = { days = { MONDAY = [{ start = "24:00", end = "24:00" }] } }
  }
  expect_failures = [var.calling_window]
}

run "calling_window_bad_fallback_zone" {
  command = plan
  module {
    source = "./modules/dialer"
  }
  variables {
    calling_window = { unknown_time_zone = "New York" }
  }
  expect_failures = [var.calling_window]
}

run "frequency_cap_off_by_default" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  assert {
    condition = toset([
      for binary, env in output.lambda_function_environments : binary if contains(keys(env), "FREQUENCY_CAP")
    ]) == toset(["load-list", "get-config", "dial"])
    error_message = "FREQUENCY_CAP goes to the intake (load-list), whose plan counts capped numbers, to the feeder (get-config), which defers them, and to dial, which records each call; to no other."
  }

  assert {
    condition = alltrue([
      for binary in ["get-config", "dial"] :
      output.lambda_function_environments[binary].FREQUENCY_CAP == jsondecode(file("functions/${binary}/environment.json")).variables.FREQUENCY_CAP.example
    ])
    error_message = "functions/<binary>/environment.json's FREQUENCY_CAP example must be the default rendering: ${output.lambda_function_environments["dial"].FREQUENCY_CAP}"
  }

  assert {
    condition     = jsondecode(output.lambda_function_environments["dial"].FREQUENCY_CAP) == { enabled = false, max_calls = 3, period_hours = 24 }
    error_message = "The cap is off by default: ${output.lambda_function_environments["dial"].FREQUENCY_CAP}"
  }
}

run "frequency_cap_through_the_root" {
  command = plan

  variables {
    dialer_frequency_cap = { enabled = true, max_calls = 2, period_hours = 168 }
  }

  assert {
    condition     = jsondecode(module.dialer[0].lambda_function_environments["get-config"].FREQUENCY_CAP) == { enabled = true, max_calls = 2, period_hours = 168 }
    error_message = "dialer_frequency_cap must reach the functions: ${module.dialer[0].lambda_function_environments["get-config"].FREQUENCY_CAP}"
  }
}

run "frequency_cap_out_of_bounds" {
  command = plan

  module {
    source = "./modules/dialer"
  }

  variables {
    frequency_cap = { enabled = true, max_calls = 0, period_hours = 745 }
  }

  expect_failures = [var.frequency_cap]
}
