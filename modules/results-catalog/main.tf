################################################################################
# The dialer's results, queryable with Athena: a Glue table over the JSON Lines
# records of the results bucket, a workgroup and saved queries.
#
# Key layout (outbound_core::records::result_object_key):
#   results/campaign=<campaign>/run=<runId>/<contactKey>-<attempt>.jsonl
# The table is partitioned by campaign with partition projection (`injected`: the
# campaign comes from the query's WHERE clause), so neither a crawler nor
# MSCK REPAIR TABLE is needed. Run ids are not enumerable, so the run is not a
# partition: a campaign's location holds its runs' folders, which Athena reads
# as well (run_id is a column of every record). The layout has no date.
################################################################################

locals {
  # Glue and Athena take lower-case letters, digits and underscores in database names.
  database_name = coalesce(var.database_name, "${replace(lower(var.name), "-", "_")}_outbound")

  table = jsondecode(file("${path.module}/results-table.json"))

  results_location = "s3://${var.results_bucket_name}/results/"

  query_results_location = "s3://${var.results_bucket_name}/${var.query_results_prefix}"

  # The saved queries: one .sql file each, `${table}` standing for the table's name (the
  # query runs in the table's database). tests/operations runs the same files.
  queries = {
    outcomes_by_hour = {
      file        = "outcomes-by-hour.sql"
      description = "Outcomes of a campaign's attempts per hour (UTC) the call was placed in. Parameter: the campaign as in the results keys."
    }
    answer_rate_by_caller_id = {
      file        = "answer-rate-by-caller-id.sql"
      description = "Answer rate of a campaign's placed calls by the caller ID they presented. Parameter: the campaign as in the results keys."
    }
    attempts_per_contact = {
      file        = "attempts-per-contact.sql"
      description = "Attempts made for each contact of a campaign, over all its runs, with the last outcome. Parameter: the campaign as in the results keys."
    }
  }
}

resource "aws_glue_catalog_database" "this" {
  name        = local.database_name
  description = "${var.name}: outbound campaign results (JSON Lines in s3://${var.results_bucket_name}/results/)."

  tags = var.tags
}

resource "aws_glue_catalog_table" "results" {
  name          = var.table_name
  database_name = aws_glue_catalog_database.this.name
  description   = "One row per dialed contact attempt (the dialer's results records). Query with WHERE campaign = '<campaign>': the campaign partition is projected from the query."
  table_type    = "EXTERNAL_TABLE"

  parameters = {
    classification = "json"
    EXTERNAL       = "TRUE"

    # Partition projection: Athena computes the partition's location from the campaign in
    # the query instead of reading partitions from the catalog.
    "projection.enabled"        = "true"
    "projection.campaign.type"  = "injected"
    "storage.location.template" = "${local.results_location}campaign=$${campaign}/"
  }

  partition_keys {
    name    = local.table.partition_keys[0].name
    type    = local.table.partition_keys[0].type
    comment = local.table.partition_keys[0].comment
  }

  storage_descriptor {
    location      = local.results_location
    input_format  = "org.apache.hadoop.mapred.TextInputFormat"
    output_format = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"

    ser_de_info {
      name                  = "results-jsonl"
      serialization_library = "org.openx.data.jsonserde.JsonSerDe"
      # A column whose name differs from the record's key reads that key.
      parameters = merge(
        { "ignore.malformed.json" = "false" },
        { for c in local.table.columns : "mapping.${c.name}" => c.json if try(c.json, null) != null },
      )
    }

    dynamic "columns" {
      for_each = local.table.columns

      content {
        name    = columns.value.name
        type    = columns.value.type
        comment = columns.value.comment
      }
    }
  }
}

resource "aws_athena_workgroup" "this" {
  name        = coalesce(var.workgroup_name, "${var.name}-results")
  description = "${var.name}: queries over the outbound campaign results; results encrypted, settings enforced."
  state       = "ENABLED"

  # Saved query results would otherwise block a destroy of the workgroup.
  force_destroy = var.force_destroy

  configuration {
    # Clients cannot override the output location or its encryption.
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query

    result_configuration {
      output_location = local.query_results_location

      encryption_configuration {
        # The deployment's key when it has one; otherwise S3-managed keys (the results
        # bucket's own default is the AWS managed aws/s3 key, which Athena cannot name).
        encryption_option = var.kms_key_arn != null ? "SSE_KMS" : "SSE_S3"
        kms_key_arn       = var.kms_key_arn
      }
    }
  }

  tags = var.tags
}

resource "aws_athena_named_query" "this" {
  for_each = local.queries

  name        = "${var.name}-${replace(each.key, "_", "-")}"
  description = each.value.description
  database    = aws_glue_catalog_database.this.name
  workgroup   = aws_athena_workgroup.this.name
  query       = templatefile("${path.module}/queries/${each.value.file}", { table = aws_glue_catalog_table.results.name })
}
