"""Transports: how a DynamoDB operation is sent (the Transport protocol, botocore)."""
