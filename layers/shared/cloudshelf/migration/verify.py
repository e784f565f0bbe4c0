"""Compare a resource record by record across DynamoDB and PostgreSQL."""

from __future__ import annotations

import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cloudshelf.migration.records import Resource, digest, key_of, postgres_records, scan_all
from cloudshelf.repositories.postgres.connection import run


@dataclass
class Drift:
    """What differs for one resource. Empty lists: the stores agree."""

    resource: Resource
    dynamodb_count: int
    postgres_count: int
    only_in_dynamodb: list[str] = field(default_factory=list)
    only_in_postgres: list[str] = field(default_factory=list)
    different: list[str] = field(default_factory=list)
    sampled: bool = False
    seconds: float = 0.0

    @property
    def clean(self) -> bool:
        """No record missing, extra or different."""
        return not (self.only_in_dynamodb or self.only_in_postgres or self.different)

    @property
    def keys(self) -> list[str]:
        """Every key that differs."""
        return sorted({*self.only_in_dynamodb, *self.only_in_postgres, *self.different})

    def as_dict(self) -> dict[str, Any]:
        """For the JSON report."""
        return {**asdict(self), "clean": self.clean}


def verify(resource: Resource, *, sample: int | None = None) -> Drift:
    """Counts, then a digest per record over a canonical form, on both stores.

    With ``sample``, only that many random DynamoDB records are looked up in PostgreSQL
    (a quick check: records only in PostgreSQL are not looked for).
    """
    began = time.monotonic()
    source = {key_of(r): digest(r) for r in scan_all(resource)}
    keys: list[str] | None = None
    if sample is not None:
        keys = random.sample(sorted(source), min(sample, len(source)))  # nosec B311 - picking records to compare, not security
    mirror = run(lambda cur: {key_of(r): digest(r) for r in postgres_records(cur, resource, keys)})
    compared = set(keys) if keys is not None else set(source)
    drift = Drift(
        resource,
        dynamodb_count=len(source),
        postgres_count=len(mirror) if keys is None else run(lambda cur: _count(cur, resource)),
        only_in_dynamodb=sorted(k for k in compared if k not in mirror),
        only_in_postgres=sorted(k for k in mirror if k not in source) if keys is None else [],
        different=sorted(k for k in compared if k in mirror and mirror[k] != source[k]),
        sampled=keys is not None,
    )
    drift.seconds = time.monotonic() - began
    return drift


def _count(cur: Any, resource: Resource) -> int:
    cur.execute(
        {"books": "SELECT count(*) FROM books", "users": "SELECT count(*) FROM users"}.get(
            resource, "SELECT count(*) FROM orders"
        )
    )
    return int(cur.fetchone()[0])
