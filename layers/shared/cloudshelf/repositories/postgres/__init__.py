"""PostgreSQL implementations of the books, users and orders repositories (phase 2)."""
