################################################################################
# The secret behind contact keys (outbound_core::contact_key).
#
# A contact key names a contact in object keys, table items, contact attributes
# and logs; an unkeyed hash of campaign, customer id and number would give the
# number back to anyone who tries every number of a country. Contact keys are an
# HMAC under a secret that load-list and queue-contacts derive at start-up with
# kms:GenerateMac on this key, whose material never leaves KMS.
################################################################################

resource "aws_kms_key" "contact_key" {
  count = var.contact_key_kms_key_arn == null ? 1 : 0

  description              = "${var.name}: contact keys of the outbound dialer (HMAC of campaign, customer id and number)"
  customer_master_key_spec = "HMAC_256"
  key_usage                = "GENERATE_VERIFY_MAC"
  # Deleting the key makes every stored contact key unlinkable to a new upload of the same
  # contact: the longest window leaves time to cancel a mistaken destroy.
  deletion_window_in_days = 30
  # KMS rotates symmetric encryption keys only; an HMAC key keeps its material (a rotation
  # would also change every contact key in the middle of a campaign).
  enable_key_rotation = false
  policy              = data.aws_iam_policy_document.contact_key.json

  tags = var.tags
}

resource "aws_kms_alias" "contact_key" {
  count = var.contact_key_kms_key_arn == null ? 1 : 0

  name          = "alias/${var.name}-contact-keys"
  target_key_id = aws_kms_key.contact_key[0].key_id
}

# The default key policy, written out: the account administers the key and IAM policies grant
# its use (kms:GenerateMac to load-list and queue-contacts only, modules/dialer/iam.tf and the
# Pinpoint channel's policy).
data "aws_iam_policy_document" "contact_key" {
  #checkov:skip=CKV_AWS_111:A key policy's resource "*" is the key itself; the only principal is this account's root, so use is granted by IAM policies (kms:GenerateMac to the intake roles).
  #checkov:skip=CKV_AWS_356:A key policy's resource "*" is the key itself: no other resource can be named in it.
  #checkov:skip=CKV_AWS_109:The account root administers its own key (the default key policy); without it the key becomes unmanageable.
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

locals {
  contact_key_kms_key_arn = var.contact_key_kms_key_arn != null ? var.contact_key_kms_key_arn : aws_kms_key.contact_key[0].arn
}
