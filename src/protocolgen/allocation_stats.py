"""Pure figures about allocation lists: balance, running imbalance and predictability.

Predictability follows Blackwelder & Hill (1982): an investigator who knows the past allocations
in a stratum guesses the arm allocated least so far relative to its ratio (the "convergence
strategy"), choosing at random among ties. We give the expected number of correct guesses exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import cache

from .allocation import AllocationDesign, StratumList


@dataclass(frozen=True)
class StratumBalance:
    label: str
    entries: int
    blocks: int
    per_arm: tuple[int, ...]
    max_imbalance: Fraction  # largest running spread of (count − expected) across arms
    guesses: Fraction  # correct guesses of the convergence strategy on this very list


@dataclass(frozen=True)
class Predictability:
    """Expected share of correct convergence-strategy guesses, and the no-history baseline."""

    per_entry: Fraction
    baseline: Fraction  # always guessing the most frequent arm
    exact: bool  # False: an upper bound (simple randomization with unequal ratios)

    @property
    def excess(self) -> Fraction:
        return self.per_entry - self.baseline


def guess_credit(counts: Sequence[int], ratios: Sequence[int], arm: int) -> Fraction:
    """Credit of the convergence guess for the next ``arm``: 1/|ties| when it is among them."""
    scaled = [Fraction(c, r) for c, r in zip(counts, ratios, strict=True)]
    low = min(scaled)
    tied = [i for i, s in enumerate(scaled) if s == low]
    return Fraction(1, len(tied)) if arm in tied else Fraction(0)


def imbalance(counts: Sequence[int], ratios: Sequence[int]) -> Fraction:
    """Spread of (count − n·ratio/R) across arms: |n_A − n_B| for two arms at 1:1."""
    n, total = sum(counts), sum(ratios)
    deviations = [c - Fraction(n * r, total) for c, r in zip(counts, ratios, strict=True)]
    return max(deviations) - min(deviations)


def stratum_balance(design: AllocationDesign, stratum_list: StratumList) -> StratumBalance:
    """Counts, the largest running imbalance and the convergence guesses on one list.

    Integer arithmetic throughout (counts scaled by lcm(ratios) and by R) so that long lists
    stay fast; the results equal :func:`imbalance` and :func:`guess_credit` summed.
    """
    ratios = [a.ratio for a in design.arms]
    total = sum(ratios)
    scale = math.lcm(*ratios)
    weight = [scale // r for r in ratios]  # c_a / r_a compared as c_a · lcm / r_a
    counts = [0] * len(ratios)
    scaled = [0] * len(ratios)
    worst = 0  # in units of 1/R
    ties: dict[int, int] = {}  # correct guesses made among k tied arms, by k
    for n, arm in enumerate(stratum_list.arms, start=1):
        low = min(scaled)
        if scaled[arm] == low:
            k = scaled.count(low)
            ties[k] = ties.get(k, 0) + 1
        counts[arm] += 1
        scaled[arm] += weight[arm]
        deviations = [c * total - n * r for c, r in zip(counts, ratios, strict=True)]
        worst = max(worst, max(deviations) - min(deviations))
    guesses = sum((Fraction(count, k) for k, count in ties.items()), Fraction(0))
    return StratumBalance(stratum_list.stratum.label, len(stratum_list.arms),
                          len(stratum_list.blocks), tuple(counts), Fraction(worst, total),
                          guesses)


@cache
def block_expected_guesses(contents: tuple[int, ...], ratios: tuple[int, ...]) -> Fraction:
    """Expected correct guesses over one randomly permuted block holding ``contents[a]`` of
    each arm, exactly (dynamic programme over the counts so far)."""
    size = sum(contents)
    layer: dict[tuple[int, ...], Fraction] = {tuple(0 for _ in contents): Fraction(1)}
    expected = Fraction(0)
    for step in range(size):
        remaining = size - step
        following: dict[tuple[int, ...], Fraction] = {}
        for counts, p in layer.items():
            for arm, (have, full) in enumerate(zip(counts, contents, strict=True)):
                if have == full:
                    continue
                q = p * Fraction(full - have, remaining)
                expected += q * guess_credit(counts, ratios, arm)
                nxt = counts[:arm] + (have + 1,) + counts[arm + 1:]
                following[nxt] = following.get(nxt, Fraction(0)) + q
        layer = following
    return expected


def design_predictability(design: AllocationDesign) -> Predictability:
    """Expected share of correct guesses per participant for the study's design.

    Permuted blocks: each block starts balanced, so the strategy restarts; with sizes drawn
    uniformly the long-run share is Σ E[guesses | b] / Σ b (renewal argument), exact.
    """
    ratios = tuple(a.ratio for a in design.arms)
    total = sum(ratios)
    baseline = Fraction(max(ratios), total)
    if design.method == "sequential":
        return Predictability(Fraction(1), Fraction(1), True)
    if design.method == "simple":
        if len(set(ratios)) == 1:
            return Predictability(Fraction(1, len(ratios)), baseline, True)
        return Predictability(baseline, baseline, False)
    guesses = sum(block_expected_guesses(tuple(b // total * r for r in ratios), ratios)
                  for b in design.block_sizes)
    return Predictability(Fraction(guesses) / sum(design.block_sizes), baseline, True)


def max_imbalance_bound(design: AllocationDesign) -> Fraction | None:
    """Half the largest block: the running imbalance never exceeds it (permuted blocks)."""
    if design.method != "permuted-block":
        return None
    return Fraction(max(design.block_sizes), 2)
