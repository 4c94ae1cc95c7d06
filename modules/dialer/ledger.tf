################################################################################
# Campaign ledger: one item per accepted contact and campaign, the campaign's
# source of truth (docs/architecture.md, "Campaign ledger"). The contacts queue
# is only the buffer a feeder fills a few waves ahead; whether a contact is
# dialed, and how often, is decided by conditional writes on its item here.
################################################################################

resource "aws_dynamodb_table" "campaign_ledger" {
  name         = local.ledger_table_name
  billing_mode = "PAY_PER_REQUEST"
  # CONTACT#<campaign>#<contactKey>: a hash-only key spreads a large intake over the key space
  # (one partition per campaign would throttle it).
  hash_key = "pk"

  # Only the keys are declared: every other attribute of an item is free-form.
  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "dueShard"
    type = "S"
  }

  attribute {
    name = "dueAt"
    type = "N"
  }

  attribute {
    name = "heldShard"
    type = "S"
  }

  attribute {
    name = "leaseUntil"
    type = "N"
  }

  # The next due contacts: `dueShard = <campaign>#<shard> AND dueAt <= now`, oldest first.
  # Sparse (dueShard exists only while an item is due) and keys only: each transition costs
  # one small index write, and the winner of a conditional update gets the item back itself.
  global_secondary_index {
    name            = "due"
    hash_key        = "dueShard"
    range_key       = "dueAt"
    projection_type = "KEYS_ONLY"
  }

  # Expired leases and attempts past their deadline:
  # `heldShard = <campaign>#<leased|dialing>#<shard> AND leaseUntil < now`, without a scan.
  global_secondary_index {
    name            = "held"
    hash_key        = "heldShard"
    range_key       = "leaseUntil"
    projection_type = "KEYS_ONLY"
  }

  # Set on final items only (finalAt + ledger.final_retention_days): the ledger holds phone
  # numbers, and a finished contact needs none. A contact that is not final never expires.
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

  # Losing the ledger loses which contacts were dialed and how often: a redial of a whole
  # campaign. Only a throwaway deployment (examples/local) turns this off.
  deletion_protection_enabled = var.ledger.deletion_protection

  tags = var.tags
}
