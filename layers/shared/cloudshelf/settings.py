"""The one settings model. Nothing else in CloudShelf reads the environment."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

StorageMode = Literal["dynamodb", "dual-write", "postgres-read", "postgres"]
"""Where a resource lives during the move: see docs/migration.md."""


class Settings(BaseSettings):
    """Runtime configuration, read from the function environment on first use."""

    model_config = SettingsConfigDict(env_prefix="CLOUDSHELF_", extra="ignore", frozen=True)

    stage: str = "local"
    region: str = Field(default="us-east-1", validation_alias="AWS_REGION")
    # A DynamoDB endpoint other than AWS's (the local stack's, for `sam local`); empty in AWS.
    dynamodb_endpoint: str = ""
    # Per-call read timeout. Short in AWS (a retry beats a hang); the local stack raises it,
    # since its embedded DynamoDB serializes every call and has no transaction idempotency.
    dynamodb_read_timeout_s: float = Field(default=3.0, gt=0, le=60)
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
    # Moving from phase 1 to 2, one resource at a time (unset: follows data_phase).
    books_store: StorageMode | None = None
    users_store: StorageMode | None = None
    orders_store: StorageMode | None = None
    read_fallback: bool = True
    shadow_read_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    migration_table: str = "cloudshelf-migration"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    cart_ttl_days: int = Field(default=7, ge=1, le=90)
    # At most what the OpenAPI document states (models.carts.MAX_CART_LINES, MAX_LINE_QUANTITY): less is fine.
    max_cart_lines: int = Field(default=50, ge=1, le=50)
    max_line_quantity: int = Field(default=20, ge=1, le=20)
    allowed_origin: str = "http://127.0.0.1:3000"
    max_body_bytes: int = Field(default=65536, ge=1024)
    idempotency_ttl_seconds: int = Field(default=86400, ge=60)
    checkout_attempts: int = Field(default=3, ge=1, le=10)

    @field_validator("books_store", "users_store", "orders_store", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if value == "" else value

    def store_mode(self, resource: Literal["books", "users", "orders"]) -> StorageMode:
        """The storage mode of a resource: its own setting, else what the phase implies."""
        explicit: StorageMode | None = getattr(self, f"{resource}_store")
        if explicit is not None:
            return explicit
        return "postgres" if self.data_phase == "2" else "dynamodb"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings; tests call ``get_settings.cache_clear()``."""
    return Settings()
