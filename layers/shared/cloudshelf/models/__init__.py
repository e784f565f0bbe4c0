"""Pydantic models: the API's request and response shapes and the stored records."""
