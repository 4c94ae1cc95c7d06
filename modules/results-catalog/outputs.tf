output "glue_catalog_database_name" {
  description = "Name of the Glue database holding the results table."
  value       = aws_glue_catalog_database.this.name
}

output "glue_catalog_table_name" {
  description = "Name of the results table (one row per dialed contact attempt; `WHERE campaign = '<campaign>'` is required)."
  value       = aws_glue_catalog_table.results.name
}

output "athena_workgroup_name" {
  description = "Name of the Athena workgroup to run the results queries in (encrypted results, enforced settings)."
  value       = aws_athena_workgroup.this.name
}

output "athena_named_query_ids" {
  description = "Ids of the saved queries, keyed by name (`outcomes_by_hour`, `answer_rate_by_caller_id`, `attempts_per_contact`)."
  value       = { for k, q in aws_athena_named_query.this : k => q.id }
}

output "glue_catalog_table_location" {
  description = "Where the results table reads the records (`s3://<results bucket>/results/`)."
  value       = aws_glue_catalog_table.results.storage_descriptor[0].location
}
