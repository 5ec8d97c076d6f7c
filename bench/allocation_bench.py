"""Allocation timings for ``make bench``: our keyed SHAKE-256 stream against Python's
``random.shuffle`` building the same permuted blocks (goal: ours ≤ 1.2 × shuffle)."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable

from protocolgen.allocation import (
    AllocationArm,
    AllocationDesign,
    block_template,
    generate_stratum,
    parse_seed,
)

ENTRIES = 1_000_000
SEED = parse_seed("0x" + bytes(range(32)).hex())


def design(blocks: tuple[int, ...]) -> AllocationDesign:
    arms = (AllocationArm("A", "A", 1, 1), AllocationArm("B", "B", 2, 1))
    return AllocationDesign("permuted-block", arms, blocks, (), False, (), ENTRIES, "0")


def ours(d: AllocationDesign) -> Callable[[], object]:
    stratum = d.strata()[0]
    return lambda: generate_stratum(SEED, d, stratum)


def python_shuffle(d: AllocationDesign) -> Callable[[], object]:
    """The same job with the Mersenne Twister: choose a size, shuffle its template."""
    templates = {b: block_template(d, b) for b in d.block_sizes}
    sizes = d.block_sizes

    def run() -> object:
        rng = random.Random(20240101)
        shuffle, choice = rng.shuffle, rng.choice
        arms: list[int] = []
        blocks: list[int] = []
        total = 0
        while total < ENTRIES:
            size = sizes[0] if len(sizes) == 1 else choice(sizes)
            block = list(templates[size])
            shuffle(block)
            arms += block
            blocks.append(size)
            total += size
        return tuple(arms), tuple(blocks)

    return run


def median_call(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def allocation_rows(row: Callable[..., None], runs: int,
                    process: Callable[[list[str]], float], cli: str) -> None:
    """Rows for bench.py: a 1,000,000-entry list, ours and random.shuffle's, in process; and
    the whole command on the RESILIENT example."""
    for blocks in ((4,), (2, 4, 6, 8)):
        d = design(blocks)
        sizes = ",".join(map(str, blocks))
        theirs = median_call(python_shuffle(d), runs)
        row(f"1M-entry list, random.shuffle, blocks {sizes}", theirs)
        row(f"1M-entry list, ours (SHAKE-256), blocks {sizes}", median_call(ours(d), runs),
            theirs, "goal ratio ≤ 1.2")
    with tempfile.TemporaryDirectory() as name:
        argv = [cli, "allocate", "protocol/resilient", "--seed", SEED.hex(), "--format", "md",
                "--force", "-o", name]
        row("allocate resilient (3,244 entries; md reports)", process(argv))
        listed = f"{name}/RESILIENT-EX-01_allocation.csv"
        row("allocate verify resilient", process([cli, "allocate", "verify", listed, "--seed",
                                                  SEED.hex(), "protocol/resilient"]))
