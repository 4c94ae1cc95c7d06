data "aws_partition" "current" {
  count = var.create ? 1 : 0
}

locals {
  create_bucket = var.create && var.create_bucket
  create_object = var.create && var.routing != null

  bucket_name = local.create_bucket ? aws_s3_bucket.this[0].id : var.bucket_name
  bucket_arn  = local.create_bucket ? aws_s3_bucket.this[0].arn : "arn:${try(data.aws_partition.current[0].partition, "aws")}:s3:::${coalesce(var.bucket_name, "-")}"

  # The only object the function may read.
  routing_object_arn = "${local.bucket_arn}/${var.routing_object_key}"

  environment = {
    BUCKET_NAME               = local.bucket_name
    COUNTRY_ROUTING_LIST_KEY  = var.routing_object_key
    ROUTING_CACHE_TTL_SECONDS = tostring(var.routing_cache_ttl_seconds)
    TRUST_ROOTS               = var.trust_roots
  }
}

################################################################################
# Function
################################################################################

data "aws_iam_policy_document" "caller_id" {
  count = var.create ? 1 : 0

  statement {
    sid       = "ReadRoutingFile"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = [local.routing_object_arn]
  }

  dynamic "statement" {
    for_each = var.kms_key_arn != null ? [var.kms_key_arn] : []

    content {
      sid       = "DecryptRoutingFile"
      effect    = "Allow"
      actions   = ["kms:Decrypt"]
      resources = [statement.value]
    }
  }

  lifecycle {
    precondition {
      condition     = var.create_bucket || var.bucket_name != null
      error_message = "caller-id needs a bucket for the routing file: set bucket_name to an existing bucket, or create_bucket = true."
    }
  }
}

module "function" {
  source = "../lambda-function"

  create = var.create

  function_name = "${var.name}-caller-id"
  binary_name   = "caller-id"
  description   = "Chooses the outbound caller ID of a call from the routing file in S3 (outbound whisper flow)"
  artifacts_dir = var.lambda_artifacts_dir
  architecture  = var.architecture
  memory_size   = var.memory_size
  timeout       = var.timeout

  environment = local.environment

  policy_json        = try(data.aws_iam_policy_document.caller_id[0].json, null)
  attach_policy_json = var.create

  reserved_concurrent_executions = var.reserved_concurrent_executions
  tracing_mode                   = var.tracing_mode
  log_retention_in_days          = var.log_retention_in_days
  log_level                      = var.log_level
  kms_key_arn                    = var.kms_key_arn

  tags = var.tags
}

# Associating the function lets the instance's flows invoke it: Amazon Connect adds the
# function's resource-based policy for the instance itself.
resource "aws_connect_lambda_function_association" "this" {
  count = var.create && var.connect_instance_id != null ? 1 : 0

  instance_id  = var.connect_instance_id
  function_arn = module.function.function_arn
}

################################################################################
# Routing file
################################################################################

resource "aws_s3_object" "routing" {
  count = local.create_object ? 1 : 0

  bucket       = local.bucket_name
  key          = var.routing_object_key
  content      = jsonencode(var.routing)
  content_type = "application/json"

  server_side_encryption = var.kms_key_arn != null ? "aws:kms" : "AES256"
  kms_key_id             = var.kms_key_arn

  tags = var.tags

  # Into a bucket created here: only once its default encryption and policy are in place.
  depends_on = [
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_policy.this,
  ]
}

################################################################################
# Bucket (optional)
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the routing bucket: caller-id revalidates its cached file by ETag after a TTL.
  #checkov:skip=CKV_AWS_18:One small configuration object read by one role; CloudTrail data events are the audit trail if one is wanted, server access logs would add a second bucket per deployment.
  #checkov:skip=CKV_AWS_144:The routing file is reproducible from Terraform (var.routing) and versioned here; replicating one object cross-region buys nothing.
  count = local.create_bucket ? 1 : 0

  bucket        = var.bucket_name
  bucket_prefix = var.bucket_name == null ? "${var.name}-routing-" : null
  force_destroy = var.force_destroy_bucket

  tags = var.tags
}

resource "aws_s3_bucket_public_access_block" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn != null ? "aws:kms" : "AES256"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_versioning" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  # A bad routing file is undone by restoring the previous version.
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"

    filter {}

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
  count = local.create_bucket ? 1 : 0

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this[0].arn,
      "${aws_s3_bucket.this[0].arn}/*",
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
  count = local.create_bucket ? 1 : 0

  bucket = aws_s3_bucket.this[0].id
  policy = data.aws_iam_policy_document.bucket[0].json

  # A policy put before the public access block may be judged public and rejected.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
