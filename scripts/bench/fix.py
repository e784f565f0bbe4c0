"""The headline figures, and the fix this issue made with its before/after figures."""

from __future__ import annotations

import statistics
from typing import Any

API_FUNCTIONS = ("BooksFunction", "CartsFunction", "OrdersFunction", "UsersFunction")


def _get(data: dict[str, Any], *path: str) -> Any:
    node: Any = data
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node


def _route(section: dict[str, Any] | None, route: str, variant: str) -> dict[str, Any]:
    for r in (section or {}).get("routes", []):
        if r["route"] == route and r["variant"] == variant:
            return dict(r)
    return {}


def headline(data: dict[str, Any]) -> list[list[str]]:
    """The rows of the summary table."""
    s = data.get("sections", {})
    rows: list[list[str]] = []
    cold = _get(s, "coldstart", "conditions")
    if cold:
        api = [n for n in cold["as_built"] if n in API_FUNCTIONS]
        built = statistics.median(cold["as_built"][n]["vs_floor"] for n in api)
        pyc = statistics.median(cold["with_pyc"][n]["vs_floor"] for n in api)
        floor_b, floor_p = cold["as_built"]["Floor"]["median_ms"], cold["with_pyc"]["Floor"]["median_ms"]
        rows.append(
            [
                "1",
                "handler import vs floor (median over functions)",
                f"{built:.2f}x as built (floor {floor_b:.0f} ms), {pyc:.2f}x with .pyc (floor {floor_p:.0f} ms)",
            ]
        )
    for phase in ("1", "2"):
        section = _get(s, "inprocess", phase)
        if section and "routes" in section:
            own = [r["own"]["p50"] for r in section["routes"]]
            total = [r["total"]["p50"] for r in section["routes"]]
            rows.append(
                [
                    "2",
                    f"warm p50 per route in-process, phase {phase}",
                    f"{min(total):.1f}-{max(total):.1f} ms (own code {min(own):.1f}-{max(own):.1f} ms)",
                ]
            )
    for phase in ("1", "2"):
        ratios = _get(s, "scaling", phase, "ratios")
        if ratios:
            text = ", ".join(f"{r['variant'] or r['route']}: {r['p50_ratio']:.2f}x" for r in ratios if r["p50_ratio"])
            rows.append(["4", f"latency 100k/1k books, phase {phase}", text])
    for phase in ("1", "2"):
        g = _get(s, "gateway", phase)
        if g and "gateway" in g:
            books = g["gateway"]["GET /books"]["1"]["p50"] / g["in_process_same_store"]["GET /books"]["p50"]
            orders = g["gateway"]["POST /orders"]["1"]["p50"] / g["in_process_same_store"]["POST /orders"]["p50"]
            rows.append(
                [
                    "5",
                    f"gateway / in-process (same stores) p50, phase {phase}",
                    f"GET /books {books:.2f}x, checkout {orders:.2f}x",
                ]
            )
            c = g["contention"]
            oversold = sum(r["oversold"] for r in [*c["scarce_rounds"], c["plentiful"]])
            rows.append(
                [
                    "6",
                    f"50 buyers, phase {phase}",
                    f"{statistics.median(r['orders_per_s'] for r in c['scarce_rounds']):.1f} orders/s for 10 copies, "
                    f"{c['plentiful']['orders_per_s']:.1f} orders/s when all succeed; oversold: {oversold}",
                ]
            )
    m = _get(s, "migration")
    if m and "backfill" in m:
        rows.append(
            [
                "7",
                f"backfill / verify of {m['records']:,} records vs raw scan",
                f"backfill {m['backfill']['per_s']}/s ({m['backfill_vs_raw_scan']:.2f}x the scan's "
                f"{m['raw_scan']['per_s']}/s), verify {m['verify']['per_s']}/s "
                f"({m['verify_vs_raw_scan_one_segment']:.2f}x the one-segment scan's "
                f"{m['raw_scan_one_segment']['per_s']}/s)",
            ]
        )
    return rows


def summary(data: dict[str, Any]) -> str:
    """The headline table."""
    from .report import table

    return "## Summary\n\n" + table(["item", "what", "figure"], headline(data)) + "\n"


def _cold_row(conditions: dict[str, Any], name: str) -> list[str]:
    b, p = conditions["as_built"].get(name), conditions["with_pyc"].get(name)
    if b is None or p is None:
        return [name, "-", "-", "-", "-", "-"]
    return [
        name,
        f"{b['median_ms']:.0f}",
        f"{b['vs_floor']:.2f}x",
        f"{p['median_ms']:.0f}",
        f"{p['vs_floor']:.2f}x",
        str(p["modules"]),
    ]


