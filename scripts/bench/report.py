"""BENCHMARKS.md from the JSON of a run (and, for before/after, an earlier run's JSON)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

CMD = ".venv/bin/python scripts/bench.py"
MB = 1024 * 1024
ROUTE_COLUMNS = ["route", "p50 ms", "p99 ms", "own p50 ms", "store p50 ms", "DynamoDB calls",
                 "items examined / written", "PostgreSQL round trips", "Scan"]  # fmt: skip
SCALING_COLUMNS = ["ratio", "own-time ratio", "examined per page", "returned"]
GATEWAY_COLUMNS = ["route", "clients", "gateway p50 ms", "gateway p99 ms", "requests/s",
                   "in-process, same stores p50 ms", "gateway / in-process", "item 2 p50 ms"]  # fmt: skip
CONTENTION_COLUMNS = ["round", "stock", "buyers", "201", "409", "other", "orders stored", "stock left", "oversold",
                      "consistent", "wall s", "orders/s", "checkouts/s", "p50 ms"]  # fmt: skip


def table(header: list[str], rows: Iterable[list[Any]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(value: Any, digits: int = 1) -> str:
    """A millisecond figure."""
    return "-" if value is None else f"{float(value):.{digits}f}"


def times(value: Any) -> str:
    """A ratio."""
    return "-" if value is None else f"{float(value):.2f}x"


def failed(section: Any) -> str | None:
    """The error text of a failed section, if it failed."""
    if isinstance(section, dict) and "error" in section:
        return f"**This section failed** (exit {section.get('exit_code')}):\n\n```\n{section['error']}\n```\n"
    return None


def calls(work: dict[str, Any]) -> str:
    """DynamoDB calls by operation, e.g. ``GetItem 1, Query 1``."""
    found = {op: n for op, n in work.get("ddb_calls", {}).items() if n}
    return ", ".join(f"{op} {n:g}" for op, n in found.items()) or "-"


def header(data: dict[str, Any]) -> str:
    """Title, how to run, machine."""
    m = data.get("machine", {})
    packages = ", ".join(f"{k} {v}" for k, v in m.get("packages", {}).items())
    minutes = data.get("total_seconds", 0) / 60
    load = m.get("load_average_at_start", "-")
    return f"""# CloudShelf benchmarks

Produced by `make bench` (= `{CMD}`), which runs every section below in its own
process and rewrites this file and `bench-results/benchmarks.json` (all figures, more
detail). Nothing here is a test: no figure is asserted. The figures are ratios and
counts measured in one run wherever possible, because absolute times on a shared
machine move from run to run; each section says how it measures. Re-run one section
with `{CMD} --only <section> [--phase 1|2]`; `--quick` checks the bench itself in
about two minutes.

| | |
|---|---|
| date | {m.get("date", "-")} |
| machine | {m.get("cpu", "-")}, {m.get("cores", "-")} cores, {m.get("memory_gb", "-")} GB RAM, {m.get("os", "-")} |
| software | Python {m.get("python", "-")}, {m.get("postgresql", "-")}; {packages} |
| commit | {m.get("commit", "-")}{" with uncommitted changes" if m.get("uncommitted_changes") else ""} |
| run | {data.get("mode", "-")}, {minutes:.1f} minutes, load average at start {load} (other work on the machine) |
| command | `{data.get("command", "make bench")}` |
"""


def coldstart(c: dict[str, Any]) -> str:
    """Item 1."""
    if (text := failed(c)) is not None:
        return "## 1. Cold start\n\n" + text
    built, pyc = c["conditions"]["as_built"], c["conditions"]["with_pyc"]
    rows = []
    for name in [n for n in built if n != "Floor" and not n.endswith("before fix")] + ["Floor"]:
        b, p = built[name], pyc[name]
        rows.append(
            [
                f"**{name}**" if name == "Floor" else name,
                ms(b["median_ms"], 0),
                times(b["vs_floor"]),
                ms(p["median_ms"], 0),
                times(p["vs_floor"]),
                f"+{ms(p['over_floor_ms'], 0)}",
                p["modules"],
            ]
        )
    extra = c.get("extra_imports_vs_floor", {})
    extra_rows = [
        [name, ", ".join(f"{e['package']} {e['ms']:.0f}" for e in items[:6])] for name, items in extra.items()
    ]
    off = {k: v["median_ms"] for k, v in c["conditions"].get("tracing_off", {}).items()}
    sizes = c.get("sizes", {})
    if "artifacts" in sizes:
        size_text = table(
            ["artifact", "unzipped", "zipped", "files", ".pyc files"],
            [
                [
                    n,
                    f"{a['unzipped_bytes'] / MB:.2f} MB" if a["unzipped_bytes"] > MB else f"{a['unzipped_bytes']} B",
                    f"{a['zipped_bytes'] / MB:.2f} MB" if a["zipped_bytes"] > MB else f"{a['zipped_bytes']} B",
                    a["files"],
                    a["pyc_files"],
                ]
                for n, a in sizes["artifacts"].items()
            ],
        )
        size_text += f"\n\nBuilt by `sam build --cached --parallel` into `{sizes['build_dir']}` ({sizes['seconds']} s)."
    else:
        size_text = f"Not measured: {sizes.get('skipped', '-')}"
    reps = c["repeats"]
    return f"""## 1. Cold start: handler import vs the floor

