"""What every benchmark report shares: the machine line, and writing the report out."""

from __future__ import annotations

import os
import platform
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path


def describe() -> str:
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return (
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at the "
        f"end {load} (shared machine); {datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


def write_report(path: Path, lines: list[str]) -> None:
    """Write the report (Markdown lines) to `path` and print it."""
    text = "\n".join(lines) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(text)


class DescendantsCpu:
    """CPU seconds used by this process's descendants, sampled from /proc (Linux).

    getrusage(RUSAGE_CHILDREN) misses processes started by a forkserver: they are its
    children, not ours, and it reaps them. So a thread reads the user + system time of
    every living descendant every `interval` seconds and keeps each one's last reading;
    what a process used after its last reading (at most `interval`) is missed. Processes
    already running at the start (a forkserver kept from before) count from there.
    """

    def __init__(self, interval: float = 0.1) -> None:
        self._interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._waited: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> DescendantsCpu:
        self._first = self._reading()
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def seconds(self) -> float:
        return self.seconds_except(None)

    def seconds_except(self, pid: int | None) -> float:
        """CPU of the descendants but `pid` (a child whose exact usage getrusage gives)."""
        return sum(
            cpu - self._first.get(other, 0.0) for other, cpu in self._last.items() if other != pid
        )

    def seconds_of(self, pid: int) -> float:
        """CPU of one descendant; 0 if it was never seen."""
        return self._last.get(pid, 0.0) - self._first.get(pid, 0.0)

    def waited_of(self, pid: int) -> float:
        """Seconds one descendant started after entry spent runnable but waiting for a
        CPU (the scheduler's run delay): on a loaded machine, the time others took."""
        return self._waited.get(pid, 0.0)

    def _reading(self) -> dict[int, float]:
        tick = os.sysconf("SC_CLK_TCK")
        return {pid: (fields[11] + fields[12]) / tick for pid, fields in _descendants()}

    def _sample(self) -> None:
        while True:
            reading = self._reading()
            self._last.update(reading)
            self._waited.update(_run_delays(reading))
            if self._stop.wait(self._interval):
                return


def _descendants() -> list[tuple[int, list[int]]]:
    """(pid, numeric fields after the command name of /proc/pid/stat) of every descendant."""
    stats: dict[int, list[int]] = {}
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # it exited meanwhile
            continue
        rest = raw[raw.rindex(")") + 2 :].split()  # fields from the state on
        fields = [int(v) if v.lstrip("-").isdigit() else 0 for v in rest]
        stats[int(entry)], parents[int(entry)] = fields, fields[1]
    ours = {os.getpid()}
    found = True
    while found:  # widen to children of what is already ours
        found = False
        for pid, parent in parents.items():
            if parent in ours and pid not in ours:
                ours.add(pid)
                found = True
    return [(pid, stats[pid]) for pid in ours if pid != os.getpid()]


def _run_delays(pids: Iterable[int]) -> dict[int, float]:
    """Seconds each process has waited on a run queue (/proc/pid/schedstat, 2nd field)."""
    found: dict[int, float] = {}
    for pid in pids:
        try:
            found[pid] = int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
        except (OSError, IndexError, ValueError):  # it exited meanwhile, or no schedstats
            continue
    return found
