"""Business rules: no HTTP, no boto3, no SQL. Functions take their repositories as arguments."""
