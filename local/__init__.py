"""The local stack's moto launcher (test infrastructure, never deployed).

`python -m local.launcher` runs moto in-process with Step Functions execution on, the fixes
terraform-provider-aws needs, and every Lambda invocation forwarded to the function's real
`bootstrap` binary behind a Lambda Runtime API. See local/README.md.
"""