def _local_xray(cold: dict[str, Any]) -> str:
    off = cold.get("tracing_off", {}).get("BooksFunction")
    on = cold["with_pyc"].get("BooksFunction")
    if not off or not on:
        return "measured in item 1"
    return f"{off['median_ms'] - on['median_ms']:+.0f} ms per local cold start"


def _spread(cold: dict[str, Any], condition: str) -> str:
    floor = cold[condition]["Floor"]
    return f"{floor['min_ms']:.0f}-{floor['max_ms']:.0f}"


def _cold_range(data: dict[str, Any]) -> str:
    cold = _get(data, "sections", "coldstart", "conditions", "with_pyc") or {}
    ratios = [v["vs_floor"] for k, v in cold.items() if k in API_FUNCTIONS]
    return f"{min(ratios):.1f}-{max(ratios):.1f}x (with .pyc)" if ratios else "-"


def _own_range(data: dict[str, Any]) -> str:
    own = [r["own"]["p50"] for p in ("1", "2") for r in (_get(data, "sections", "inprocess", p, "routes") or [])]
    return f"{min(own):.1f}-{max(own):.1f}" if own else "-"


def _migration_share(data: dict[str, Any]) -> str:
    m = _get(data, "sections", "migration") or {}
    if "backfill_vs_raw_scan" not in m:
        return "-"
    return f"{m['backfill_vs_raw_scan']:.2f}x and {m['verify_vs_raw_scan_one_segment']:.2f}x"


