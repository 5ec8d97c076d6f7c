"""Calendar timings for ``make bench``: ``protocolgen calendar --roster`` writing CSV + ICS for
rosters of 1,000 and 10,000 patients with 30+ visits each (the seed study, 12 cycles: 38 visits).
Goals: ≥ 2,000 patients/s, and peak memory flat from 1,000 to 10,000 patients (streamed)."""

from __future__ import annotations

import datetime as dt
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL = 2000  # patients per second


def write_roster(path: Path, patients: int) -> None:
    start = dt.date(2026, 1, 5)
    lines = ["subject,site,anchor_date"] + [
        f"P{i:05d},S01,{start + dt.timedelta(days=(i * 37) % 700)}" for i in range(patients)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def run_once(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB, the largest process of the tree) of one run."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        err = child.stderr.read() if child.stderr else b""
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}: {err[-300:]!r}")
    return seconds, usage.ru_maxrss / 1024


def _case(row: Callable[..., None], cli: str, roster: Path, patients: int, repeat: int,
          out_root: Path, where: str) -> float:
    """Median wall time over ``repeat`` runs into fresh folders; returns the peak RSS (MB)."""
    times, peaks = [], []
    for i in range(repeat):
        seconds, peak = run_once([cli, "calendar", "--roster", str(roster),
                                  "protocol/iri-apa-sclc", "--format", "csv,ics", "--cycles",
                                  "12", "-o", str(out_root / f"out{patients}-{i}")])
        times.append(seconds)
        peaks.append(peak)
    seconds = statistics.median(times)
    row(f"calendar --roster {patients:,} patients, csv+ics{where}", seconds, patients / GOAL,
        f"{patients / seconds:,.0f} patients/s (goal ≥ {GOAL:,}); peak RSS {max(peaks):.0f} MB")
    return max(peaks)


def calendar_rows(row: Callable[..., None], runs: int, cli: str) -> None:
    """Rosters of 1,000 and 10,000 patients (38 visits each) to disk, and 10,000 to memory
    (/dev/shm, where there is one) to tell the file system's share from ours."""
    with tempfile.TemporaryDirectory(prefix="protocolgen-bench-") as name:
        tmp = Path(name)
        memory = {}
        for patients, repeat in ((1000, runs), (10000, max(1, min(runs, 2)))):
            roster = tmp / f"roster{patients}.csv"
            write_roster(roster, patients)
            memory[patients] = _case(row, cli, roster, patients, repeat, tmp, "")
        row("calendar --roster peak RSS, 10,000 / 1,000 patients",
            memory[10000] / memory[1000], None,
            f"{memory[1000]:.0f} MB → {memory[10000]:.0f} MB (goal: flat, ratio ≈ 1)")
        shm = Path("/dev/shm")
        if shm.is_dir() and os.access(shm, os.W_OK):
            with tempfile.TemporaryDirectory(prefix="protocolgen-bench-", dir=shm) as mem:
                _case(row, cli, tmp / "roster10000.csv", 10000, 1, Path(mem),
                      " (/dev/shm, no disk)")
