# modules/caller-id with a mocked provider: least privilege, the optional routing object and
# bucket, the Connect association, and the routing file validation.
# The rendered policy JSON is checked in iam_policies_rendered.tftest.hcl.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                 = "blaster"
  lambda_artifacts_dir = "./tests/fixtures/artifacts/x86_64"
  bucket_name          = "acme-routing"
  routing_object_key   = "caller-id/routing.json"
}

run "existing_bucket_policy_allows_exactly_the_routing_object" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  assert {
    condition     = length(data.aws_iam_policy_document.caller_id[0].statement) == 1
    error_message = "Without a KMS key the function's policy must have exactly one statement."
  }

  assert {
    condition = (
      data.aws_iam_policy_document.caller_id[0].statement[0].effect == "Allow" &&
      data.aws_iam_policy_document.caller_id[0].statement[0].actions == toset(["s3:GetObject"]) &&
      data.aws_iam_policy_document.caller_id[0].statement[0].resources == toset(["arn:aws:s3:::acme-routing/caller-id/routing.json"])
    )
    error_message = "The policy must allow s3:GetObject on the routing object ARN and nothing else."
  }

  assert {
    condition     = length(aws_s3_object.routing) == 0 && length(aws_s3_bucket.this) == 0
    error_message = "Without routing and create_bucket, neither the object nor a bucket may be planned."
  }

  assert {
    condition     = length(aws_connect_lambda_function_association.this) == 0
    error_message = "Without connect_instance_id no association may be planned."
  }

  assert {
    condition     = output.bucket_name == "acme-routing" && output.routing_object_arn == "arn:aws:s3:::acme-routing/caller-id/routing.json"
    error_message = "Outputs must name the given bucket and the routing object."
  }
}

run "routing_object_association_and_key" {
  module {
    source = "./modules/caller-id"
  }

  variables {
    connect_instance_id       = "11111111-2222-3333-4444-555555555555"
    kms_key_arn               = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    routing_cache_ttl_seconds = 30
    routing = {
      GB      = "+442079460001"
      US      = ["+12125550101", "+12125550102"]
      "+4420" = "+442079460002"
      Default = "+12125550100"
    }
  }

  assert {
    condition     = length(aws_connect_lambda_function_association.this) == 1
    error_message = "With connect_instance_id the function must be associated with the instance."
  }

  assert {
    condition = (
      aws_connect_lambda_function_association.this[0].instance_id == "11111111-2222-3333-4444-555555555555" &&
      aws_connect_lambda_function_association.this[0].function_arn == module.function.function_arn
    )
    error_message = "The association must link this instance and the caller-id function."
  }

  assert {
    condition     = length(aws_s3_object.routing) == 1
    error_message = "With routing the routing object must be created."
  }

  assert {
    condition = (
      jsondecode(aws_s3_object.routing[0].content) == {
        GB      = "+442079460001"
        US      = ["+12125550101", "+12125550102"]
        "+4420" = "+442079460002"
        Default = "+12125550100"
      } &&
      aws_s3_object.routing[0].bucket == "acme-routing" &&
      aws_s3_object.routing[0].key == "caller-id/routing.json" &&
      aws_s3_object.routing[0].content_type == "application/json"
    )
    error_message = "The routing object must hold the routing map as JSON at the configured key."
  }

  assert {
    condition     = aws_s3_object.routing[0].server_side_encryption == "aws:kms" && aws_s3_object.routing[0].kms_key_id == var.kms_key_arn
    error_message = "With a customer key the routing object must be encrypted with it."
  }

  assert {
    condition = (
      length(data.aws_iam_policy_document.caller_id[0].statement) == 2 &&
      data.aws_iam_policy_document.caller_id[0].statement[1].actions == toset(["kms:Decrypt"]) &&
      data.aws_iam_policy_document.caller_id[0].statement[1].resources == toset([var.kms_key_arn])
    )
    error_message = "With a customer key the policy must add kms:Decrypt on that key only."
  }

  assert {
    condition     = output.connect_lambda_function_association_id != null
    error_message = "The association id must be an output."
  }
}

run "function_environment" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    routing_cache_ttl_seconds = 45
  }

  assert {
    condition = output.lambda_environment == tomap({
      BUCKET_NAME               = "acme-routing"
      COUNTRY_ROUTING_LIST_KEY  = "caller-id/routing.json"
      ROUTING_CACHE_TTL_SECONDS = "45"
      TRUST_ROOTS               = "amazon"
    })
    error_message = "The function must get BUCKET_NAME, COUNTRY_ROUTING_LIST_KEY, ROUTING_CACHE_TTL_SECONDS and TRUST_ROOTS (amazon by default)."
  }
}

