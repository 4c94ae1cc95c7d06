terraform {
  # No provider: templatefile() only.
  required_version = ">= 1.5.7"
}
