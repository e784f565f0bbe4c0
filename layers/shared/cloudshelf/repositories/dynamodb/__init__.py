"""DynamoDB implementations of the repositories."""
