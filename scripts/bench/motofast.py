"""Partition-local Query and Scan for moto tables: DynamoDB's cost model, moto's answers.

moto answers every Query and Scan by listing **every item of the table** and sorting
them (``Table.all_items``), so on moto a Query costs O(table size) while on DynamoDB it
costs O(items read). With 100,000 books (about two million items with the search terms)
one moto Query takes over a minute, which would measure moto, not CloudShelf.

:func:`partitioned` gives a table a sorted index of its partitions (base table and
GSIs) and of its scan segments, built once; while active, a Query or Scan hands moto
only the items DynamoDB itself would read: the queried partition (or scan segment) from
the start key on, ``Limit`` + 1 of them. moto then runs its own code on that window, so
the items, ``Count``, ``ScannedCount`` and ``LastEvaluatedKey`` are moto's own.
:func:`same_answers` checks that claim on a live table against unpatched moto.

Only for tables that are not written while the index is active (the bench reads them).
Anything else (range conditions, backwards queries, legacy filters, scans of an index)
falls back to moto's own code.

:func:`fast_json` does the same for moto's response serializer, which walks the
botocore output model for every attribute of every item (about 1 ms per item read):
DynamoDB's JSON protocol is the result dict itself, so reads are answered with
``json.dumps`` of the result moto built; the first responses are also serialized by
moto's own serializer and compared (the comparison is reported).
"""

from __future__ import annotations

import base64
import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

_ORIGINAL: dict[str, Callable[..., Any]] = {}


class PartitionIndex:
    """Sorted partitions of one moto table, and its items in scan order per segment count."""

    def __init__(self, table: Any) -> None:
        self.table = table
        hash_attr, range_attr = table.hash_key_attr, table.range_key_attr
        self.base: dict[Any, list[Any]] = {}
        for hash_key, partition in table.items.items():
            items = list(partition.values()) if range_attr else [partition]
            if range_attr:
                _sort(items, lambda i: i.range_key, [range_attr])
            self.base[hash_key] = items
        self.gsi: dict[tuple[str, Any], list[Any]] = {}
        for index in table.global_indexes or []:
            keys = {k["KeyType"]: k["AttributeName"] for k in index.schema}
            if set(keys) != {"HASH", "RANGE"}:
                continue
            groups: dict[Any, list[Any]] = {}
            for items in self.base.values():
                for item in items:
                    if keys["HASH"] in item.attrs and keys["RANGE"] in item.attrs:
                        groups.setdefault(item.attrs[keys["HASH"]], []).append(item)
            hash_attrs = [keys["HASH"], hash_attr]
            range_attrs = [keys["RANGE"], range_attr]
            order = table._generate_attr_to_sort_by(hash_attrs, range_attrs)
            for value, items in groups.items():
                _sort(items, partial(_moto_key, order), order)
                self.gsi[(index.name, value)] = items
        self._scan_order: list[Any] | None = None
        self.segments: dict[tuple[int, int], list[Any]] = {}

    @property
    def scan_order(self) -> list[Any]:
        """Every item in moto's scan order (sorted once, on first use)."""
        if self._scan_order is None:
            self._scan_order = _ORIGINAL["all_items"](self.table)
        return self._scan_order

    def segment(self, segment: int, total: int) -> list[Any]:
        """The items of one scan segment, in scan order."""
        key = (segment, total)
        if key not in self.segments:
            self.segments[key] = [i for i in self.scan_order if i.is_within_segment(key)]
        return self.segments[key]


def _moto_key(order: list[str], item: Any) -> tuple[Any, ...]:
    return tuple(item.attrs[key] for key in order)


def _sort(items: list[Any], moto_key: Callable[[Any], Any], attrs: list[Any]) -> None:
    """Sort in moto's order: by the attributes' values when all are strings (the same order as
    moto's comparisons of its own value objects, at C speed), else with moto's key."""
    if all(all(i.attrs[a].type == "S" for a in attrs if a) for i in items):
        items.sort(key=lambda i: tuple(i.attrs[a].value for a in attrs if a))
    else:
        items.sort(key=moto_key)


def _after(
    table: Any, items: list[Any], start: dict[str, Any] | None, hash_attrs: list[str], range_attrs: list[Any]
) -> int:
    """Index of the first item after ``start`` (moto's own ordering test, by bisection)."""
    if not start:
        return 0
    low, high = 0, len(items)
    while low < high:
        mid = (low + high) // 2
        if table._item_comes_before_dct(items[mid], start, hash_attrs, range_attrs, True):
            low = mid + 1
        else:
            high = mid
    return low


def _window(table: Any, items: list[Any], call: Callable[[], Any]) -> Any:
    table.all_items = lambda: items  # an instance attribute shadows moto's method for this call
    try:
        return call()
    finally:
        del table.all_items


