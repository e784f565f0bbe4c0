"""The one settings model. Nothing else in CloudShelf reads the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Runtime configuration, read from the function environment on first use."""

    model_config = SettingsConfigDict(env_prefix="CLOUDSHELF_", extra="ignore", frozen=True)

    stage: str = "local"
    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    books_table: str = "cloudshelf-books"
    carts_table: str = "cloudshelf-carts"
    users_table: str = "cloudshelf-users"
    orders_table: str = "cloudshelf-orders"
    idempotency_table: str = "cloudshelf-idempotency"
    # "1": everything in DynamoDB. "2": books, users and orders in PostgreSQL.
    data_phase: Literal["1", "2"] = "1"
    # Phase 2: PostgreSQL. Either a full DSN (local stack, tests) or host/port/name with the
    # credentials in Secrets Manager (AWS; fetched through Powertools Parameters, cached).
    db_dsn: str = ""
    db_host: str = ""
    db_port: int = 5432
    db_name: str = "cloudshelf"
    db_secret_arn: str = ""
    db_sslmode: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "require"
    db_connect_timeout_s: int = Field(default=3, ge=1, le=30)
    db_statement_timeout_ms: int = Field(default=5000, ge=100, le=60000)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    cart_ttl_days: int = Field(default=7, ge=1, le=90)
    max_cart_lines: int = Field(default=50, ge=1, le=90)
    max_line_quantity: int = Field(default=20, ge=1, le=1000)
    allowed_origin: str = "http://127.0.0.1:3000"
    max_body_bytes: int = Field(default=65536, ge=1024)
    idempotency_ttl_seconds: int = Field(default=86400, ge=60)
    checkout_attempts: int = Field(default=3, ge=1, le=10)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings; tests call ``get_settings.cache_clear()``."""
    return Settings()
