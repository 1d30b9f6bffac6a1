"""What every benchmark shares: a result row with its baseline and target, the results table,
a progress bar for long work on a terminal, and a description of the machine."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType


@dataclass(frozen=True, slots=True)
class Target:
    """A goal for a figure: ``value >= limit`` (or ``<=`` when ``at_most``); ``on`` names what
    the goal is about when it is not the figure itself (the ratio, say)."""

    limit: float
    at_most: bool = False
    on: str = "value"  # "value" or "ratio"

    def met(self, value: float, ratio: float | None) -> bool | None:
        subject = ratio if self.on == "ratio" else value
        if subject is None:
            return None
        return subject <= self.limit if self.at_most else subject >= self.limit

    def describe(self, unit: str) -> str:
        sign = "≤" if self.at_most else "≥"
        if self.on == "ratio":
            return f"ratio {sign} {self.limit:g}"
        return f"{sign} {_number(self.limit)} {unit}"

    def gap(self, value: float, ratio: float | None) -> str:
        """By how much the figure misses (or beats) its goal, as a factor."""
        subject = ratio if self.on == "ratio" else value
        if not subject or not self.limit:
            return ""
        factor = self.limit / subject if not self.at_most else subject / self.limit
        return f"{factor:.1f}× short" if factor > 1 else f"{1 / factor:.1f}× margin"


@dataclass(frozen=True, slots=True)
class Result:
    number: int  # the benchmark's number in issue 8
    name: str
    backend: str  # sqlite, postgresql, or "-"
    figure: str
    value: float
    unit: str
    baseline: str = ""  # what the baseline is
    baseline_value: float | None = None
    ratio: float | None = None  # value / baseline_value (or its inverse, as the row says)
    target: Target | None = None
    note: str = ""

    def verdict(self) -> str:
        if self.target is None:
            return ""
        met = self.target.met(self.value, self.ratio)
        if met is None:
            return "?"
        gap = self.target.gap(self.value, self.ratio)
        return ("met" if met else "MISSED") + (f" ({gap})" if gap else "")

    def to_json(self) -> dict[str, object]:
        return {
            "number": self.number, "name": self.name, "backend": self.backend,
            "figure": self.figure, "value": self.value, "unit": self.unit,
            "baseline": self.baseline, "baseline_value": self.baseline_value,
            "ratio": self.ratio, "target": self.target.describe(self.unit) if self.target else None,
            "verdict": self.verdict(), "note": self.note,
        }  # fmt: skip


def _number(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def table(results: list[Result]) -> str:
    """The results as a Markdown table (what ``docs/benchmarks.md`` records)."""
    head = ("#", "benchmark", "db", "figure", "value", "baseline (same run)", "ratio", "target",
            "result")  # fmt: skip
    rows = [head]
    for r in results:
        baseline = f"{r.baseline} {_number(r.baseline_value)}" if r.baseline_value is not None else r.baseline
        rows.append((
            str(r.number), r.name, r.backend, r.figure, f"{_number(r.value)} {r.unit}", baseline,
            f"{r.ratio:.2f}" if r.ratio is not None else "", r.target.describe(r.unit) if r.target else "",
            r.verdict(),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = [f"- {r.number} {r.name} ({r.backend}): {r.note}" for r in results if r.note]
    return "\n".join(lines + (["", *notes] if notes else []))


class Progress:
    """A progress bar on stderr when it is a terminal; silent otherwise."""

    def __init__(self, label: str, total: int | None = None) -> None:
        self.label = label
        self.total = total
        self.done = 0
        self.started = time.monotonic()
        self._shown = 0.0
        self.live = sys.stderr.isatty()

    def __enter__(self) -> Progress:
        self._draw(force=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        self._draw(force=True)
        if self.live:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def update(self, count: int = 1) -> None:
        self.done += count
        self._draw()

    def set(self, done: int) -> None:
        self.done = done
        self._draw()

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not self.live or (not force and now - self._shown < 0.1):
            return
        self._shown = now
        elapsed = now - self.started
        if self.total:
            share = min(1.0, self.done / self.total)
            bar = "#" * int(share * 30)
            text = f"{self.label:<28} [{bar:<30}] {share:4.0%} {self.done:,}/{self.total:,} {elapsed:5.0f} s"
        else:
            text = f"{self.label:<28} {self.done:,} {elapsed:5.0f} s"
        sys.stderr.write("\r" + text[:150])
        sys.stderr.flush()


def say(text: str) -> None:
    """A line of what the run is doing (stderr, so stdout carries only the results)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def timed(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    ``VmHWM`` where Linux has it: ``ru_maxrss`` survives ``exec``, so a child started with
    the ``spawn`` method would report its parent's peak at the fork.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_average() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def machine() -> dict[str, str]:
    """nproc, memory, CPU model, Python; the database version is added by the caller."""
    model = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    return {
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "cpu": model,
        "python": platform.python_version(),
        "os": platform.platform(),
    }
