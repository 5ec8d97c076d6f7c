"""Benchmarks: whole-process wall times (median of several runs) and ratios to targets.

Run with ``make bench``. Figures, not pass/fail: speed goals live here, never in tests.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNS = int(os.environ.get("BENCH_RUNS", "7"))
WORKBOOK = ROOT.parent / "shared" / "data" / "CTCAE_v5.0.xlsx"


def median_seconds(argv: list[str]) -> float:
    """Median wall time of ``argv`` run RUNS times (after one warm-up run)."""
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode not in (0,):
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-300:]!r}")
    return statistics.median(times)


def main() -> None:
    cli = str(BIN / "protocolgen")
    cases: list[tuple[str, list[str], float | None]] = [
        ("python -c pass (interpreter floor)", [sys.executable, "-c", "pass"], None),
        ("protocolgen --help", [cli, "--help"], 0.3),
        ("validate iri-apa-sclc", [cli, "validate", "-q", "protocol/iri-apa-sclc"], 0.3),
        ("validate resilient", [cli, "validate", "-q", "protocol/resilient"], 0.3),
    ]
    if WORKBOOK.is_file():
        cases.append(("validate iri-apa-sclc --ctcae (NCI workbook)",
                      [cli, "validate", "-q", "protocol/iri-apa-sclc", "--ctcae", str(WORKBOOK)],
                      1.0))
    print(f"median of {RUNS} runs, whole process, wall time")
    print(f"{'case':<48} {'seconds':>8} {'target':>7} {'ratio':>6}")
    for name, argv, target in cases:
        seconds = median_seconds(argv)
        ratio = f"{seconds / target:.2f}" if target else ""
        shown_target = f"{target:.2f}" if target else ""
        print(f"{name:<48} {seconds:8.3f} {shown_target:>7} {ratio:>6}")


if __name__ == "__main__":
    main()
