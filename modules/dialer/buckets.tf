################################################################################
# Input bucket (CSV uploads start a campaign) and results bucket (JSON Lines).
# Both: default encryption with KMS (the given key, or aws/s3), public access
# blocked, TLS only, versioned, old versions and stale uploads expired.
################################################################################

locals {
  buckets = {
    input = {
      name       = local.input_bucket_name
      expiration = var.input_expiration_days
    }
    results = {
      name       = local.results_bucket_name
      expiration = var.results_expiration_days
    }
  }
}

resource "aws_s3_bucket" "this" {
  for_each = local.buckets

  # checkov:skip=CKV_AWS_18:Access logging needs a log bucket owned by the account's logging setup; CloudTrail data events are the usual audit trail and are configured outside this module.
  # checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the account (a second region and bucket), not of this module.
  # checkov:skip=CKV2_AWS_62:Only the input bucket notifies (CSV uploads start load-list); results need no event notification.
  bucket        = each.value.name
  force_destroy = var.force_destroy_buckets

  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(each.value.name) <= 63
      error_message = "The ${each.key} bucket name \"${each.value.name}\" is longer than 63 characters: use a shorter name, or set ${each.key}_bucket_name."
    }
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    apply_server_side_encryption_by_default {
      # KMS in both cases: the given key, or the AWS managed aws/s3 key when none is given.
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    # One data key per bucket and period instead of one KMS request per object.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  # An overwritten contact list or result can be recovered; old versions expire below.
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id

  rule {
    id     = "housekeeping"
    status = "Enabled"

    filter {}

    # Uploaded lists hold personal data: they expire (input_expiration_days); results are kept
    # unless results_expiration_days says otherwise.
    dynamic "expiration" {
      for_each = each.value.expiration != null ? [each.value.expiration] : []

      content {
        days = expiration.value
      }
    }

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "bucket" {
  for_each = local.buckets

  # Toll-fraud protection: an upload places calls, so only the named writers may upload. The
  # principal's ARN is checked, not its policies: an administrator's s3:* grant does not open it.
  dynamic "statement" {
    for_each = each.key == "input" && length(var.input_bucket_writers) > 0 ? [var.input_bucket_writers] : []

    content {
      sid       = "OnlyNamedWritersUpload"
      effect    = "Deny"
      actions   = ["s3:PutObject"]
      resources = ["arn:${local.partition}:s3:::${each.value.name}/*"]

      principals {
        type        = "*"
        identifiers = ["*"]
      }

      condition {
        test     = "ArnNotLike"
        variable = "aws:PrincipalArn"
        values   = statement.value
      }
    }
  }

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      "arn:${local.partition}:s3:::${each.value.name}",
      "arn:${local.partition}:s3:::${each.value.name}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = local.buckets

  bucket = aws_s3_bucket.this[each.key].id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  # A policy put before the public access block may be judged public and rejected.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

################################################################################
# A CSV upload invokes load-list
################################################################################

resource "aws_lambda_permission" "load_list_from_s3" {
  statement_id   = "AllowInputBucketNotification"
  action         = "lambda:InvokeFunction"
  function_name  = module.function["load-list"].function_name
  principal      = "s3.amazonaws.com"
  source_arn     = aws_s3_bucket.this["input"].arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "input" {
  bucket = aws_s3_bucket.this["input"].id

  lambda_function {
    id                  = "csv-upload-starts-load-list"
    lambda_function_arn = module.function["load-list"].function_arn
    events              = ["s3:ObjectCreated:*"]
    filter_suffix       = ".csv"
  }

  # S3 checks that it may invoke the function when the notification is put.
  depends_on = [aws_lambda_permission.load_list_from_s3]
}
