"""The static checks of scripts/security_checks.py: bandit and checkov stay clean; the script's rules hold.

The slow tests run the real tools (bounded in time) so that a new finding fails CI even
before anyone runs ``make lint``; pip-audit needs the network and stays out of the tests
(its offline behaviour is tested without it).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from cloudshelf_dev.template import load_template

ROOT = Path(__file__).resolve().parents[2]


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("security_checks", ROOT / "scripts" / "security_checks.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["security_checks"] = module
    spec.loader.exec_module(module)
    return module


checks = _load()


@pytest.mark.slow
def test_bandit_has_no_unexplained_findings() -> None:
    report = checks.check_bandit(timeout=180)
    assert report.ok, "\n".join(report.problems)


@pytest.mark.slow
def test_checkov_has_no_unexplained_findings_in_either_phase() -> None:
    checkov = checks.CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        pytest.skip(f"{checkov} is missing: run `scripts/security_checks.py --setup-checkov` (make lint needs it too)")
    report = checks.check_checkov(checkov, timeout=300)
    assert report.ok, "\n".join(report.problems)


def test_every_checkov_skip_has_a_one_line_reason() -> None:
    skips = checks.load_skips()
    assert skips
    for skip in skips:
        assert len(skip.reason) >= 20, skip
        assert "*" not in skip.resources, f"{skip.check}: name the resources, so a new one needs its own decision"
        assert skip.status in ("accepted", "pending"), skip


def test_a_skip_without_a_reason_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "skips.yaml"
    path.write_text(yaml.safe_dump({"skips": [{"id": "CKV_AWS_1", "resources": ["X"]}]}))
    with pytest.raises(ValueError, match="one-line reason"):
        checks.load_skips(path)


def test_skips_cover_only_the_resources_they_name() -> None:
    skip = checks.Skip("CKV_AWS_119", ("BooksTable",), "a reason long enough")
    assert skip.covers("CKV_AWS_119", "AWS::DynamoDB::Table.BooksTable")
    assert not skip.covers("CKV_AWS_119", "AWS::DynamoDB::Table.NewTable")
    assert not skip.covers("CKV_AWS_120", "AWS::DynamoDB::Table.BooksTable")


@pytest.mark.parametrize("phase", ["1", "2"])
def test_each_phase_is_scanned_with_its_own_data_phase_default(tmp_path: Path, phase: str) -> None:
    copy = checks.phase_template(phase, tmp_path)
    scanned, original = load_template(copy), load_template(ROOT / "template.yaml")
    assert str(scanned["Parameters"]["DataPhase"]["Default"]) == phase
    scanned["Parameters"]["DataPhase"]["Default"] = original["Parameters"]["DataPhase"]["Default"]
    assert scanned == original  # nothing else changed


def test_a_nosec_needs_a_test_id_and_a_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "ROOT", tmp_path)
    code = tmp_path / "code"
    code.mkdir()
    (code / "a.py").write_text(
        "import subprocess  # nosec\n"
        "import pickle  # nosec B403\n"
        "import random  # nosec B311 - jitter for retries, not security\n"
        'TEXT = "# nosec in a string is no comment"\n'
    )
    problems = checks.nosec_problems([code])
    assert [p.split(":")[1] for p in problems] == ["1", "2"]


def test_pip_audit_without_network_fails_loudly_unless_offline_is_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "pypi_reachable", lambda timeout=10.0: False)
    # Without network and without --offline: the tool can't run, and says why (exit status 2)
    with pytest.raises(checks.ToolError, match="needs the network"):
        checks.check_pip_audit(offline=False, service="pypi")
    assert checks.main(["--only", "pip-audit"]) == 2
    # With --offline: skipped, reported as skipped, never as audited
    report = checks.check_pip_audit(offline=True, service="pypi")
    assert report.skipped
    assert "NOT checked" in report.notes[0]
    assert checks.main(["--only", "pip-audit", "--offline"]) == 0
