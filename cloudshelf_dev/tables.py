"""Creating the template's DynamoDB tables on a (local) DynamoDB endpoint."""

from __future__ import annotations

from typing import Any

from cloudshelf_dev.template import table_definitions

# Which settings variable names which table (the template's environment says the same).
TABLE_ENV = {
    "BooksTable": "CLOUDSHELF_BOOKS_TABLE",
    "CartsTable": "CLOUDSHELF_CARTS_TABLE",
    "UsersTable": "CLOUDSHELF_USERS_TABLE",
    "OrdersTable": "CLOUDSHELF_ORDERS_TABLE",
    "IdempotencyTable": "CLOUDSHELF_IDEMPOTENCY_TABLE",
    "MigrationTable": "CLOUDSHELF_MIGRATION_TABLE",
}


def local_table_names(prefix: str = "cloudshelf-local") -> dict[str, str]:
    """Logical id -> physical table name for a local stack."""
    return {logical_id: f"{prefix}-{logical_id}" for logical_id in table_definitions()}


def create_tables(client: Any, names: dict[str, str]) -> None:
    """Create every table of the template (skipping ones that exist), with TTL where set."""
    existing = set(client.list_tables().get("TableNames", []))
    for logical_id, definition in table_definitions().items():
        name = names[logical_id]
        if name in existing:
            continue
        client.create_table(TableName=name, **definition["create"])
        if definition["ttl"]:
            client.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": definition["ttl"]}
            )
