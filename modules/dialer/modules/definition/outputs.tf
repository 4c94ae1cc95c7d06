output "definition" {
  description = "The rendered ASL definition (JSON)."
  value       = local.definition
}

output "distributed" {
  description = "Whether the lanes run in a Distributed Map."
  value       = var.max_concurrency > 40
}
