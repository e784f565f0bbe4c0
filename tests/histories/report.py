"""The figures of every history run in this session, for the summary at the end of pytest's output."""

from __future__ import annotations

from collections import Counter, defaultdict

from tests.histories.runner import HistoryResult

RESULTS: list[HistoryResult] = []
SHOWN_PER_KIND = 3


def figures(results: list[HistoryResult]) -> list[str]:
    """Totals per stage and overall: histories, operations, orders, faults per kind, violations per kind."""
    by_stage: dict[str, list[HistoryResult]] = defaultdict(list)
    for result in results:
        by_stage[result.stage].append(result)
    lines = []
    for stage, group in [*by_stage.items(), ("all stages", results)]:
        faults: Counter[str] = Counter()
        kinds: Counter[str] = Counter()
        outcomes: Counter[str] = Counter()
        answers: Counter[str] = Counter()
        for result in group:
            answers.update(result.statuses)
            faults.update(result.faults)
            kinds.update(v.kind for v in result.violations)
            outcomes.update(result.outcomes)
        lines.append(
            f"{stage}: {len(group)} histories, {sum(r.operations for r in group)} operations, "
            f"{sum(r.orders for r in group)} orders ({sum(r.units for r in group)} books) stored, "
            f"checkouts {dict(sorted(outcomes.items()))}, {sum(r.seconds for r in group):.0f}s"
        )
        lines.append(f"  answers: {dict(sorted(answers.items()))}")
        lines.append(f"  faults injected: {dict(sorted(faults.items())) or 'none'}")
        lines.append(
            f"  invariant violations: {sum(kinds.values())}"
            + (f" {dict(sorted(kinds.items()))}" if kinds else "")
            + f"; histories failing: {sum(1 for r in group if r.violations or r.harness)}"
        )
    return lines


def history_lines(results: list[HistoryResult]) -> list[str]:
    return [result.line() for result in results]


def failure_report(result: HistoryResult) -> str:
    """What a failing history found, grouped by kind, with the line that replays its seed."""
    lines = [f"history {result.stage} seed={result.seed}: {len(result.violations)} violations"]
    by_kind: dict[str, list[str]] = defaultdict(list)
    for violation in result.violations:
        by_kind[violation.kind].append(violation.message)
    for kind, messages in sorted(by_kind.items()):
        lines.append(f"  {kind} x{len(messages)}")
        lines.extend(f"    - {m}" for m in messages[:SHOWN_PER_KIND])
    lines.extend(f"  harness: {h}" for h in result.harness)
    lines.extend(f"  note: {n}" for n in result.notes)
    if result.logs:
        lines.append(f"  worker logs and the whole history (history.json): {result.logs}")
    lines.append(f"  replay: {result.replay()}")
    return "\n".join(lines)