Command: `{CMD} --only coldstart`. Each figure is the median of {reps["as_built"]} (as built) or
{reps["with_pyc"]} (with .pyc) imports, each in a fresh interpreter (`python -I -S`: only the
standard library, then the function's code directory and the layer's `python` directory
on the path, as `/var/task` and `/opt/python` are in Lambda), with the function's template
environment and X-Ray tracing on as deployed (`Tracing: Active`). The layer is a mirror of
the one `sam build` makes (its requirements installed by pip for this machine, plus the
`cloudshelf` package). The floor is a minimal handler importing only boto3 and Powertools'
event handler, measured in the same run, interleaved with the functions. Starting the
interpreter itself takes {ms(c["interpreter_start_ms"])} ms more in every case.

- **as built**: `sam build` ships no bytecode (see the `.pyc files` column below), and
  Lambda's `/opt` and `/var/task` are read-only, so every cold start compiles every module
  of the layer and the function from source;
- **with .pyc**: the same files with their bytecode present.

{table(["function", "as built (ms)", "vs floor", "with .pyc (ms)", "vs floor", "over floor (ms)", "modules"], rows)}

With tracing off, as the local stack runs the functions (with .pyc, same rounds):
{", ".join(f"{k} {v:.0f} ms" for k, v in off.items())}. Outside Lambda (no `LAMBDA_TASK_ROOT`) the X-Ray
SDK builds its sampler and a botocore X-Ray client while it is imported, even with tracing off.

What the functions import beyond the floor (self time in ms, `-X importtime`, with .pyc):

{table(["function", "largest extra imports (ms)"], extra_rows)}

Artifacts:

{size_text}
"""


def inprocess(sections: dict[str, Any]) -> str:
    """Items 2 and 3."""
    parts = [
        f"""## 2. Warm latency in-process, and 3. store work per request

Command: `{CMD} --only inprocess`. Each route's handler (the template's, loaded as Lambda
loads it) is called in the bench process with a real REST proxy event, after warm-up
calls, on the demo catalog: phase 1 on moto's DynamoDB in the same process (`mock_aws`),
phase 2 on PostgreSQL over loopback (books, users, orders) plus moto (carts, idempotency).
**own** is the handler's time minus the time inside store calls (DynamoDB client calls
from parameter building to the parsed answer; PostgreSQL `execute`, `COMMIT`, connect):
the part that is CloudShelf's and Powertools' code. moto's own time per call (1-200 ms,
it sorts the whole table on every Query and serializes slowly) is most of the phase-1
totals, so compare **own** and the counts with other stores, not moto's totals.

