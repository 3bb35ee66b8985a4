"""Deploy tooling: tables and their template, IAM policy, secrets, create-admin, deploy, package."""