def _query(self: Any, *args: Any, **kwargs: Any) -> Any:
    original = _ORIGINAL["query"]
    index: PartitionIndex | None = getattr(self, "_bench_partitions", None)
    bound = inspect.signature(original).bind(self, *args, **kwargs)
    a = bound.arguments
    extra = a.get("filter_kwargs") or {}
    if index is None or a["range_comparison"] or extra or a.get("scan_index_forward") is False:
        return original(self, *args, **kwargs)
    index_name = a.get("index_name")
    if index_name is None:
        items = index.base.get(a["hash_key"], [])
        hash_attrs, range_attrs = [self.hash_key_attr], [self.range_key_attr]
    else:
        conditions = a.get("hash_key_conditions") or []
        if len(conditions) != 1:
            return original(self, *args, **kwargs)
        items = index.gsi.get((index_name, conditions[0][1]), [])
        schema = {k["KeyType"]: k["AttributeName"] for k in self.get_index(index_name).schema}
        hash_attrs, range_attrs = [schema["HASH"], self.hash_key_attr], [schema["RANGE"], self.range_key_attr]
    start = _after(self, items, a["exclusive_start_key"], hash_attrs, range_attrs)
    limit = a["limit"]
    window = items[start : start + limit + 1] if limit else items[start:]
    a["exclusive_start_key"] = None
    return _window(self, window, lambda: original(*bound.args, **bound.kwargs))


def _scan(self: Any, *args: Any, **kwargs: Any) -> Any:
    original = _ORIGINAL["scan"]
    index: PartitionIndex | None = getattr(self, "_bench_partitions", None)
    bound = inspect.signature(original).bind(self, *args, **kwargs)
    a = bound.arguments
    if index is None or a.get("index_name") or a.get("filters"):
        return original(self, *args, **kwargs)
    segments = a.get("segments") or (None, None)
    items = index.scan_order if segments == (None, None) else index.segment(*segments)
    start = _after(self, items, a["exclusive_start_key"], [self.hash_key_attr], [self.range_key_attr])
    limit = a["limit"]
    window = items[start : start + limit + 1] if limit else items[start:]
    a["exclusive_start_key"] = None
    return _window(self, window, lambda: original(*bound.args, **bound.kwargs))


def install() -> None:
    """Route moto's Table.query/scan through the partition index of tables that have one."""
    from moto.dynamodb.models.table import Table

    if _ORIGINAL:
        return
    _ORIGINAL.update(query=Table.query, scan=Table.scan, all_items=Table.all_items)
    Table.query = _query  # type: ignore[method-assign]
    Table.scan = _scan  # type: ignore[method-assign]


@contextmanager
def partitioned(table: Any) -> Iterator[PartitionIndex]:
    """Give ``table`` a partition index for the block (the table must not change meanwhile)."""
    import gc

    install()
    gc.disable()  # millions of references sorted into lists: no collector passes meanwhile
    try:
        index = PartitionIndex(table)
    finally:
        gc.enable()
        gc.freeze()
    table._bench_partitions = index
    try:
        yield index
    finally:
        del table._bench_partitions


@contextmanager
def unpartitioned(table: Any) -> Iterator[None]:
    """moto's own behaviour for the block (to compare answers)."""
    saved = getattr(table, "_bench_partitions", None)
    if saved is not None:
        del table._bench_partitions
    try:
        yield
    finally:
        if saved is not None:
            table._bench_partitions = saved


def same_answers(table: Any, calls: list[Callable[[], Any]]) -> bool:
    """True if every call answers the same with the partition index as with moto's own code."""
    for call in calls:
        fast = call()
        with unpartitioned(table):
            slow = call()
        if _strip(fast) != _strip(slow):
            return False
    return True


def _strip(answer: Any) -> Any:
    if isinstance(answer, dict):
        return {k: _strip(v) for k, v in answer.items() if k != "ResponseMetadata"}
    if isinstance(answer, list):
        return [_strip(v) for v in answer]
    return answer


READ_OPERATIONS = ("GetItem", "BatchGetItem", "Query", "Scan")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    raise TypeError(f"not JSON: {type(value).__name__}")


@contextmanager
def fast_json(check_first: int = 0) -> Iterator[dict[str, int]]:
    """Serialize moto's read answers with ``json.dumps`` for the block; yields
    ``{"checked": n, "different": m}``: the first ``check_first`` answers are also made by
    moto's own serializer and compared (slow: never while timing)."""
    from moto.dynamodb.responses import DynamoResult

    original = DynamoResult.execute_result
    stats = {"checked": 0, "different": 0}

    def execute_result(self: Any, context: Any) -> Any:
        if context.operation_model.name not in READ_OPERATIONS:
            return original(self, context)
        body = json.dumps(self.result, default=_json_default)
        if stats["checked"] < check_first:
            status, _, reference = original(self, context)
            stats["checked"] += 1
            if status != 200 or json.loads(reference) != json.loads(body):
                stats["different"] += 1
        return 200, {"Content-Type": "application/x-amz-json-1.0"}, body

    DynamoResult.execute_result = execute_result  # type: ignore[method-assign]
    try:
        yield stats
    finally:
        DynamoResult.execute_result = original  # type: ignore[method-assign]
