"""``scripts/bench.py``: run the sections (each in its own process), then write the report.

    .venv/bin/python scripts/bench.py                      # everything (make bench), ~12 minutes
    .venv/bin/python scripts/bench.py --only gateway       # one section again; the report keeps the others
    .venv/bin/python scripts/bench.py --quick              # small sizes, few rounds: checks the bench itself

Writes BENCHMARKS.md and bench-results/benchmarks.json. Section output that is not a
figure (the functions' logs and metrics, as Lambda would send them to CloudWatch) goes
to .aws-sam/bench/logs/<section>.log.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)
import sys
import time
from pathlib import Path
from typing import Any

from .common import ROOT, WORK_DIR, apply_base_env, jsonable

CMD = ".venv/bin/python scripts/bench.py"
SECTIONS = ("coldstart", "inprocess", "scaling", "gateway", "migration")
PHASED = ("inprocess", "scaling", "gateway")
JSON_OUT = ROOT / "bench-results" / "benchmarks.json"
MD_OUT = ROOT / "BENCHMARKS.md"
BASELINE = ROOT / "bench-results" / "before-fix.json"
SECTION_TIMEOUT = 900

FULL: dict[str, dict[str, Any]] = {
    "coldstart": {"repeats": 7, "repeats_as_built": 4, "build": True},
    "inprocess": {"rounds": 30},
    "scaling": {"sizes": [1_000, 100_000], "rounds": 20},
    "gateway": {"rounds": 40, "levels": [1, 8]},
    "migration": {"records": 100_000},
}
QUICK: dict[str, dict[str, Any]] = {
    "coldstart": {"repeats": 2, "repeats_as_built": 1, "build": False},
    "inprocess": {"rounds": 5},
    "scaling": {"sizes": [1_000, 5_000], "rounds": 5},
    "gateway": {"rounds": 8, "levels": [1, 4]},
    "migration": {"records": 5_000},
}


def child(section: str, phase: str | None, params: dict[str, Any], result: Path) -> int:
    """Run one section in this process and write its result as JSON."""
    apply_base_env()
    began = time.perf_counter()
    data: Any
    if section == "coldstart":
        from . import coldstart

        data = coldstart.run(params["repeats"], params["build"], params["repeats_as_built"])
    elif section == "inprocess":
        from . import inprocess

        data = inprocess.run(str(phase), params["rounds"])
    elif section == "scaling":
        from . import scaling

        data = scaling.run(str(phase), params["sizes"], params["rounds"])
    elif section == "gateway":
        from . import gateway

        data = gateway.run(str(phase), params["rounds"], params["levels"])
    else:
        from . import migration

        data = migration.run(params["records"])
    data["seconds"] = round(time.perf_counter() - began, 1)
    result.write_text(json.dumps(jsonable(data), indent=1))
    return 0


def run_section(section: str, phase: str | None, params: dict[str, Any]) -> dict[str, Any]:
    """One section in a fresh interpreter: its JSON, or an error entry."""
    from .machine import load_average

    logs = WORK_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    name = section + (f"-phase{phase}" if phase else "")
    result = WORK_DIR / f"{name}.json"
    result.unlink(missing_ok=True)
    command = [
        sys.executable,
        str(ROOT / "scripts" / "bench.py"),
        "--child",
        section,
        "--params",
        json.dumps(params),
        "--result",
        str(result),
    ] + (["--phase", phase] if phase else [])
    load_before = load_average()
    began = time.perf_counter()
    with (logs / f"{name}.log").open("w") as log:
        try:
            done = subprocess.run(  # noqa: S603 - our own interpreter and script
                command,
                stdout=log,
                stderr=subprocess.PIPE,
                text=True,  # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
                timeout=SECTION_TIMEOUT,
                check=False,
                cwd=ROOT,
            )
            errors, code = done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            errors, code = str(exc.stderr or ""), -1
    elapsed = round(time.perf_counter() - began, 1)
    sys.stderr.write("".join(line + "\n" for line in errors.splitlines() if line.startswith("[")))
    if code != 0 or not result.exists():
        tail = "\n".join(errors.strip().splitlines()[-25:])
        sys.stderr.write(f"!! {name} failed ({code}):\n{tail}\n")
        return {"error": tail, "exit_code": code, "wall_seconds": elapsed}
    data: dict[str, Any] = json.loads(result.read_text())
    data["wall_seconds"] = elapsed
    data["load_average"] = {"before": load_before, "after": load_average()}
    return data


def main(argv: list[str] | None = None) -> int:
    """Entry point of scripts/bench.py."""
    parser = argparse.ArgumentParser(description="CloudShelf benchmarks (make bench)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run these sections; keep the others' figures")
    parser.add_argument("--phase", choices=("1", "2"), help="with --only: just this phase of a phased section")
    parser.add_argument("--quick", action="store_true", help="small sizes and few rounds (checks the bench itself)")
    parser.add_argument(
        "--json", type=Path, default=JSON_OUT, help="JSON output (default bench-results/benchmarks.json)"
    )
    parser.add_argument("--markdown", type=Path, default=MD_OUT, help="report (default BENCHMARKS.md)")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help="an earlier JSON for the before/after table")
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the JSON, measure nothing")
    parser.add_argument("--child", choices=SECTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--params", help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args.child, args.phase, json.loads(args.params), args.result)

    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    from . import report
    from .machine import describe

    previous: dict[str, Any] = json.loads(args.json.read_text()) if args.json.exists() else {}
    data: dict[str, Any] = {"sections": {}}
    if args.only:
        data["sections"] = dict(previous.get("sections", {}))
    if not args.report_only:
        settings = QUICK if args.quick else FULL
        data["machine"] = describe()
        data["mode"] = "quick" if args.quick else "full"
        extra = list(argv if argv is not None else sys.argv[1:])
        data["command"] = " ".join([CMD, *extra]) if extra else f"make bench (= {CMD})"
        began = time.perf_counter()
        for section in args.only or SECTIONS:
            phases = (
                [args.phase] if (args.phase and section in PHASED) else (["1", "2"] if section in PHASED else [None])
            )
            for phase in phases:
                sys.stderr.write(f"== {section}{f' (phase {phase})' if phase else ''}\n")
                result = run_section(section, phase, settings[section])
                if phase:
                    data["sections"].setdefault(section, {})[phase] = result
                else:
                    data["sections"][section] = result
        data["total_seconds"] = round(time.perf_counter() - began, 1)
        if args.only:
            data["total_seconds_note"] = f"this run: {', '.join(args.only)} only"
    else:
        data = previous
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(data, indent=1) + "\n")
    baseline = json.loads(args.baseline.read_text()) if args.baseline.exists() else None
    args.markdown.write_text(report.render(data, baseline))
    sys.stderr.write(f"wrote {args.markdown} and {args.json} ({data.get('total_seconds', 0):.0f} s of measuring)\n")
    failed = [name for name, value in data["sections"].items() if _failed(value)]
    return 1 if failed else 0


def _failed(value: Any) -> bool:
    if isinstance(value, dict) and "error" in value:
        return True
    return isinstance(value, dict) and any(isinstance(v, dict) and "error" in v for v in value.values())
