"""Item 1: cold start (handler import in a fresh interpreter) vs the floor, and artifact sizes.

The import runs the way Lambda runs it: a fresh interpreter with only the standard
library, the function's code directory and the layer's ``python`` directory on the path
(see ``import_probe.py``), with the function's template environment and X-Ray tracing on
(``Tracing: Active`` in the template: Powertools' Tracer then patches the libraries it
knows). The layer is a mirror of the one ``sam build`` makes (same requirements, same
layout) for this machine's architecture, since the built layer holds arm64 binaries.

Two conditions, each ``repeats`` times per function, interleaved so that noise hits all
functions alike; the median is reported:

- ``as built``: like ``sam build``'s layer, with no compiled bytecode (``.pyc``) anywhere
  but the standard library; Lambda's ``/opt`` and ``/var/task`` are read-only, so every
  cold start compiles every imported module of the layer and the function from source;
- ``with .pyc``: the same files with their bytecode compiled (what a build that ships
  ``.pyc`` files would get).

The floor is a minimal handler that imports only boto3 and Powertools' event handler
(one ``APIGatewayRestResolver`` and one route), measured in the same run, same way.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from .common import ROOT, WORK_DIR, section_log

PROBE = Path(__file__).with_name("import_probe.py")
FLOOR_APP = '''"""The floor: a minimal handler importing only boto3 and Powertools' event handler."""
import boto3
from aws_lambda_powertools.event_handler import APIGatewayRestResolver

app = APIGatewayRestResolver()


@app.get("/ping")
def ping():
    return {"ok": True}


def lambda_handler(event, context):
    return app.resolve(event, context)
