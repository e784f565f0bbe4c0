"""Copy every record of a resource from DynamoDB to PostgreSQL, while the store takes writes.

Parallel scan segments, one batched upsert per page (never an older record over a newer
one), a checkpoint per page in the migration table: a backfill that stops (crash,
Lambda time limit, Ctrl-C) resumes where each segment stood, and re-copying a page
changes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

from cloudshelf.migration.journal import clear_checkpoints, load_checkpoints, save_checkpoint
from cloudshelf.migration.records import Resource, scan_segment, upsert_postgres
from cloudshelf.repositories.postgres.connection import run


@dataclass(frozen=True)
class BackfillResult:
    """How far a backfill got."""

    resource: Resource
    copied: int
    complete: bool
    seconds: float


def backfill(
    resource: Resource,
    *,
    segments: int = 4,
    page_size: int = 500,
    progress: Callable[[int], None] | None = None,
    deadline: float | None = None,
    restart: bool = False,
) -> BackfillResult:
    """Copy ``resource`` to PostgreSQL, resuming from checkpoints unless ``restart``.

    ``deadline`` (a ``time.monotonic()`` value) stops between pages, checkpointed, so a
    Lambda can continue in its next invocation. A complete backfill clears its checkpoints.
    """
    began = time.monotonic()
    if restart:
        clear_checkpoints(resource)
    states = load_checkpoints(resource, segments)

    def copy_segment(segment: int) -> tuple[int, bool]:
        start, done, copied = states.get(segment, (None, False, 0))
        if done:
            return copied, True
        while deadline is None or time.monotonic() < deadline:
            records, start = scan_segment(resource, segment, segments, start, page_size)
            run(partial(upsert_postgres, resource=resource, records=records), write=True)
            copied += len(records)
            save_checkpoint(resource, segment, segments, start, copied)
            if progress is not None:
                progress(len(records))
            if start is None:
                return copied, True
        return copied, False

    with ThreadPoolExecutor(max_workers=segments, thread_name_prefix=f"backfill-{resource}") as pool:
        results = list(pool.map(copy_segment, range(segments)))
    complete = all(done for _, done in results)
    if complete:
        clear_checkpoints(resource)
    return BackfillResult(resource, sum(c for c, _ in results), complete, time.monotonic() - began)
