"""What the figures were measured on: machine, software, commit, load."""

from __future__ import annotations

import os
import platform
import subprocess  # nosec B404 - subprocess runs fixed argv lists of our own tools (no shell)
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from .common import ROOT

PACKAGES = ("aws-lambda-powertools", "boto3", "pydantic", "moto", "psycopg2-binary", "Werkzeug")


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gb() -> float | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _run(*command: str) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False, cwd=ROOT)  # noqa: S603 # nosec B603 - fixed argv of our own interpreter/tools, no shell, no user input
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages (other work on the machine shows here)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def describe() -> dict[str, Any]:
    """The machine and software of this run."""
    from cloudshelf_dev.postgres import find_bin

    try:
        postgres = _run(find_bin("postgres"), "--version")
    except FileNotFoundError:
        postgres = "not installed"
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "-"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "memory_gb": _memory_gb(),
        "os": f"{platform.system()} {platform.release()} ({platform.machine()})",
        "python": sys.version.split()[0],
        "postgresql": postgres,
        "packages": versions,
        "commit": _run("git", "rev-parse", "--short", "HEAD"),
        "uncommitted_changes": bool(_run("git", "status", "--porcelain")),
        "load_average_at_start": load_average(),
    }
