"""Benchmarks: whole-process wall times (median of several runs) and ratios to targets.

Run with ``make bench``. Figures, not pass/fail: speed goals live here, never in tests.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
RUNS = int(os.environ.get("BENCH_RUNS", "5"))
WORKBOOK = ROOT.parent / "shared" / "data" / "CTCAE_v5.0.xlsx"
SEED = "protocol/iri-apa-sclc"


def median_seconds(argv: list[str], runs: int = RUNS) -> float:
    """Median wall time of ``argv`` run ``runs`` times (after one warm-up run)."""
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {done.returncode}: {done.stderr[-300:]!r}")
    return statistics.median(times)


def row(name: str, seconds: float, target: float | None = None, note: str = "") -> None:
    shown = f"{target:.2f}" if target else ""
    ratio = f"{seconds / target:.2f}" if target else ""
    print(f"{name:<52} {seconds:8.3f} {shown:>7} {ratio:>6}  {note}")


def bare_pandoc_seconds(tmp: Path) -> float:
    """Bare pandoc (+ typst) converting the same markdown our render produces."""
    from protocolgen.pandoc import pandoc_path

    cli = str(BIN / "protocolgen")
    subprocess.run([cli, "render", "protocol", SEED, "--format", "md", "-o", str(tmp)],
                   cwd=ROOT, check=True, capture_output=True)
    md = next(tmp.glob("*_protocol_v*.md"))
    pandoc = pandoc_path()
    steps = [
        [pandoc, str(md), "-o", str(tmp / "bare.docx")],
        [pandoc, str(md), "-s", "--embed-resources", "-o", str(tmp / "bare.html")],
        [pandoc, str(md), "-s", "-t", "typst", "-o", str(tmp / "bare.typ")],
    ]
    compile_typ = [sys.executable, "-c", "import sys, typst; typst.compile(sys.argv[1], "
                   "output=sys.argv[2])", str(tmp / "main.typ"), str(tmp / "bare.pdf")]

    def once() -> float:
        start = time.perf_counter()
        for step in steps:
            subprocess.run(step, cwd=tmp, check=False, capture_output=True)
        text = (tmp / "bare.typ").read_text(encoding="utf-8")
        (tmp / "main.typ").write_text(text.replace("image.decode(", "image(bytes("),
                                      encoding="utf-8")
        subprocess.run(compile_typ, cwd=tmp, check=False, capture_output=True)
        return time.perf_counter() - start

    once()
    return statistics.median(once() for _ in range(RUNS))


def main() -> None:
    cli = str(BIN / "protocolgen")
    print(f"median of {RUNS} runs, whole process, wall time in seconds")
    print(f"{'case':<52} {'seconds':>8} {'target':>7} {'ratio':>6}")
    row("python -c pass (interpreter floor)", median_seconds([sys.executable, "-c", "pass"]))
    row("protocolgen --help", median_seconds([cli, "--help"]), 0.3)
    for study in (SEED, "protocol/resilient"):
        row(f"validate {Path(study).name}", median_seconds([cli, "validate", "-q", study]), 0.3)
    if WORKBOOK.is_file():
        row("validate iri-apa-sclc --ctcae (NCI workbook)",
            median_seconds([cli, "validate", "-q", SEED, "--ctcae", str(WORKBOOK)]))
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        for fmt in ("md", "docx", "html", "pdf"):
            row(f"render protocol --format {fmt} (seed)", median_seconds(
                [cli, "render", "protocol", SEED, "--format", fmt, "-o", str(tmp / fmt)]))
        ours = median_seconds([cli, "render", "protocol", SEED, "-o", str(tmp / "all")])
        bare = bare_pandoc_seconds(tmp / "bare")
        row("bare pandoc+typst, same markdown, 3 formats", bare)
        row("render protocol, all formats (ours / bare)", ours, bare, "goal ratio ≤ 1.5")
    from allocation_bench import allocation_rows  # bench/ is on sys.path when run as a script

    allocation_rows(row, RUNS, median_seconds, cli)
    from diff_bench import diff_rows

    diff_rows(row, RUNS)
    from calendar_bench import calendar_rows

    calendar_rows(row, RUNS, cli)
    make = shutil.which("make")
    if make:
        subprocess.run([make, "protocol"], cwd=ROOT, check=True, capture_output=True)
        row("make protocol, nothing changed", median_seconds([make, "protocol"]), 0.2)


if __name__ == "__main__":
    main()