run "trust_roots_system_and_nothing_else" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    trust_roots = "system"
  }

  assert {
    condition     = output.lambda_environment["TRUST_ROOTS"] == "system"
    error_message = "trust_roots = system must reach the function as TRUST_ROOTS."
  }
}

run "trust_roots_rejects_other_stores" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    trust_roots = "mozilla"
  }

  expect_failures = [var.trust_roots]
}

run "created_bucket_is_private_encrypted_versioned_tls_only" {
  module {
    source = "./modules/caller-id"
  }

  variables {
    create_bucket = true
    bucket_name   = null
    routing       = { Default = "+12125550100" }
  }

  assert {
    condition     = aws_s3_bucket.this[0].bucket_prefix == "blaster-routing-"
    error_message = "A bucket created without a name must be named from the deployment name."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this[0].block_public_acls &&
      aws_s3_bucket_public_access_block.this[0].block_public_policy &&
      aws_s3_bucket_public_access_block.this[0].ignore_public_acls &&
      aws_s3_bucket_public_access_block.this[0].restrict_public_buckets
    )
    error_message = "Every public access block setting must be on."
  }

  assert {
    condition     = one(aws_s3_bucket_versioning.this[0].versioning_configuration).status == "Enabled"
    error_message = "The routing bucket must be versioned (a bad file is undone by restoring a version)."
  }

  assert {
    condition     = one(one(aws_s3_bucket_server_side_encryption_configuration.this[0].rule).apply_server_side_encryption_by_default).sse_algorithm == "AES256"
    error_message = "Without a customer key the bucket must default to SSE-S3."
  }

  assert {
    condition = (
      one(data.aws_iam_policy_document.bucket[0].statement).effect == "Deny" &&
      one(one(data.aws_iam_policy_document.bucket[0].statement).condition).variable == "aws:SecureTransport" &&
      one(one(data.aws_iam_policy_document.bucket[0].statement).condition).values == tolist(["false"])
    )
    error_message = "The bucket policy must deny every request not made over TLS."
  }

  assert {
    condition     = aws_s3_object.routing[0].bucket == aws_s3_bucket.this[0].id
    error_message = "The routing object must go into the bucket created here."
  }

  assert {
    condition     = one(data.aws_iam_policy_document.caller_id[0].statement).resources == toset(["${aws_s3_bucket.this[0].arn}/caller-id/routing.json"])
    error_message = "The function may only read the routing object of the bucket created here."
  }
}

run "create_false_plans_nothing" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    create              = false
    create_bucket       = true
    routing             = { Default = "+12125550100" }
    connect_instance_id = "11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = (
      length(aws_s3_bucket.this) == 0 && length(aws_s3_object.routing) == 0 &&
      length(aws_connect_lambda_function_association.this) == 0 &&
      length(data.aws_iam_policy_document.caller_id) == 0 &&
      output.lambda_function_arn == null && output.bucket_name == null
    )
    error_message = "create = false must plan nothing."
  }
}

run "missing_bucket_is_reported" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    bucket_name = null
  }

  expect_failures = [data.aws_iam_policy_document.caller_id]
}

run "routing_keys_must_be_iso_default_or_prefix" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    routing = { gb = "+442079460001", "44" = "+442079460001", Default = "+12125550100" }
  }

  expect_failures = [var.routing]
}

run "routing_values_must_be_e164" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    routing = { GB = "02079460001", US = "+1 212 555 0101" }
  }

  expect_failures = [var.routing]
}

run "routing_pools_must_be_non_empty_lists_of_e164" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    routing = { GB = [], US = ["+12125550101", "2125550102"] }
  }

  expect_failures = [var.routing]
}

run "routing_must_be_a_map" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    routing = "+442079460001"
  }

  expect_failures = [var.routing]
}

run "invalid_variables" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  variables {
    name                = "Blaster_1"
    timeout             = 9
    connect_instance_id = "arn:aws:connect:eu-west-2:123456789012:instance/11111111-2222-3333-4444-555555555555"
    routing_object_key  = "/routing.json"
  }

  expect_failures = [var.name, var.timeout, var.connect_instance_id, var.routing_object_key]
}

run "routing_key_without_wildcards" {
  command = plan

  module {
    source = "./modules/caller-id"
  }

  # "*" in the key would grant s3:GetObject on every matching object of the bucket.
  variables {
    routing_object_key = "caller-id/*.json"
  }

  expect_failures = [var.routing_object_key]
}
