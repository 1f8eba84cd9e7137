"""Runs: run jobs, reports (summaries in DynamoDB, details in S3), dashboard, CI webhooks."""
