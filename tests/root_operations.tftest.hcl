# The root module's operations toggles: create_dashboard (the dialer's dashboard) and
# create_results_catalog (modules/results-catalog over the dialer's results bucket), their
# outputs, and that neither exists without the dialer.

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

run "results_catalog_reads_the_dialers_results_bucket" {
  command = plan

  variables {
    dialer_results_bucket_name = "sales-campaign-results"
    kms_key_arn                = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    results_catalog = {
      database_name        = "sales_calls"
      query_results_prefix = "athena/"
    }
  }

  assert {
    condition     = output.glue_catalog_database_name == "sales_calls"
    error_message = "results_catalog settings must reach the module."
  }
}

run "toggles_off_create_neither" {
  command = plan

  variables {
    create_dashboard       = false
    create_results_catalog = false
  }

  assert {
    condition = (
      output.cloudwatch_dashboard_name == null && output.cloudwatch_dashboard_arn == null &&
      length(module.results_catalog) == 0 &&
      output.glue_catalog_database_name == null && output.glue_catalog_table_name == null &&
      output.athena_workgroup_name == null && output.athena_named_query_ids == {}
    )
    error_message = "create_dashboard = false and create_results_catalog = false must create no dashboard and no catalog."
  }

  assert {
    condition     = length(module.dialer) == 1
    error_message = "The dialer itself does not depend on the toggles."
  }
}

run "no_dialer_no_catalog" {
  command = plan

  variables {
    create_dialer = false
  }

  assert {
    condition     = length(module.results_catalog) == 0 && output.cloudwatch_dashboard_name == null && output.athena_workgroup_name == null
    error_message = "Without the dialer there are no results to query and no dialer dashboard."
  }
}

run "dashboard_and_results_catalog_are_on_by_default" {
  # apply (mocked), and last: the saved queries' ids are known only once they exist, and the
  # runs after an apply would plan against its mocked state.
  command = apply

  assert {
    condition     = output.cloudwatch_dashboard_name == "blaster-dialer" && length(module.dialer[0].dashboard_metric_names) == 10
    error_message = "The dialer's dashboard (and its metric filters) must be on by default."
  }

  assert {
    condition = (
      length(module.results_catalog) == 1 &&
      output.glue_catalog_database_name == "blaster_outbound" &&
      output.glue_catalog_table_name == "results" &&
      output.athena_workgroup_name == "blaster-results" &&
      length(output.athena_named_query_ids) == 3
    )
    error_message = "The results catalog must be on by default, with its database, table, workgroup and three saved queries as outputs."
  }

  assert {
    condition     = module.results_catalog[0].glue_catalog_database_name == output.glue_catalog_database_name
    error_message = "The root outputs must be the results catalog's."
  }

  assert {
    condition     = module.results_catalog[0].glue_catalog_table_location == "s3://${output.results_bucket_name}/results/"
    error_message = "The results table must read the dialer's own results bucket."
  }
}