Store work is counted by hooks (botocore events on the DynamoDB client; a counting
psycopg2 connection: every `execute` is one round trip, and so are the `BEGIN` psycopg2
sends before a transaction's first statement and the `COMMIT`). *examined* is
ScannedCount of Query/Scan plus the items GetItem/BatchGetItem returned. No route scans.
"""
    ]
    for phase in ("1", "2"):
        s = sections.get(phase)
        if s is None:
            continue
        if (text := failed(s)) is not None:
            parts.append(f"### Phase {phase}\n\n{text}")
            continue
        rows = []
        for r in s["routes"]:
            w = r["work"]
            pg = f"{w['pg_round_trips']:g} ({w['pg_statements']:g} statements)" if w["pg_round_trips"] else "-"
            rows.append(
                [
                    f"{r['route']}" + (f" ({r['variant']})" if r["variant"] else ""),
                    ms(r["total"]["p50"]),
                    ms(r["total"]["p99"]),
                    ms(r["own"]["p50"]),
                    ms(r["store"]["p50"]),
                    calls(w),
                    f"{w['ddb_items_examined']:g} / {w['ddb_items_written']:g}",
                    pg,
                    "**yes**" if w["scan"] else "no",
                ]
            )
        check = s.get("round_trip_check")
        check_text = ""
        if check:
            check_text = (
                "\nPostgreSQL round trips cross-checked against the server's own statement log "
                f"(`log_statement=all`) for every route: **{'all agree' if check['agree'] else 'DIFFER'}**.\n"
            )
        direct = s.get("direct_items_equal_repository")
        direct_text = (
            ""
            if direct is None
            else (
                f"\nThe demo catalog was written straight into moto (75 books x ~20 items by the API would take "
                f"moto ~20 s); the items equal what `DynamoBookRepository.create` writes: **{direct}**.\n"
            )
        )
        first = ", ".join(f"{k} {v:.0f} ms" for k, v in s.get("first_call_ms", {}).items())
        parts.append(f"""### Phase {phase} ({s["store"]}; n = {s["rounds"]} per route after {s["warmup"]} warm-up calls)

{table(ROUTE_COLUMNS, rows)}
{check_text}{direct_text}
First call of each function after its import (clients, connection, Powertools' route compilation): {first}.
""")
    return "\n".join(parts)


def scaling(sections: dict[str, Any]) -> str:
    """Item 4."""
    parts = [
        f"""## 4. Scaling: 1,000 vs 100,000 books

Command: `{CMD} --only scaling`. The BooksFunction handler in-process, as in item 2, on a
synthetic catalog made from the demo catalog's words (realistic word lengths: about 25
DynamoDB items per book with its search terms). `lantern` is in 1 title in 100, `zephyrine`
in exactly 5 titles at every size. *examined* is, for DynamoDB, ScannedCount plus items
fetched by key (hooks); for PostgreSQL, the rows the plan's scan nodes produced or
filtered out, from `EXPLAIN (ANALYZE, BUFFERS)` of the very statements the handler sent.
Both catalogs are loaded side by side (phase 1: two tables; phase 2: two schemas, same
indexes) and every scenario is measured call by call in turn at both sizes, so a burst of
load from elsewhere on the machine hits both alike.

Loading: PostgreSQL by one `COPY` (tsvector and indexes built by PostgreSQL). moto: 100,000
books through the API would take moto about 20 minutes, so the items are written straight
into moto's in-process backend; they are the repository's own items (same functions, checked
equal to `DynamoBookRepository.create`'s output in item 2). moto lists and sorts the **whole
table** on every Query (a Query costs O(table) on moto, O(items read) on DynamoDB) and
serializes about 1 ms per item, so for this section moto answers from the queried partition
only and with `json.dumps` (`scripts/bench/motofast.py`; moto's own code on DynamoDB's
working set): the answers are checked equal to unmodified moto's at 1,000 books. The
millions of moto objects are frozen out of Python's garbage collector once loaded, so its
passes during the measurements do not walk them.
"""
    ]
    for phase in ("1", "2"):
        s = sections.get(phase)
        if s is None:
            continue
        if (text := failed(s)) is not None:
            parts.append(f"### Phase {phase}\n\n{text}")
            continue
        sizes = sorted(s["sizes"], key=int)
        small, large = sizes[0], sizes[-1]
        rows = []
        for a, b, r in zip(s["sizes"][small]["routes"], s["sizes"][large]["routes"], s.get("ratios", []), strict=False):
            rows.append(
                [
                    f"{a['route']} ({a['variant']})" if a["variant"] else a["route"],
                    ms(a["total"]["p50"], 2),
                    ms(b["total"]["p50"], 2),
                    times(r["p50_ratio"]),
                    times(r["own_p50_ratio"]),
                    f"{a['examined']:g} -> {b['examined']:g}",
                    b["returned"],
                ]
            )
        notes = []
        if "answers_equal_unmodified_moto" in s["sizes"][small]:
            notes.append(
                "partition-local answers equal unmodified moto's: "
                f"**{s['sizes'][small]['answers_equal_unmodified_moto']}**"
            )
        loads = ", ".join(f"{int(k):,} books in {v.get('load_seconds')} s" for k, v in s["sizes"].items())
        notes.append(f"loaded {loads}")
        plans = {}
        if phase == "2":
            for route in s["sizes"][large]["routes"]:
                plans[f"{route['route']} ({route['variant']})"] = "; ".join(route.get("explain", {}).get("plans", []))
        plan_text = ""
        if plans:
            plan_text = "\n\nPlans at the large size:\n\n" + "\n".join(f"- {k}: `{v}`" for k, v in plans.items())
        parts.append(f"""### Phase {phase}: {int(small):,} vs {int(large):,} books

{table(["route", f"p50 ms ({int(small):,})", f"p50 ms ({int(large):,})", *SCALING_COLUMNS], rows)}

{"; ".join(notes)}.{plan_text}
""")
    return "\n".join(parts)


def gateway(sections: dict[str, Any]) -> str:
    """Items 5 and 6."""
    five = [
        f"""## 5. Through the local gateway

Command: `{CMD} --only gateway`. The local stack of `make dev` (`start_stack`: the gateway
with the Cognito authorizer, functions in worker processes, up to 4 execution environments
each, moto behind its lock, PostgreSQL in phase 2), clients as threads of the bench process
on loopback, each signed in as its own user. Checkout = PUT a cart line, then the timed
POST /orders. *in-process, same stores*: the same handler called in the bench process
against the stack's own moto server and PostgreSQL, so the gap is the gateway path (HTTP,
JWT check, proxy event, worker process hop) and not the store. Item 2's figure used moto
in-process (no HTTP to moto) and is shown for reference.
"""
    ]
    six = [
        f"""## 6. Checkout under contention

Command: `{CMD} --only gateway` (same run). 50 buyers, each with one copy of the same book
in the cart, send POST /orders at once (a barrier) through the gateway while 10 copies
exist; afterwards the stock and every buyer's orders are read back. *oversold* = orders
stored beyond the stock, plus any negative stock (must be 0); *consistent* = orders stored
= 201 answers and stock = initial - sold. Three rounds, then one with enough stock for all
50 (the throughput of successful checkouts). Each checkout holds one of the 4 execution
environments of OrdersFunction, like a reserved concurrency of 4.
"""
    ]
    inproc = sections.get("_inprocess", {})
    for phase in ("1", "2"):
        s = sections.get(phase)
        if s is None:
            continue
        if (text := failed(s)) is not None:
            five.append(f"### Phase {phase}\n\n{text}")
            continue
        g, local = s["gateway"], s["in_process_same_store"]
        item2 = {(r["route"], r["variant"]): r for r in inproc.get(phase, {}).get("routes", [])}
        rows = []
        for route, key in (
            ("GET /books", ("GET /books", "first page")),
            ("POST /orders", ("POST /orders", "checkout, 2 lines")),
        ):
            ref = item2.get(key, {}).get("total", {})
            for clients, v in g[route].items():
                rows.append(
                    [
                        route,
                        clients,
                        ms(v["p50"]),
                        ms(v["p99"]),
                        v["per_second"],
                        ms(local[route]["p50"]) if clients == "1" else "",
                        times(v["p50"] / local[route]["p50"]) if clients == "1" else "",
                        ms(ref.get("p50")) if clients == "1" else "",
                    ]
                )
        five.append(f"""### Phase {phase}

{table(GATEWAY_COLUMNS, rows)}
""")
        c = s["contention"]
        crow = []
        for label, r in [
            *((f"scarce, round {i + 1}", r) for i, r in enumerate(c["scarce_rounds"])),
            ("plentiful", c["plentiful"]),
        ]:
            crow.append(
                [
                    label,
                    r["stock"],
                    r["buyers"],
                    r["placed"],
                    r["refused_409"],
                    r["other_statuses"] or "-",
                    r["orders_stored"],
                    r["stock_left"],
                    f"**{r['oversold']}**",
                    r["consistent"],
                    r["wall_s"],
                    r["orders_per_s"],
                    r["checkouts_per_s"],
                    ms(r["latency"]["p50"], 0),
                ]
            )
        six.append(f"""### Phase {phase}

{table(CONTENTION_COLUMNS, crow)}
""")
    return "\n".join(five) + "\n" + "\n".join(six)


def migration(m: dict[str, Any]) -> str:
    """Item 7."""
    if (text := failed(m)) is not None:
        return "## 7. Migration\n\n" + text
    b, v = m["backfill"], m["verify"]
    rows = [
        [
            f"raw scan (floor), {m['segments']} segments",
            m["raw_scan"]["items"],
            m["raw_scan"]["seconds"],
            m["raw_scan"]["per_s"],
            "1.00x",
            "-",
        ],
        [
            "backfill (scan, convert, upsert, checkpoint)",
            b["copied"],
            b["seconds"],
            b["per_s"],
            times(m["backfill_vs_raw_scan"]),
            f"DynamoDB {calls(b['work'])}; PostgreSQL {b['work']['pg_round_trips']} round trips",
        ],
        [
            "raw scan (floor), 1 segment",
            m["raw_scan_one_segment"]["items"],
            m["raw_scan_one_segment"]["seconds"],
            m["raw_scan_one_segment"]["per_s"],
            "1.00x",
            "-",
        ],
        [
            "verify (full: both stores, digest per record)",
            v["compared"],
            v["seconds"],
            v["per_s"],
            times(m["verify_vs_raw_scan_one_segment"]),
            f"DynamoDB {calls(v['work'])}; PostgreSQL {v['work']['pg_round_trips']} round trips; clean: {v['clean']}",
        ],
    ]
    return f"""## 7. Migration: backfill and verify of {m["records"]:,} records

Command: `{CMD} --only migration`. {m["records"]:,} user profiles (half with an address)
in the users table of a locked moto server in the bench process (backfill scans in
parallel threads), PostgreSQL on loopback. The floor is the raw scan of the same table with
the same page size ({m["page_size"]}) and parallelism, keeping nothing. moto answers scans from
a prebuilt segment order and with `json.dumps` (as in item 4; scan answers equal unmodified
moto's: **{m.get("scan_answers_equal_unmodified_moto")}**, JSON checked on
{m["moto_json_checked"]["checked"]} answers, {m["moto_json_checked"]["different"]} different).

{table(["step", "records", "seconds", "records/s", "vs floor", "store work"], rows)}

Backfill thread-time in store calls: DynamoDB {b["thread_seconds"]["dynamodb"]} s, PostgreSQL
{b["thread_seconds"]["postgres"]} s (over {m["segments"]} threads, {b["seconds"]} s of wall time).
"""


def before_after(data: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """The fix, with the figures of the run before it (bench-results/before-fix.json) and this one."""
    from . import fix

    return fix.section(data, baseline)


def render(data: dict[str, Any], baseline: dict[str, Any] | None) -> str:
    """The whole report."""
    s = data.get("sections", {})
    parts = [header(data)]
    from . import fix

    parts.append(fix.summary(data))
    if "coldstart" in s:
        parts.append(coldstart(s["coldstart"]))
    if "inprocess" in s:
        parts.append(inprocess(s["inprocess"]))
    if "scaling" in s:
        parts.append(scaling(s["scaling"]))
    if "gateway" in s:
        parts.append(gateway({**s["gateway"], "_inprocess": s.get("inprocess", {})}))
    if "migration" in s:
        parts.append(migration(s["migration"]))
    parts.append(before_after(data, baseline))
    return "\n".join(parts).rstrip() + "\n"
