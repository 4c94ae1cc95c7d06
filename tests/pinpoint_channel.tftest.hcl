# modules/pinpoint-channel with a mocked provider: the application, queue-contacts and its
# invoke permission. The exact policy JSON is checked in iam_policies_rendered.tftest.hcl.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                    = "blaster"
  lambda_artifacts_dir    = "./tests/fixtures/artifacts/x86_64"
  ledger_table_name       = "blaster-campaign-ledger"
  ledger_table_arn        = "arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"
  results_bucket          = "blaster-results"
  state_machine_arn       = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
  ssm_prefix              = "/connect/blaster/blaster/"
  allowed_countries       = ["GB", "IE"]
  contact_key_kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
}

run "created_app_and_permission_scoped_to_its_campaigns" {
  module {
    source = "./modules/pinpoint-channel"
  }

  assert {
    condition     = length(aws_pinpoint_app.this) == 1 && aws_pinpoint_app.this[0].name == "blaster"
    error_message = "The module must create the Pinpoint application by default."
  }

  assert {
    condition     = aws_lambda_permission.pinpoint[0].source_arn == "arn:aws:mobiletargeting:eu-west-2:123456789012:apps/${aws_pinpoint_app.this[0].application_id}/*"
    error_message = "The permission must be scoped to the created application's campaigns."
  }

  assert {
    condition     = aws_lambda_permission.pinpoint[0].function_name == output.lambda_function_name && output.lambda_function_name == module.function.function_name
    error_message = "The permission must be on queue-contacts."
  }

  assert {
    condition     = output.application_id == aws_pinpoint_app.this[0].application_id
    error_message = "application_id must be the created application's id."
  }

  assert {
    condition = output.lambda_environment == tomap({
      ALLOWED_COUNTRIES       = "GB,IE"
      CONTACT_KEY_KMS_KEY_ARN = var.contact_key_kms_key_arn
      LEDGER_TABLE_NAME       = var.ledger_table_name
      RESULTS_BUCKET          = var.results_bucket
      STATE_MACHINE_ARN       = var.state_machine_arn
      SSM_PREFIX              = var.ssm_prefix
    })
    error_message = "queue-contacts must get LEDGER_TABLE_NAME, RESULTS_BUCKET, STATE_MACHINE_ARN and SSM_PREFIX (no QUEUE_URL: the dialer's feeder sends to the queue)."
  }

  assert {
    condition = [for s in data.aws_iam_policy_document.queue_contacts[0].statement : s.resources] == [
      toset([var.ledger_table_arn]),
      toset([var.ledger_table_arn]),
      toset(["arn:aws:s3:::blaster-results/finals/*"]),
      toset(["arn:aws:s3:::blaster-results/rejects/*"]),
      toset([var.state_machine_arn]),
      toset([var.contact_key_kms_key_arn]),
      toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/isocountrycode"]),
      toset(["arn:aws:ssm:eu-west-2:123456789012:parameter/connect/blaster/blaster/totalRecords"]),
    ]
    error_message = "Every statement must be scoped to the dialer's own resources (no KMS statement without a key)."
  }
}

run "existing_app" {
  command = plan

  module {
    source = "./modules/pinpoint-channel"
  }

  variables {
    create_app       = false
    application_id   = "fedcba9876543210fedcba9876543210"
    invoke_principal = "pinpoint.amazonaws.com"
  }

  assert {
    condition     = length(aws_pinpoint_app.this) == 0
    error_message = "No application may be created when an existing one is given."
  }

  assert {
    condition     = aws_lambda_permission.pinpoint[0].source_arn == "arn:aws:mobiletargeting:eu-west-2:123456789012:apps/fedcba9876543210fedcba9876543210/*"
    error_message = "The permission must be scoped to the given application's campaigns."
  }

  assert {
    condition     = aws_lambda_permission.pinpoint[0].principal == "pinpoint.amazonaws.com"
    error_message = "invoke_principal must override the regional principal."
  }
}

run "no_app_is_reported" {
  command = plan

  module {
    source = "./modules/pinpoint-channel"
  }

  variables {
    create_app = false
  }

  expect_failures = [data.aws_iam_policy_document.queue_contacts]
}

run "invalid_variables" {
  command = plan

  module {
    source = "./modules/pinpoint-channel"
  }

  variables {
    application_id = "not-an-app-id"
    ssm_prefix     = "connect/blaster"
  }

  expect_failures = [var.application_id, var.ssm_prefix]
}

run "allowed_countries_reach_queue_contacts" {
  command = plan

  module {
    source = "./modules/pinpoint-channel"
  }

  assert {
    condition     = output.lambda_environment["ALLOWED_COUNTRIES"] == "GB,IE"
    error_message = "queue-contacts must get the allowed destination countries."
  }
}

run "allowed_countries_are_checked" {
  command = plan

  module {
    source = "./modules/pinpoint-channel"
  }

  variables {
    allowed_countries = ["gb", "GBR"]
  }

  expect_failures = [var.allowed_countries]
}
