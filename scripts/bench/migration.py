"""Item 7: backfill and verify of 100,000 records, next to the raw scan of the same data.

The records are user profiles (one DynamoDB item per record, half of them with an
address), written straight into the users table of a locked moto server in this process
(the store the local stack and the concurrency tests use: backfill scans in parallel
threads, which moto in-process does not survive). PostgreSQL is a local server with the
schema applied.

- Floor: the raw scan rate of the same table with the same client settings: parallel
  segments and page size as the backfill uses (and one segment, as verify reads),
  doing nothing with the items.
- ``backfill("users")``: scan, convert, batched upsert, checkpoint per page.
- ``verify("users")``: full compare (counts, then a digest per record on both sides).

moto is given partition-local scans and ``json.dumps`` answers (:mod:`bench.motofast`;
both checked against moto's own answers and reported), else moto's own per-item
serialization (about 1 ms per item) would be most of what is measured, for the floor
and the backfill alike.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .common import ratio, section_log
from .counters import COUNTER
from .stores import in_process, start_postgres


def users(count: int) -> list[dict[str, Any]]:
    """``count`` profile items, as DynamoUserRepository stores them."""
    from cloudshelf.models.users import Address, UserProfile
    from cloudshelf.repositories.dynamodb.codec import to_item

    from .catalog import CREATED

    address = {"line1": "1 Shelf Street", "city": "Leeds", "postalCode": "LS1 1AA", "country": "GB"}
    return [
        to_item(
            UserProfile(
                userId=f"user-{i:06d}",
                email=f"reader{i}@example.com",
                displayName=f"Reader {i}",
                address=Address.model_validate(address) if i % 2 else None,
                createdAt=CREATED,
                updatedAt=CREATED,
            ).model_dump(mode="json")
        )
        for i in range(count)
    ]


def raw_scan(table: str, segments: int, page_size: int) -> tuple[int, float]:
    """Scan everything (parallel segments), keeping nothing; (items, seconds)."""
    import boto3
    from botocore.config import Config

    client = boto3.client("dynamodb", region_name="us-east-1", config=Config(max_pool_connections=32, read_timeout=30))
    counted = [0] * segments

    def segment(number: int) -> None:
        kwargs: dict[str, Any] = {"TableName": table, "Limit": page_size}
        if segments > 1:
            kwargs.update(Segment=number, TotalSegments=segments)
        while True:
            page = client.scan(**kwargs)
            counted[number] += page["Count"]
            if "LastEvaluatedKey" not in page:
                return
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    began = time.perf_counter()
    with ThreadPoolExecutor(max_workers=segments) as pool:
        list(pool.map(segment, range(segments)))
    return sum(counted), time.perf_counter() - began


def timed_steps(name: str, segments: int, page_size: int, say: Any) -> dict[str, Any]:
    """The floor, the backfill and the verify, timed."""
    from cloudshelf.migration.backfill import backfill
    from cloudshelf.migration.verify import verify

    out: dict[str, Any] = {}
    items, seconds = raw_scan(name, segments, page_size)
    out["raw_scan"] = {"items": items, "seconds": round(seconds, 2), "per_s": round(items / seconds)}
    say(f"raw scan, {segments} segments: {items} items in {seconds:.1f} s")
    items, seconds = raw_scan(name, 1, page_size)
    out["raw_scan_one_segment"] = {"items": items, "seconds": round(seconds, 2), "per_s": round(items / seconds)}
    say(f"raw scan, 1 segment: {items} items in {seconds:.1f} s")
    COUNTER.reset()
    began = time.perf_counter()
    result = backfill("users", segments=segments, page_size=page_size, restart=True)
    seconds = time.perf_counter() - began
    work = COUNTER.reset()
    out["backfill"] = {
        "copied": result.copied,
        "complete": result.complete,
        "seconds": round(seconds, 2),
        "per_s": round(result.copied / seconds),
        "work": work.as_dict(),
        "thread_seconds": {"dynamodb": round(work.ddb_ms / 1000, 1), "postgres": round(work.pg_ms / 1000, 1)},
    }
    say(f"backfill: {result.copied} in {seconds:.1f} s")
    COUNTER.reset()
    began = time.perf_counter()
    drift = verify("users")
    seconds = time.perf_counter() - began
    work = COUNTER.reset()
    out["verify"] = {
        "compared": drift.dynamodb_count,
        "clean": drift.clean,
        "seconds": round(seconds, 2),
        "per_s": round(drift.dynamodb_count / seconds),
        "work": work.as_dict(),
        "thread_seconds": {"dynamodb": round(work.ddb_ms / 1000, 1), "postgres": round(work.pg_ms / 1000, 1)},
    }
    say(f"verify: {drift.dynamodb_count} compared in {seconds:.1f} s, clean: {drift.clean}")
    return out


def run(records: int = 100_000, segments: int = 4, page_size: int = 500) -> dict[str, Any]:
    """Floor, backfill and verify for ``records`` user profiles."""
    from cloudshelf_dev.moto_server import LockedMotoServer

    from .catalog import moto_table, no_gc, write_direct
    from .motofast import fast_json, partitioned, same_answers

    say = section_log("migration")
    server = LockedMotoServer().start()
    postgres = start_postgres()
    out: dict[str, Any] = {"records": records, "resource": "users", "segments": segments, "page_size": page_size}
    try:
        with in_process("1", postgres=postgres, server_url=server.url) as stores:
            name = stores.tables["UsersTable"]
            table = moto_table(name)
            began = time.perf_counter()
            with no_gc():
                write_direct(table, users(records))
            say(f"{records} profiles written into moto in {time.perf_counter() - began:.1f} s")
            with partitioned(table) as index:
                for number in range(segments):  # build the shim's scan order now, not while timing
                    index.segment(number, segments)
                with fast_json(check_first=8) as serializer:
                    first = stores.client.scan(TableName=name, Limit=page_size)
                    pages = [
                        lambda: stores.client.scan(TableName=name, Limit=page_size, Segment=1, TotalSegments=segments),
                        lambda: stores.client.scan(
                            TableName=name, Limit=page_size, ExclusiveStartKey=first["LastEvaluatedKey"]
                        ),
                    ]
                    out["scan_answers_equal_unmodified_moto"] = same_answers(table, pages)
                out["moto_json_checked"] = dict(serializer)
                with fast_json():
                    out.update(timed_steps(name, segments, page_size, say))
    finally:
        postgres.stop()
        server.stop()
    out["backfill_vs_raw_scan"] = ratio(out["backfill"]["per_s"], out["raw_scan"]["per_s"])
    out["verify_vs_raw_scan_one_segment"] = ratio(out["verify"]["per_s"], out["raw_scan_one_segment"]["per_s"])
    return out