'''


# The work the fix of issue 8 removed from every cold start, done again before the handler is
# imported: what `Tracer()` did (patch every library X-Ray supports, psycopg2 and sqlite3
# included) and the models repositories/base.py imported for its annotations. Measured next
# to the same functions without it, in the same rounds: the fix's before/after in one run.
BEFORE_FIX = (
    "from aws_xray_sdk.core import patch_all; patch_all(); import cloudshelf.models.orders, cloudshelf.models.users"
)
BEFORE_FIX_TARGETS = ("CartsFunction", "OrdersFunction")


def functions() -> dict[str, tuple[Path, str]]:
    """Every Serverless::Function of the template: logical id -> (CodeUri, Handler)."""
    from cloudshelf_dev.template import resources

    out = {}
    for logical_id, resource in sorted(resources("AWS::Serverless::Function").items()):
        props = resource["Properties"]
        out[logical_id] = (ROOT / props["CodeUri"], props["Handler"])
    return out


def layer_mirror(say: Any) -> Path:
    """``<work>/layer/python``: the layer's requirements for this machine, no bytecode (cached by hash)."""
    requirements = ROOT / "layers" / "shared" / "requirements.txt"
    digest = hashlib.sha256(requirements.read_bytes() + sys.version.encode()).hexdigest()[:16]
    target = WORK_DIR / "layer" / "python"
    marker = WORK_DIR / "layer" / f".installed-{digest}"
    if not marker.exists():
        say("installing the layer's requirements into a mirror (pip, once per requirements change)")
        shutil.rmtree(WORK_DIR / "layer", ignore_errors=True)
        subprocess.run(  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "--no-compile",
                "--only-binary=:all:",
                "--target",
                str(target),
                "-r",
                str(requirements),
            ],
            check=True,
        )
        marker.touch()
    # The layer's own code, as sam build puts it next to the requirements (fresh copy, no bytecode).
    shutil.rmtree(target / "cloudshelf", ignore_errors=True)
    shutil.copytree(
        ROOT / "layers" / "shared" / "cloudshelf",
        target / "cloudshelf",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    return target


def drop_bytecode(*roots: Path) -> None:
    """Remove every __pycache__ under ``roots``."""
    for root in roots:
        for cache in list(root.rglob("__pycache__")):
            shutil.rmtree(cache, ignore_errors=True)


def code_copies(specs: dict[str, tuple[Path, str]], into: Path) -> dict[str, tuple[Path, str]]:
    """Each function's code directory copied without bytecode, plus the floor's."""
    shutil.rmtree(into, ignore_errors=True)
    out = {}
    for logical_id, (code_uri, handler) in specs.items():
        target = into / logical_id
        shutil.copytree(code_uri, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        out[logical_id] = (target, handler)
    floor = into / "Floor"
    floor.mkdir(parents=True)
    (floor / "app.py").write_text(FLOOR_APP)
    out["Floor"] = (floor, "app.lambda_handler")
    return out


def probe_env(*, tracing: bool) -> dict[str, str]:
    """A function's environment (template Globals for phase 1), in a Lambda-like process."""
    from .stores import function_env

    env = {k: v for k, v in function_env("1").items() if not k.startswith("AWS_ENDPOINT")}
    env.update(PATH=os.environ.get("PATH", "/usr/bin:/bin"), LANG="C.UTF-8", TZ=":UTC")
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    if tracing:
        env.update(LAMBDA_TASK_ROOT="/var/task", AWS_XRAY_CONTEXT_MISSING="LOG_ERROR")
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
    return env


def probe(
    code: Path,
    layer: Path,
    handler: str,
    env: dict[str, str],
    *,
    bytecode: bool,
    importtime: bool = False,
    before: str = "",
) -> dict[str, Any]:
    """One fresh interpreter importing one handler."""
    flags = ["-I", "-S"] + ([] if bytecode else ["-B"]) + (["-X", "importtime"] if importtime else [])
    began = time.perf_counter()
    done = subprocess.run(  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
        [sys.executable, *flags, str(PROBE), str(code), str(layer), handler, *([before] if before else [])],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    wall = (time.perf_counter() - began) * 1000
    if done.returncode != 0:
        raise RuntimeError(f"importing {code.name} failed: {done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_ms"] = round(wall, 1)
    if importtime:
        result["importtime"] = done.stderr
    return result


def import_breakdown(report: str, floor_report: str, layer: Path, top: int = 8) -> list[dict[str, Any]]:
    """Self time of modules the floor does not import, summed by top-level package (ms)."""

    def parse(text: str) -> dict[str, int]:
        found = {}
        for line in text.splitlines():
            if line.startswith("import time:") and "|" in line:
                parts = line[len("import time:") :].split("|")
                if parts[0].strip().isdigit():
                    found[parts[2].strip()] = int(parts[0])
        return found

    floor_modules = parse(floor_report)
    by_package: Counter[str] = Counter()
    for name, self_us in parse(report).items():
        if name not in floor_modules:
            by_package[name.split(".")[0]] += self_us
    return [{"package": p, "ms": round(us / 1000, 1)} for p, us in by_package.most_common(top)]


def artifact_sizes(say: Any) -> dict[str, Any]:
    """``sam build`` (cached) into the bench's own build dir; unzipped and zipped size of each artifact."""
    sam = ROOT / ".venv-sam" / "bin" / "sam"
    if not sam.exists():
        return {"skipped": "no SAM CLI in .venv-sam (make build installs it)"}
    build_dir, cache_dir = WORK_DIR / "build", WORK_DIR / "build-cache"
    python_dir = Path(getattr(sys, "_base_executable", sys.executable)).resolve().parent
    env = {**os.environ, "PATH": f"{python_dir}:{os.environ.get('PATH', '')}", "SAM_CLI_TELEMETRY": "0"}
    say("sam build --cached --parallel (python3.13, arm64)")
    began = time.perf_counter()
    done = subprocess.run(  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
        [
            str(sam),
            "build",
            "--cached",
            "--parallel",
            "--template-file",
            str(ROOT / "template.yaml"),
            "--build-dir",
            str(build_dir),
            "--cache-dir",
            str(cache_dir),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        return {"skipped": "sam build failed: " + (done.stdout + done.stderr)[-1500:]}
    artifacts = {}
    for folder in sorted(p for p in build_dir.iterdir() if p.is_dir()):
        files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
        with tempfile.TemporaryDirectory() as tmp:
            archive = Path(tmp) / "a.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for path in files:
                    zf.write(path, path.relative_to(folder))
            zipped = archive.stat().st_size
        artifacts[folder.name] = {
            "unzipped_bytes": sum(p.stat().st_size for p in files),
            "zipped_bytes": zipped,
            "files": len(files),
            "pyc_files": sum(1 for p in files if p.suffix == ".pyc"),
        }
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "build_dir": str(build_dir.relative_to(ROOT)),
        "artifacts": artifacts,
    }


def run(repeats: int = 5, build: bool = True, repeats_as_built: int = 3) -> dict[str, Any]:
    """Median import times per function and condition, the floor, a breakdown, and the artifacts."""
    say = section_log("coldstart")
    layer = layer_mirror(say)
    copies = code_copies(functions(), WORK_DIR / "functions")
    traced, untraced = probe_env(tracing=True), probe_env(tracing=False)
    # (condition, environment, bytecode, targets): measured round-robin, so noise hits all alike
    targets = [*copies, *(f"{t} before fix" for t in BEFORE_FIX_TARGETS)]
    plan = {
        "as_built": (traced, targets),
        "with_pyc": (traced, targets),
        "tracing_off": (untraced, ["Floor", "BooksFunction"]),
    }
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {name: {} for name in plan}

    def one(name: str, target: str, bytecode: bool) -> None:
        env, _ = plan[name]
        code, handler = copies[target.removesuffix(" before fix")]
        before = BEFORE_FIX if target.endswith(" before fix") else ""
        samples[name].setdefault(target, []).append(probe(code, layer, handler, env, bytecode=bytecode, before=before))

    drop_bytecode(layer, WORK_DIR / "functions")
    for rep in range(repeats_as_built):
        for target in targets:
            one("as_built", target, bytecode=False)
        say(f"as built (no .pyc): round {rep + 1}/{repeats_as_built}")
    for code, handler in copies.values():  # compile once, not timed: a build that ships .pyc files
        probe(code, layer, handler, untraced, bytecode=True)
        probe(code, layer, handler, traced, bytecode=True, before=BEFORE_FIX)
    for rep in range(repeats):
        for name in ("with_pyc", "tracing_off"):
            for target in plan[name][1]:
                one(name, target, bytecode=True)
        say(f"with .pyc: round {rep + 1}/{repeats}")
    starts = []
    for _ in range(repeats):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True, env=traced)  # nosec B603 - our own interpreter
        starts.append((time.perf_counter() - began) * 1000)
    say("-X importtime breakdown (with .pyc)")
    floor_code, floor_handler = copies["Floor"]
    floor_report = probe(floor_code, layer, floor_handler, traced, bytecode=True, importtime=True)["importtime"]
    breakdown = {}
    for logical_id, (code, handler) in copies.items():
        if logical_id != "Floor":
            report = probe(code, layer, handler, traced, bytecode=True, importtime=True)["importtime"]
            breakdown[logical_id] = import_breakdown(report, floor_report, layer)
    drop_bytecode(layer, WORK_DIR / "functions")
    return {
        "repeats": {"as_built": repeats_as_built, "with_pyc": repeats},
        "python": sys.version.split()[0],
        "interpreter_start_ms": round(statistics.median(starts), 1),
        "conditions": {name: rows(runs) for name, runs in samples.items()},
        "extra_imports_vs_floor": breakdown,
        "sizes": artifact_sizes(say) if build else {"skipped": "--no-build"},
    }


def rows(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """Median, spread and ratio to the floor of one condition's samples."""
    floor = statistics.median(r["ms"] for r in runs["Floor"])
    out = {}
    for logical_id, samples in runs.items():
        median = statistics.median(r["ms"] for r in samples)
        out[logical_id] = {
            "median_ms": round(median, 1),
            "min_ms": round(min(r["ms"] for r in samples), 1),
            "max_ms": round(max(r["ms"] for r in samples), 1),
            "modules": samples[0]["modules"],
            "vs_floor": round(median / floor, 2),
            "over_floor_ms": round(median - floor, 1),
        }
    return out
