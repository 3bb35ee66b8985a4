"""What stands in for and sets up AWS: table template, table creation, create-admin, local stack."""