def section(data: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """What was fixed, with the before/after figures."""
    from .report import table

    cold = _get(data, "sections", "coldstart", "conditions")
    parts = [
        f"""## The fix: less work in every cold start

**Which item.** Against its floor, the slowest item is the cold start (item 1): the API
functions import {_cold_range(data)} the floor, several hundred milliseconds per cold start,
where the warm paths spend {_own_range(data)} ms of their own per request (item 2), the store
work per request stays flat from 1,000 to 100,000 books except for a common-word search
(item 4), and the backfill and verify run at {_migration_share(data)} of the raw scan (item 7).

**What was found.** `-X importtime` (table in item 1) shows, beyond pydantic and our own
models: `psycopg2`, `sqlite3` and X-Ray's patch modules in **every** function, also in
CartsFunction, which never talks to PostgreSQL, and in every function of phase 1. The cause:
`cloudshelf/observability.py` made a bare `Tracer()`, which patches every library X-Ray
supports that is installed (psycopg2 and sqlite3 are, in the layer). Second, the repository
interfaces (`repositories/base.py`) imported the order and user models for their
annotations only, so every function built pydantic models of resources it never touches.

**What changed** (3 files of `layers/shared/cloudshelf/`):

- `observability.py`: `Tracer(patch_modules=("botocore",))`: X-Ray traces the AWS SDK from
  the start, as before; new `trace_postgres()` patches psycopg2 (once; a no-op with tracing off);
- `repositories/postgres/connection.py`: `connect()` calls `trace_postgres()` before
  `psycopg2.connect`, so SQL is traced exactly as before, but only functions that connect
  import the driver, at their first connection;
- `repositories/base.py`: the model imports moved under `if TYPE_CHECKING:` (the module
  already has `from __future__ import annotations`).

`tests/unit/test_import_budget.py` guards it: no API handler imports psycopg2 or sqlite3
(with tracing on, as deployed), and each handler's import stays within 3.5x the floor
measured in the same test run (never an absolute time).
"""
    ]
    if cold and "CartsFunction before fix" in cold.get("with_pyc", {}):
        rows = []
        for name in ("CartsFunction", "OrdersFunction"):
            rows.append(_cold_row(cold, f"{name} before fix"))
            rows.append(_cold_row(cold, name))
        rows.append(_cold_row(cold, "Floor"))
        delta = [
            f"{name}: {cold[c][name]['median_ms'] - cold[c][name + ' before fix']['median_ms']:+.0f} ms {label}"
            for name in ("CartsFunction", "OrdersFunction")
            for c, label in (("as_built", "as built"), ("with_pyc", "with .pyc"))
        ]
        parts.append(
            "**Before/after in one run** (item 1's rounds; *before fix* = the same handler with the removed "
            "work done again first: `patch_all()` and the two model imports, see `BEFORE_FIX` in "
            "`scripts/bench/coldstart.py`):\n\n"
            + table(["import", "as built (ms)", "vs floor", "with .pyc (ms)", "vs floor", "modules"], rows)
            + "\n\nMedian change: "
            + "; ".join(delta)
            + f". For scale, the floor's own spread in the same rounds: {_spread(cold, 'as_built')} as built,"
            + f" {_spread(cold, 'with_pyc')} with .pyc (min-max, ms); the module counts do not depend on the load.\n"
        )
    base_cold = _get(baseline or {}, "sections", "coldstart", "conditions")
    if cold and base_cold:
        rows = []
        for name in sorted(n for n in base_cold["with_pyc"] if n != "Floor" and n in cold["with_pyc"]):
            b0, b1 = base_cold["as_built"][name], cold["as_built"][name]
            p0, p1 = base_cold["with_pyc"][name], cold["with_pyc"][name]
            built = f"{b0['vs_floor']:.2f}x -> {b1['vs_floor']:.2f}x"
            pyc = f"{p0['vs_floor']:.2f}x -> {p1['vs_floor']:.2f}x"
            rows.append([name, built, pyc, f"{p0['modules']} -> {p1['modules']}"])
        machine = (baseline or {}).get("machine", {})
        then, now = base_cold["as_built"]["Floor"]["median_ms"], cold["as_built"]["Floor"]["median_ms"]
        floors = f"{then:.0f} ms then, {now:.0f} ms now"
        parts.append(
            f"**Before/after across runs**: `bench-results/before-fix.json` (the full run before the change, "
            f"{machine.get('date', '-')}, commit {machine.get('commit', '-')}) against this run; each ratio is "
            "to the floor measured in its own run. Between runs the machine's other load moves these ratios by "
            f"a few tenths (the floor as built took {floors}), so the in-run table above is the one to read "
            "for the size of the change; the module counts are exact either way:\n\n"
            + table(["function", "as built vs floor", "with .pyc vs floor", "modules imported"], rows)
            + "\n"
        )
    parts.append(remaining(data))
    return "\n".join(parts)


def remaining(data: dict[str, Any]) -> str:
    """The biggest gap to its floor that is left, and what would close it."""
    cold = _get(data, "sections", "coldstart", "conditions")
    text = "## Biggest remaining gap to its floor\n\n"
    if cold:
        api = [n for n in cold["as_built"] if n in API_FUNCTIONS]
        built = statistics.median(cold["as_built"][n]["median_ms"] for n in api)
        pyc = statistics.median(cold["with_pyc"][n]["median_ms"] for n in api)
        floor_pyc = cold["with_pyc"]["Floor"]["median_ms"]
        text += f"""**The cold start as deployed.** `sam build` ships the layer without bytecode (`.pyc files`:
0 in item 1) and Lambda cannot write any, so each cold start compiles every module it
imports: the API functions import in {built:.0f} ms as built against {pyc:.0f} ms with `.pyc`
(medians over the four; the floor with `.pyc` is {floor_pyc:.0f} ms). That is
{built - pyc:.0f} ms of every cold start, more than the whole rest of the gap, and it is a build
setting, outside the code this issue may change: build the layer with
`BuildMethod: makefile` (a `build-SharedLayer` target that pip-installs the requirements into
`$(ARTIFACTS_DIR)/python`, copies `cloudshelf/`, then runs
`python3.13 -m compileall -q --invalidation-mode unchecked-hash $(ARTIFACTS_DIR)/python`;
hash-based `.pyc` because zip archives round file times to 2 s, which would make
timestamp-checked `.pyc` stale). Left after that: pydantic and Powertools' validation
machinery ({pyc - floor_pyc:.0f} ms over the floor with `.pyc`), which the design's
typed routes need; `pydantic-settings` (about 25-50 ms, with python-dotenv) is the largest
single piece that plain pydantic could replace.

Other gaps, smaller or not ours to close here:

- **Phase-1 search for a common word** examines up to 2,000 items for a page of 20 at 100,000
  books (item 4): one term partition of up to 1,000 ids, then every candidate book by
  BatchGetItem, because ranking needs each title and author. Keeping the title and author
  words on the term items would rank from the Query alone and fetch only the page's books
  (about 20x fewer read units); a data-layout change for a later issue. Phase 2's GIN index
  ranks all matches too (1,000 rows examined for the same query) but in one statement.
- **The local stack, not AWS**: the gateway adds a few milliseconds per request (item 5),
  and the workers import the X-Ray SDK without `LAMBDA_TASK_ROOT`, so it builds an X-Ray
  client at import ({_local_xray(cold)} for BooksFunction, item 1's tracing-off row);
  `cloudshelf_dev/lambda_env.py` could set `LAMBDA_TASK_ROOT` as Lambda does.
"""
    return text
