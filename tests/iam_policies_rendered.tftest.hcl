# The IAM policy documents as AWS receives them. The real provider renders
# aws_iam_policy_document locally: configured offline (no credentials checked, no account
# looked up) and with plan runs only, nothing is called. Where every ARN in a document is
# known at plan time, its JSON is compared with a fixture in tests/fixtures/iam/.
# Action lists are compared as sets: the provider may order them differently.

provider "aws" {
  region                      = "eu-west-2"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

variables {
  name                 = "blaster"
  lambda_artifacts_dir = "./tests/fixtures/artifacts/x86_64"
}

run "caller_id_reads_only_the_routing_object" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    bucket_name        = "acme-routing"
    routing_object_key = "caller-id/routing.json"
  }

  assert {
    condition     = jsondecode(output.policy_json) == jsondecode(file("./tests/fixtures/iam/caller-id.json"))
    error_message = "caller-id's policy differs from tests/fixtures/iam/caller-id.json: ${output.policy_json}"
  }
}

run "caller_id_decrypts_with_the_given_key_only" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    bucket_name        = "acme-routing"
    routing_object_key = "caller-id/routing.json"
    kms_key_arn        = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition     = jsondecode(output.policy_json) == jsondecode(file("./tests/fixtures/iam/caller-id-kms.json"))
    error_message = "caller-id's policy differs from tests/fixtures/iam/caller-id-kms.json: ${output.policy_json}"
  }
}

run "queue_contacts_least_privilege" {
  command = plan

  module {
    source = "./modules/pinpoint-channel"
  }

  override_data {
    target = data.aws_caller_identity.current[0]
    values = {
      account_id = "123456789012"
    }
  }

  variables {
    create_app        = false
    application_id    = "0123456789abcdef0123456789abcdef"
    ledger_table_name = "blaster-campaign-ledger"
    ledger_table_arn  = "arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-campaign-ledger"
    table_name        = "blaster-active-dialing"
    table_arn         = "arn:aws:dynamodb:eu-west-2:123456789012:table/blaster-active-dialing"
    results_bucket    = "blaster-results"
    state_machine_arn = "arn:aws:states:eu-west-2:123456789012:stateMachine:blaster-dialer"
    ssm_prefix        = "/connect/blaster/blaster/"
    allowed_countries = ["GB"]
    kms_key_arn       = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"

    contact_key_kms_key_arn = "arn:aws:kms:eu-west-2:123456789012:key/99999999-8888-7777-6666-555555555555"
  }

  assert {
    condition = (
      length(jsondecode(output.policy_json).Statement) == length(jsondecode(file("./tests/fixtures/iam/queue-contacts.json")).Statement) &&
      alltrue([
        for i, want in jsondecode(file("./tests/fixtures/iam/queue-contacts.json")).Statement : (
          jsondecode(output.policy_json).Statement[i].Sid == want.Sid &&
          jsondecode(output.policy_json).Statement[i].Effect == want.Effect &&
          toset(flatten([jsondecode(output.policy_json).Statement[i].Action])) == toset(flatten([want.Action])) &&
          toset(flatten([jsondecode(output.policy_json).Statement[i].Resource])) == toset(flatten([want.Resource]))
        )
      ])
    )
    error_message = "queue-contacts' policy differs from tests/fixtures/iam/queue-contacts.json: ${output.policy_json}"
  }

  assert {
    condition     = !strcontains(output.policy_json, "\"*\"")
    error_message = "queue-contacts' policy must not use a \"*\" resource."
  }

  assert {
    condition = (
      output.invoke_source_arn == "arn:aws:mobiletargeting:eu-west-2:123456789012:apps/0123456789abcdef0123456789abcdef/*" &&
      aws_lambda_permission.pinpoint[0].source_account == "123456789012" &&
      aws_lambda_permission.pinpoint[0].principal == "pinpoint.eu-west-2.amazonaws.com" &&
      aws_lambda_permission.pinpoint[0].action == "lambda:InvokeFunction"
    )
    error_message = "The invoke permission must be scoped to this application's campaigns in this account."
  }
}
