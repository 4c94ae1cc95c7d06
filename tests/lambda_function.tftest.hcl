# modules/lambda-function on its own: log group first, one role, JSON logs, the zip precondition.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  function_name = "test-caller-id"
  binary_name   = "caller-id"
  artifacts_dir = "./tests/fixtures/artifacts/x86_64"
}

run "plan_defaults" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  assert {
    condition     = aws_lambda_function.this[0].runtime == "provided.al2023" && aws_lambda_function.this[0].handler == "bootstrap"
    error_message = "The function must run the cargo-lambda bootstrap on provided.al2023."
  }

  assert {
    condition     = aws_lambda_function.this[0].architectures == tolist(["x86_64"])
    error_message = "The default architecture must be x86_64."
  }

  assert {
    condition     = aws_lambda_function.this[0].source_code_hash == filebase64sha256("./tests/fixtures/artifacts/x86_64/caller-id/bootstrap.zip")
    error_message = "source_code_hash must be the hash of <artifacts_dir>/<binary_name>/bootstrap.zip."
  }

  assert {
    condition     = aws_lambda_function.this[0].logging_config[0].log_format == "JSON" && aws_lambda_function.this[0].logging_config[0].application_log_level == "INFO"
    error_message = "Logs must be JSON at the INFO application level by default."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this[0].name == "/aws/lambda/test-caller-id" && aws_cloudwatch_log_group.this[0].retention_in_days == 30
    error_message = "The log group must be the function's own, with a retention."
  }

  assert {
    condition     = aws_lambda_function.this[0].logging_config[0].log_group == aws_cloudwatch_log_group.this[0].name
    error_message = "The function must log into the group this module creates."
  }

  assert {
    condition     = length(aws_iam_role_policy.function) == 0
    error_message = "No function policy is attached when policy_json is null."
  }

  assert {
    condition     = length(aws_lambda_function.this[0].environment) == 0 && length(aws_lambda_function.this[0].tracing_config) == 0
    error_message = "No environment block without variables, no tracing configuration by default."
  }
}

run "apply_with_policy_and_tracing" {
  module {
    source = "./modules/lambda-function"
  }

  variables {
    policy_json  = "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"Read\",\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::b/k\"}]}"
    tracing_mode = "Active"
    architecture = "arm64"
    environment  = { A = "1" }
    tags         = { Team = "contact-centre" }
  }

  assert {
    condition     = aws_iam_role_policy.function[0].policy == var.policy_json
    error_message = "policy_json must be attached unchanged as the function's own policy."
  }

  assert {
    condition     = one([for s in data.aws_iam_policy_document.logs[0].statement : s.resources if s.sid == "WriteOwnLogGroup"]) == toset(["${aws_cloudwatch_log_group.this[0].arn}:*"])
    error_message = "The logging statement must be scoped to the function's own log group."
  }

  assert {
    condition     = length([for s in data.aws_iam_policy_document.logs[0].statement : s if s.sid == "XRayWrite"]) == 1
    error_message = "Active tracing must grant the X-Ray write actions."
  }

  assert {
    condition     = aws_lambda_function.this[0].tracing_config[0].mode == "Active" && aws_lambda_function.this[0].environment[0].variables["A"] == "1"
    error_message = "Tracing mode and environment must reach the function."
  }

  assert {
    condition     = output.role_arn == aws_iam_role.this[0].arn && output.function_arn == aws_lambda_function.this[0].arn && output.log_group_name == "/aws/lambda/test-caller-id"
    error_message = "Outputs must expose the created resources."
  }

  assert {
    condition     = aws_lambda_function.this[0].tags["Team"] == "contact-centre" && aws_iam_role.this[0].tags["Team"] == "contact-centre"
    error_message = "Tags must reach every resource."
  }
}

run "missing_zip_names_the_build_command" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    artifacts_dir = "./tests/fixtures/artifacts/does-not-exist"
  }

  expect_failures = [aws_lambda_function.this]
}

run "create_false_plans_nothing" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    create = false
  }

  assert {
    condition     = length(aws_lambda_function.this) == 0 && length(aws_iam_role.this) == 0 && length(aws_cloudwatch_log_group.this) == 0 && output.function_arn == null
    error_message = "create = false must plan nothing."
  }
}

run "invalid_architecture" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    architecture = "aarch64"
    log_level    = "info"
  }

  expect_failures = [var.architecture, var.log_level]
}

run "dead_letter_target_for_asynchronous_callers" {
  command = plan

  module {
    source = "./modules/lambda-function"
  }

  variables {
    dead_letter_target_arn = "arn:aws:sqs:eu-west-2:123456789012:load-list-dlq"
  }

  assert {
    condition     = aws_lambda_function.this[0].dead_letter_config[0].target_arn == var.dead_letter_target_arn
    error_message = "The function must send failed asynchronous events to the given target."
  }

  assert {
    condition = one([
      for s in data.aws_iam_policy_document.logs[0].statement : s if s.sid == "DeadLetters"
      ]).actions == toset(["sqs:SendMessage"]) && one([
      for s in data.aws_iam_policy_document.logs[0].statement : s if s.sid == "DeadLetters"
    ]).resources == toset([var.dead_letter_target_arn])
    error_message = "The role may send to the dead-letter queue and nothing else."
  }
}
