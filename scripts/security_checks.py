#!/usr/bin/env python3
"""Static security checks of CloudShelf: bandit, pip-audit and checkov, with zero unexplained findings.

    .venv/bin/python scripts/security_checks.py                  # all three (pip-audit needs PyPI)
    .venv/bin/python scripts/security_checks.py --only bandit,checkov
    .venv/bin/python scripts/security_checks.py --offline        # skip pip-audit, loudly
    .venv/bin/python scripts/security_checks.py --setup-checkov  # create .venv-checkov (pinned checkov)

- bandit on layers/ src/ cloudshelf_dev/ scripts/ (settings: pyproject.toml [tool.bandit]).
  Every accepted finding carries ``# nosec BXXX - reason`` on its line; a ``nosec`` without
  a test id or without a reason is itself a finding.
- pip-audit on requirements/*.txt and layers/shared/requirements.txt, ``--strict``: a
  dependency that could not be audited fails the check like a vulnerable one. With no
  network it fails and says so; ``--offline`` skips it with a warning, and only then.
- checkov on template.yaml once per data phase (it evaluates Conditions with the
  parameters' defaults, so phase 2 is scanned on a copy whose DataPhase default is "2"),
  in its own venv (.venv-checkov: it pins a boto3 that clashes with SAM CLI's). Every
  failed check must be listed in .checkov-skips.yaml with a one-line reason; a listed
  skip that matches nothing in either phase is stale and fails too.

Exit status: 0 when every selected check is clean, 1 when one has findings, 2 when a
tool could not run (missing, timed out, no network).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess  # nosec B404 - runs bandit, pip-audit and checkov with fixed argv lists, no shell
import sys
import tempfile
import tokenize
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
BANDIT_PATHS = ("layers", "src", "cloudshelf_dev", "scripts")
REQUIREMENTS = (*sorted((ROOT / "requirements").glob("*.txt")), ROOT / "layers" / "shared" / "requirements.txt")
CHECKOV_VENV = ROOT / ".venv-checkov"
CHECKOV_VERSION = "3.3.30"
SKIPS_FILE = ROOT / ".checkov-skips.yaml"
PHASES = ("1", "2")
NOSEC = re.compile(r"#\s*nosec\b(?P<rest>[^#]*)")
NOSEC_OK = re.compile(r"^\s*:?\s*(B\d{3}(\s*,\s*B\d{3})*)\s+-\s+\S.{8,}")
PYPI_PROBE = "https://pypi.org/pypi/pip/json"


Finding = tuple[str, str, str]


class ToolError(Exception):
    """A tool could not run (missing, timed out, no network): exit status 2."""


@dataclass
class Report:
    """What one tool found: raw findings, those explained (skipped with a reason), the rest."""

    tool: str
    raw: int = 0
    explained: int = 0
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: bool = False
    unavailable: bool = False  # the tool ran but could not do its job (e.g. no vulnerability data): exit 2

    @property
    def ok(self) -> bool:
        return self.skipped or not self.problems


def run(argv: list[str], *, timeout: int, env: dict[str, str] | None = None, cwd: Path = ROOT) -> tuple[int, str, str]:
    """Run a tool; ToolError when it is missing or outlasts ``timeout`` seconds."""
    try:
        proc = subprocess.run(  # noqa: S603 # nosec B603 - fixed argv of our own venvs' tools, no shell
            argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise ToolError(f"{argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"{' '.join(argv[:3])} ... took more than {timeout} s") from exc
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------- bandit


def nosec_problems(paths: Iterable[Path]) -> list[str]:
    """``nosec`` comments that name no test id or give no reason (``# nosec B603 - why``)."""
    problems = []
    for base in paths:
        for file in sorted(base.rglob("*.py")):
            with file.open(encoding="utf-8") as handle:
                try:
                    comments = [t for t in tokenize.generate_tokens(handle.readline) if t.type == tokenize.COMMENT]
                except (tokenize.TokenError, SyntaxError) as exc:
                    problems.append(f"{file.relative_to(ROOT)}: cannot read its comments: {exc}")
                    continue
            for token in comments:
                found = NOSEC.search(token.string)
                if found and not NOSEC_OK.match(found.group("rest")):
                    where = f"{file.relative_to(ROOT)}:{token.start[0]}"
                    problems.append(f"{where}: a nosec needs 'BXXX - reason': {token.string.strip()}")
    return problems


def check_bandit(timeout: int = 180) -> Report:
    report = Report("bandit")
    argv = [sys.executable, "-m", "bandit", "-q", "-r", *BANDIT_PATHS, "-c", "pyproject.toml", "-f", "json"]
    code, out, err = run(argv, timeout=timeout)
    try:
        data = json.loads(out)
    except json.JSONDecodeError as exc:
        noise = "is not a test name or id"  # bandit warns about each word of a nosec's reason, and ignores it
        errors = "\n".join(line for line in err.splitlines() if noise not in line)
        raise ToolError(f"bandit failed (exit {code}):\n{errors[-2000:]}") from exc
    for errored in data.get("errors", []):
        report.problems.append(f"could not scan {errored.get('filename')}: {errored.get('reason')}")
    totals = data.get("metrics", {}).get("_totals", {})
    report.explained = int(totals.get("skipped_tests", 0))
    for result in data.get("results", []):
        report.problems.append(
            f"{result['filename']}:{result['line_number']}: {result['test_id']} {result['issue_severity']}"
            f" {result['issue_text']}"
        )
    report.problems += nosec_problems(ROOT / p for p in BANDIT_PATHS)
    report.raw = report.explained + len(data.get("results", []))
    report.notes.append(f"{report.explained} accepted with '# nosec BXXX - reason', {len(data['results'])} open")
    return report


# ---------------------------------------------------------------- pip-audit


def pypi_reachable(timeout: float = 10.0) -> bool:
    try:
        with urllib.request.urlopen(PYPI_PROBE, timeout=timeout) as answer:  # nosec B310 - a fixed https URL
            return bool(answer.status == 200)
    except OSError:
        return False


def check_pip_audit(offline: bool, service: str, timeout: int = 600) -> Report:
    report = Report("pip-audit")
    if offline:
        report.skipped = True
        report.notes.append("SKIPPED (--offline): the pinned dependencies were NOT checked for known vulnerabilities")
        return report
    if service == "pypi" and not pypi_reachable():
        raise ToolError(
            f"pip-audit needs the network ({PYPI_PROBE} is unreachable); nothing was audited. "
            "Run with network, or pass --offline to skip this check knowingly."
        )
    for requirements in REQUIREMENTS:
        name = requirements.relative_to(ROOT)
        argv = [sys.executable, "-m", "pip_audit", "-r", str(requirements), "--strict", "-f", "json"]
        argv += ["--progress-spinner", "off", "--vulnerability-service", service, "--timeout", "30"]
        code, out, err = run(argv, timeout=timeout)
        try:
            data = json.loads(out)
        except json.JSONDecodeError:
            data = None
        if data is None:
            # --strict: a dependency that could not be collected or audited stops pip-audit
            reasons = [line.split("pip_audit._cli:", 1)[-1] for line in err.splitlines() if "ERROR" in line]
            detail = "; ".join(reasons[:3]) or err.strip()[-500:]
            if "not found on PyPI" in detail or "could not be audited" in detail:
                detail += (
                    " (the index answered no vulnerability data for this version: a mirror without"
                    " PyPI's per-version JSON API, or a version PyPI doesn't have)"
                )
            report.problems.append(f"{name}: not audited: {detail}")
            report.unavailable = True
            continue
        for dependency in data.get("dependencies", []):
            report.raw += len(dependency.get("vulns", []))
            for vuln in dependency.get("vulns", []):
                fixed = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
                report.problems.append(
                    f"{name}: {dependency['name']} {dependency.get('version')}: {vuln['id']} (fixed in {fixed})"
                )
            if dependency.get("skip_reason"):
                report.problems.append(f"{name}: {dependency['name']} not audited: {dependency['skip_reason']}")
        audited = sum(1 for d in data.get("dependencies", []) if "vulns" in d)
        report.notes.append(f"{name}: {audited} dependencies audited (exit {code})")
    return report


# ---------------------------------------------------------------- checkov


@dataclass(frozen=True)
class Skip:
    """An accepted checkov finding: check id, the resources it covers ("*": all), why."""

    check: str
    resources: tuple[str, ...]
    reason: str
    status: str = "accepted"

    def covers(self, check: str, resource: str) -> bool:
        logical_id = resource.rsplit(".", 1)[-1]
        return check == self.check and ("*" in self.resources or logical_id in self.resources)


def load_skips(path: Path = SKIPS_FILE) -> list[Skip]:
    """The skips file; every entry must have an id, resources and a one-line reason."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    skips = []
    for entry in data.get("skips", []):
        reason = str(entry.get("reason", "")).strip()
        if not re.fullmatch(r"CKV2?_AWS_\d+", str(entry.get("id", ""))) or not reason or "\n" in reason:
            raise ValueError(f"{path.name}: each skip needs an id (CKV_AWS_n) and a one-line reason: {entry}")
        resources = entry.get("resources", "*")
        resources = (resources,) if isinstance(resources, str) else tuple(resources)
        skips.append(Skip(entry["id"], resources, reason, str(entry.get("status", "accepted"))))
    return skips


def phase_template(phase: str, directory: Path) -> Path:
    """template.yaml with the DataPhase default set to ``phase`` (checkov decides Conditions by defaults)."""
    text = (ROOT / "template.yaml").read_text(encoding="utf-8")
    pattern = re.compile(r'(\n  DataPhase:\n(?:    .*\n)*?    Default: )"?[12]"?')
    changed, count = pattern.subn(rf'\1"{phase}"', text, count=1)
    if count != 1:
        raise ToolError("cannot find the DataPhase parameter's Default in template.yaml")
    target = directory / f"phase{phase}" / "template.yaml"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(changed, encoding="utf-8")
    return target


def checkov_failures(checkov: Path, template: Path, timeout: int) -> tuple[list[Finding], list[Finding]]:
    """(check id, resource, title) of every failed check on ``template``, and of those skipped inline.

    For an inline skip (``Metadata: checkov: skip:`` in the template) the title is its comment.
    """
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "LOG_LEVEL": "ERROR"}
    argv = [str(checkov), "-f", template.name, "--framework", "cloudformation", "--skip-download", "-o", "json"]
    code, out, err = run(argv, timeout=timeout, env=env, cwd=template.parent)
    try:
        data: Any = json.loads(out)
    except json.JSONDecodeError as exc:
        raise ToolError(f"checkov failed (exit {code}): {(err or out)[-2000:]}") from exc
    runs = data if isinstance(data, list) else [data]
    failed, skipped = [], []
    for result in runs:
        for check in result.get("results", {}).get("failed_checks", []):
            failed.append((check["check_id"], check["resource"], check.get("check_name", "")))
        for check in result.get("results", {}).get("skipped_checks", []):
            comment = str((check.get("check_result") or {}).get("suppress_comment") or "").strip()
            skipped.append((check["check_id"], check["resource"], comment))
    return failed, skipped


def setup_checkov() -> Path:
    """Create .venv-checkov with the pinned checkov (needs the package index)."""
    python = shutil.which("python3.13") or sys.executable
    run([python, "-m", "venv", str(CHECKOV_VENV)], timeout=120)
    code, _, err = run([str(CHECKOV_VENV / "bin" / "pip"), "install", "-q", f"checkov=={CHECKOV_VERSION}"], timeout=900)
    if code != 0:
        raise ToolError(f"installing checkov failed: {err[-1000:]}")
    return CHECKOV_VENV / "bin" / "checkov"


def check_checkov(checkov: Path, timeout: int = 300) -> Report:
    report = Report("checkov")
    if not checkov.exists():
        raise ToolError(
            f"{checkov} is missing: create it with `scripts/security_checks.py --setup-checkov` "
            f"(python3.13 -m venv .venv-checkov && .venv-checkov/bin/pip install checkov=={CHECKOV_VERSION})"
        )
    skips = load_skips()
    used: set[Skip] = set()
    with tempfile.TemporaryDirectory(prefix="cloudshelf-checkov-") as tmp:
        for phase in PHASES:
            failed, inline = checkov_failures(checkov, phase_template(phase, Path(tmp)), timeout)
            report.raw += len(failed) + len(inline)
            for check, resource, comment in inline:
                if len(comment) < 10 or comment.lower().startswith("no comment"):
                    report.problems.append(
                        f"phase {phase}: {check} {resource}: skipped in template.yaml without a reason"
                    )
                else:
                    report.explained += 1
                    report.notes.append(f"phase {phase}: {check} {resource}: skipped in template.yaml: {comment}")
            for check, resource, title in failed:
                skip = next((s for s in skips if s.covers(check, resource)), None)
                if skip is None:
                    report.problems.append(f"phase {phase}: {check} {resource}: {title}")
                else:
                    used.add(skip)
                    report.explained += 1
            report.notes.append(f"phase {phase}: {len(failed)} failed, {len(inline)} skipped in the template")
    for skip in skips:
        if skip not in used:
            report.problems.append(
                f"stale skip in {SKIPS_FILE.name}: {skip.check} {list(skip.resources)} matches nothing"
            )
        elif skip.status != "accepted":
            report.notes.append(f"{skip.status}: {skip.check} {list(skip.resources)}: {skip.reason}")
    return report


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="bandit,pip-audit,checkov", help="comma-separated subset of the tools")
    parser.add_argument("--offline", action="store_true", help="skip pip-audit (it needs PyPI), with a warning")
    parser.add_argument("--vulnerability-service", default="pypi", choices=["pypi", "osv"], help="for pip-audit")
    parser.add_argument("--checkov", type=Path, default=CHECKOV_VENV / "bin" / "checkov", help="checkov executable")
    parser.add_argument(
        "--setup-checkov", action="store_true", help=f"create .venv-checkov (checkov {CHECKOV_VERSION})"
    )
    parser.add_argument("--json", type=Path, help="also write the reports here")
    args = parser.parse_args(argv)
    if args.setup_checkov:
        args.checkov = setup_checkov()
    chosen = [t.strip() for t in args.only.split(",") if t.strip()]
    checks: dict[str, Callable[[], Report]] = {
        "bandit": check_bandit,
        "pip-audit": lambda: check_pip_audit(args.offline, args.vulnerability_service),
        "checkov": lambda: check_checkov(args.checkov),
    }
    unknown = set(chosen) - checks.keys()
    if unknown:
        parser.error(f"unknown tools: {', '.join(sorted(unknown))}")
    reports: list[Report] = []
    status = 0
    for tool in chosen:
        try:
            report = checks[tool]()
        except (ToolError, ValueError) as exc:
            print(f"✗ {tool}: could not run: {exc}", file=sys.stderr)
            reports.append(Report(tool, problems=[f"could not run: {exc}"]))
            status = 2
            continue
        reports.append(report)
        if report.skipped:
            banner = "!" * 100
            print(f"{banner}\n!! {tool}: {'; '.join(report.notes)}\n{banner}", file=sys.stderr)
            continue
        mark = "✓" if report.ok else "✗"
        print(f"{mark} {tool}: {report.raw} findings, {report.explained} explained, {len(report.problems)} open")
        for note in report.notes:
            print(f"    {note}")
        for problem in report.problems:
            print(f"    {problem}")
        if not report.ok:
            status = max(status, 2 if report.unavailable else 1)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ | {"ok": r.ok} for r in reports], indent=2) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
