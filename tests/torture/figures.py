"""The figures of a torture run: totals per backend and a plain-text table."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from tests.torture.concurrency import ConcurrencyOutcome
from tests.torture.crash import POINTS, TrialOutcome

COUNTED = (
    "duplicates",
    "lost_ids",
    "integrity_failures",
    "half_written",
    "tracebacks",
    "leaks",
)


@dataclass
class Figures:
    trials: list[TrialOutcome] = field(default_factory=list)
    rounds: list[ConcurrencyOutcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[str]:
        found = [f"{t.plan}: {p}" for t in self.trials for p in t.problems]
        return found + [f"concurrency {r.backend}: {p}" for r in self.rounds for p in r.problems]

    def table(self) -> str:
        backends = sorted({t.plan.backend for t in self.trials} | {r.backend for r in self.rounds})
        lines = ["Crash trials (SIGKILL, then recovery)"]
        header = ["", *backends, "total"]
        rows: list[list[str]] = []

        def add(label: str, values: list[int]) -> None:
            rows.append([label, *(str(v) for v in values), str(sum(values))])

        def per(backend: str) -> list[TrialOutcome]:
            return [t for t in self.trials if t.plan.backend == backend]

        add("trials", [len(per(b)) for b in backends])
        add("videos per trial", [max((t.plan.videos for t in per(b)), default=0) for b in backends])
        add("killed", [sum(t.killed for t in per(b)) for b in backends])
        for point in POINTS:
            kills = [Counter(t.plan.point for t in per(b) if t.killed)[point] for b in backends]
            add(f"  killed at {point}", kills)
        add(
            "creates before the kill",
            [sum(t.created_before_kill for t in per(b)) for b in backends],
        )
        add("uncertain after the kill", [sum(t.uncertain for t in per(b)) for b in backends])
        add("  adopted", [sum(t.adopted for t in per(b)) for b in backends])
        add("  retried explicitly", [sum(t.retried for t in per(b)) for b in backends])
        for name in COUNTED:
            add(name.replace("_", " "), [sum(getattr(t, name) for t in per(b)) for b in backends])
        add("key scans (outputs, state, plans)", [sum(t.scanned for t in per(b)) for b in backends])
        add("part files left (hidden)", [sum(t.part_files_left for t in per(b)) for b in backends])
        add("trials with a problem", [sum(not t.ok for t in per(b)) for b in backends])
        lines += _render(header, rows)
        if self.rounds:
            lines += [
                "",
                "Concurrency (4 applies at once on one state, then 4 with --lock-timeout)",
            ]
            rows = []

            def rnd(backend: str) -> list[ConcurrencyOutcome]:
                return [r for r in self.rounds if r.backend == backend]

            add("rounds", [len(rnd(b)) for b in backends])
            add("applies started", [sum(2 * r.applies for r in rnd(b)) for b in backends])
            add(
                "rounds with exactly 1 writer",
                [sum(r.writers == 1 for r in rnd(b)) for b in backends],
            )
            add(
                "losers with a clear message",
                [sum(r.losers_clear for r in rnd(b)) for b in backends],
            )
            add("losers without one", [sum(r.losers_unclear for r in rnd(b)) for b in backends])
            add("late no-op applies", [sum(r.late_noops for r in rnd(b)) for b in backends])
            add("waiting applies exit 0", [sum(r.waited_ok for r in rnd(b)) for b in backends])
            add(
                "plan during apply ok",
                [sum(r.plan_during_apply_ok for r in rnd(b)) for b in backends],
            )
            add(
                "force-unlock of live holder refused",
                [sum(r.force_unlock_refused for r in rnd(b)) for b in backends],
            )
            add("duplicates", [sum(r.duplicates for r in rnd(b)) for b in backends])
            add("tracebacks", [sum(r.tracebacks for r in rnd(b)) for b in backends])
            lines += _render(header, rows)
        lines += [f"skipped: {reason}" for reason in self.skipped]
        return "\n".join(lines)


def _render(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    out = []
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        out.append("  ".join(cells).rstrip())
    return out
