################################################################################
# ActiveDialing: run claim, dial idempotency, contact ↔ task token, lanes, rate
# limiter (items in docs/architecture.md). Every item expires through `expiresAt`.
################################################################################

resource "aws_dynamodb_table" "active_dialing" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"

  attribute {
    name = "pk"
    type = "S"
  }

  ttl {
    attribute_name = "expiresAt"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  # The given key, or the AWS managed aws/dynamodb key (rather than the AWS owned default).
  server_side_encryption {
    enabled     = true
    kms_key_arn = var.kms_key_arn
  }

  tags = var.tags
}
