"""Storage behind one interface per resource, with DynamoDB and PostgreSQL implementations."""
