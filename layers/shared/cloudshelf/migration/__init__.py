"""Moving a live store from DynamoDB (phase 1) to PostgreSQL (phase 2), one resource at a time."""
