# modules/results-catalog with the mock provider: the Glue table over the results records
# (columns from results-table.json, the JSON SerDe, partition projection on the campaign over
# the functions' key layout), the workgroup (encrypted query results, enforced settings) and
# the saved queries (the queries/*.sql files, whose results tests/operations checks with
# DuckDB). The root module's wiring is in root_operations.tftest.hcl.

mock_provider "aws" {
  source = "./tests/fixtures/mocks/aws"
}

variables {
  name                = "blaster"
  results_bucket_name = "blaster-results-123456789012-eu-west-2"
}

run "table_over_the_results_layout" {
  command = plan

  module {
    source = "./modules/results-catalog"
  }

  assert {
    condition     = output.glue_catalog_database_name == "blaster_outbound" && output.glue_catalog_table_name == "results" && output.athena_workgroup_name == "blaster-results"
    error_message = "Default names: database <name>_outbound, table results, workgroup <name>-results."
  }

  assert {
    condition = (
      aws_glue_catalog_table.results.storage_descriptor[0].location == "s3://blaster-results-123456789012-eu-west-2/results/" &&
      aws_glue_catalog_table.results.parameters["projection.enabled"] == "true" &&
      aws_glue_catalog_table.results.parameters["projection.campaign.type"] == "injected" &&
      aws_glue_catalog_table.results.parameters["storage.location.template"] == "s3://blaster-results-123456789012-eu-west-2/results/campaign=$${campaign}/"
    )
    error_message = "The table must read results/ and project the campaign partition onto results/campaign=<campaign>/ (records::result_object_key), so that no crawler or MSCK REPAIR is needed."
  }

  assert {
    condition = (
      [for c in aws_glue_catalog_table.results.storage_descriptor[0].columns : c.name] == [for c in jsondecode(file("./modules/results-catalog/results-table.json")).columns : c.name] &&
      [for c in aws_glue_catalog_table.results.storage_descriptor[0].columns : c.type] == [for c in jsondecode(file("./modules/results-catalog/results-table.json")).columns : c.type] &&
      [for p in aws_glue_catalog_table.results.partition_keys : "${p.name}:${p.type}"] == ["campaign:string"]
    )
    error_message = "The table's columns and partition key must be results-table.json's, in its order (the file tests/operations checks against the record type)."
  }

  assert {
    condition = (
      aws_glue_catalog_table.results.storage_descriptor[0].ser_de_info[0].serialization_library == "org.openx.data.jsonserde.JsonSerDe" &&
      aws_glue_catalog_table.results.storage_descriptor[0].ser_de_info[0].parameters["mapping.campaign_name"] == "campaign" &&
      aws_glue_catalog_table.results.storage_descriptor[0].input_format == "org.apache.hadoop.mapred.TextInputFormat"
    )
    error_message = "JSON Lines through the OpenX JSON SerDe, the record's campaign read into campaign_name (campaign is the partition)."
  }

  assert {
    condition = (
      aws_athena_workgroup.this.configuration[0].enforce_workgroup_configuration == true &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].output_location == "s3://blaster-results-123456789012-eu-west-2/athena-query-results/" &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_S3" &&
      aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == 10737418240
    )
    error_message = "The workgroup must enforce its configuration, write encrypted query results outside results/ and cap the data a query scans."
  }

  assert {
    condition = (
      toset(keys(aws_athena_named_query.this)) == toset(["outcomes_by_hour", "answer_rate_by_caller_id", "attempts_per_contact"]) &&
      alltrue([for q in aws_athena_named_query.this : q.database == "blaster_outbound" && q.workgroup == "blaster-results"]) &&
      alltrue([for q in aws_athena_named_query.this : strcontains(q.query, "FROM results\n") && strcontains(q.query, "WHERE campaign = ?") && !strcontains(q.query, "$${")])
    )
    error_message = "The three saved queries run in the database and workgroup, on the table by its name, with the campaign as their parameter."
  }

  assert {
    condition     = aws_athena_named_query.this["answer_rate_by_caller_id"].query == templatefile("./modules/results-catalog/queries/answer-rate-by-caller-id.sql", { table = "results" })
    error_message = "A saved query must be its .sql file with the table's name."
  }
}

run "customer_key_and_names" {
  command = plan

  module {
    source = "./modules/results-catalog"
  }

  variables {
    name                           = "Sales-EU"
    kms_key_arn                    = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555"
    table_name                     = "attempts"
    workgroup_name                 = "sales-eu-analysts"
    bytes_scanned_cutoff_per_query = null
  }

  assert {
    condition = (
      output.glue_catalog_database_name == "sales_eu_outbound" &&
      aws_athena_workgroup.this.name == "sales-eu-analysts" &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].encryption_option == "SSE_KMS" &&
      aws_athena_workgroup.this.configuration[0].result_configuration[0].encryption_configuration[0].kms_key_arn == var.kms_key_arn &&
      aws_athena_workgroup.this.configuration[0].bytes_scanned_cutoff_per_query == null &&
      strcontains(aws_athena_named_query.this["attempts_per_contact"].query, "FROM attempts\n")
    )
    error_message = "With a key, query results are SSE_KMS under it; the database name is lower case with '_'; the queries use the table's name."
  }
}

run "query_results_inside_the_table_are_refused" {
  command = plan

  module {
    source = "./modules/results-catalog"
  }

  variables {
    query_results_prefix = "results/athena/"
  }

  expect_failures = [var.query_results_prefix]
}

run "bad_database_name_is_refused" {
  command = plan

  module {
    source = "./modules/results-catalog"
  }

  variables {
    database_name = "sales-results"
  }

  expect_failures = [var.database_name]
}

run "tiny_scan_cutoff_is_refused" {
  command = plan

  module {
    source = "./modules/results-catalog"
  }

  variables {
    bytes_scanned_cutoff_per_query = 1000
  }

  expect_failures = [var.bytes_scanned_cutoff_per_query]
}

run "kms_alias_is_refused" {
  command = plan

  module {
    source = "./modules/results-catalog"
  }

  variables {
    kms_key_arn = "alias/results"
  }

  expect_failures = [var.kms_key_arn]
}
