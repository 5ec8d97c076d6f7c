"""The allocation core: seeds, the stream, properties of every design (hypothesis), the
statistical self-test and predictability."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocolgen.allocation import (
    DEVELOPMENT,
    PRODUCTION,
    AllocationArm,
    AllocationDesign,
    AllocationFactor,
    AllocationLevel,
    AllocationSite,
    KeyedStream,
    Seed,
    SeedError,
    _permuted_blocks_slow,
    block_template,
    build_design,
    generate_allocation,
    generate_permuted_blocks,
    generate_stratum,
    parse_seed,
    shuffle,
    stream_message,
)
from protocolgen.allocation_stats import (
    block_expected_guesses,
    design_predictability,
    guess_credit,
    imbalance,
    stratum_balance,
)
from protocolgen.allocation_tables import (
    ListHeader,
    design_from_parameters,
    design_parameters,
    format_list,
    iter_entries,
)
from protocolgen.errors import ProtocolgenError
from protocolgen.study import load_study

from .conftest import RESILIENT, SEED

PROPS = settings(max_examples=40, deadline=None)
HEX_SEED = "0x" + bytes(range(32)).hex()


def seed_number(i: int, tag: bytes = b"self-test") -> Seed:
    """Many distinct, fixed seeds for the statistical tests."""
    return Seed(int.from_bytes(hashlib.sha256(tag + i.to_bytes(4, "big")).digest(), "big"))


def make_design(ratios: tuple[int, ...], blocks: tuple[int, ...] = (), *, method: str = "",
                factors: tuple[tuple[str, int], ...] = (), sites: tuple[str, ...] = (),
                size: int = 10, surplus: str = "0") -> AllocationDesign:
    arms = tuple(AllocationArm(f"ARM{i}", f"Arm {i}", i + 1, r) for i, r in enumerate(ratios))
    facs = tuple(AllocationFactor(name, name.title(), name.lower(), tuple(
        AllocationLevel(f"{name}{j}", f"Level {j}", j + 1) for j in range(n)))
        for name, n in factors)
    return AllocationDesign(method or ("permuted-block" if blocks else "simple"), arms,
                            tuple(sorted(set(blocks))), facs, bool(sites),
                            tuple(AllocationSite(s, i + 1) for i, s in enumerate(sites)),
                            size, surplus)


def list_bytes(seed: Seed, design: AllocationDesign) -> bytes:
    header = ListHeader(PRODUCTION, "protocolgen test", "protocolgen-allocation-1", "X-1", "1.0",
                        "2026-01-01", "", design_parameters(design))
    return format_list(header, generate_allocation(seed, design))


# --- seeds ---------------------------------------------------------------------------------

def test_seed_decimal_and_hex_are_the_same_key() -> None:
    hexed = parse_seed(HEX_SEED)
    assert parse_seed(str(hexed.value)).key == hexed.key == bytes(range(32))
    assert parse_seed(HEX_SEED.upper().replace("0X", "0x")) == hexed
    assert parse_seed("ab" * 16).value == int("ab" * 16, 16)  # bare hex with a letter
    assert "concealed" in repr(hexed) and str(hexed.value) not in repr(hexed)


@pytest.mark.parametrize(("text", "message"), [
    ("12345", "too short"), ("0x" + "f" * 31, "too short"), ("0x" + "0" * 40, "too short"),
    ("1" * 38, "too short"), ("hello world", "not a decimal number or a hex string"),
    ("0x" + "f" * 65, "too long"), ("", "not a decimal"), ("-" + "1" * 40, "not a decimal"),
])
def test_bad_seeds_are_refused(text: str, message: str) -> None:
    with pytest.raises(SeedError, match=message):
        parse_seed(text)


# --- the stream ----------------------------------------------------------------------------

def test_stream_grows_as_a_prefix_and_reads_whole_output() -> None:
    seed = parse_seed(HEX_SEED)
    small = KeyedStream(seed, PRODUCTION, "")
    long = b"".join(small.read(100) for _ in range(50))
    assert long == hashlib.shake_256(stream_message(seed, PRODUCTION, "")).digest(5000)
    fresh = KeyedStream(seed, PRODUCTION, "", size_hint=6000)
    assert fresh.read(5000) == long


def test_below_is_unbiased_over_a_long_stream() -> None:
    stream = KeyedStream(parse_seed(HEX_SEED), PRODUCTION, "uniformity")
    for n in (2, 3, 6, 7, 200, 1000):
        draws = 600 * n if n < 100 else 60_000
        counts = Counter(stream.below(n) for _ in range(draws))
        assert set(counts) == set(range(n))
        assert chi_square(list(counts.values()), [draws / n] * n) < critical(n - 1)


def test_fast_blocks_equal_the_specified_slow_path() -> None:
    seed = parse_seed(HEX_SEED)
    for ratios, blocks in [((1, 1), (2, 4, 6)), ((2, 1, 1), (4, 8)), ((3, 2), (5,)),
                           ((1, 1), (2,) + tuple(range(4, 600, 2)))]:
        design = make_design(ratios, blocks)
        templates = {b: block_template(design, b) for b in design.block_sizes}
        fast = generate_permuted_blocks(KeyedStream(seed, PRODUCTION, "x"), design, 5000)
        slow = _permuted_blocks_slow(KeyedStream(seed, PRODUCTION, "x"), design.block_sizes,
                                     templates, 5000)
        assert fast == slow


# --- hypothesis: every design ------------------------------------------------------------

@st.composite
def designs(draw: st.DrawFn, *, min_size: int = 1) -> AllocationDesign:
    ratios = tuple(draw(st.lists(st.integers(1, 3), min_size=2, max_size=4)))
    total = sum(ratios)
    method = draw(st.sampled_from(["permuted-block", "permuted-block", "simple"]))
    blocks = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3, unique=True)))
    factors = tuple((f"F{i}", draw(st.integers(1, 3)))
                    for i in range(draw(st.integers(0, 2))))
    sites = tuple(f"S{i}" for i in range(draw(st.integers(0, 3))))
    return make_design(ratios, tuple(b * total for b in blocks) if method != "simple" else (),
                       method=method, factors=factors, sites=sites,
                       size=draw(st.integers(min_size, min_size + 60)),
                       surplus=draw(st.sampled_from(["0", "0.2", "0.5"])))


seeds = st.integers(2**127, 2**256 - 1).map(Seed)


@PROPS
@given(designs(), seeds)
def test_complete_blocks_match_the_ratio_and_imbalance_is_bounded(
        design: AllocationDesign, seed: Seed) -> None:
    allocation = generate_allocation(seed, design)
    assert len(allocation.lists) == len(design.strata())
    for stratum_list in allocation.lists:
        assert len(stratum_list.arms) >= design.stratum_length
        if design.method != "permuted-block":
            continue
        start = 0
        for size in stratum_list.blocks:
            counts = Counter(stratum_list.arms[start:start + size])
            assert [counts[i] for i in range(len(design.arms))] == \
                [size // design.ratio_sum * a.ratio for a in design.arms]
            start += size
        assert start == len(stratum_list.arms)
        balance = stratum_balance(design, stratum_list)
        assert balance.max_imbalance <= Fraction(max(design.block_sizes), 2)


@PROPS
@given(designs(), seeds)
def test_same_seed_same_bytes(design: AllocationDesign, seed: Seed) -> None:
    assert list_bytes(seed, design) == list_bytes(Seed(seed.value), design)


@PROPS
@given(designs(min_size=64), seeds, seeds)
def test_different_seeds_different_lists(design: AllocationDesign, one: Seed,
                                         other: Seed) -> None:
    if one != other:
        assert generate_allocation(one, design).lists != generate_allocation(other,
                                                                             design).lists


@PROPS
@given(designs(), seeds, st.integers(0, 3))
def test_adding_a_site_or_level_leaves_other_lists_unchanged(
        design: AllocationDesign, seed: Seed, where: int) -> None:
    def rows(d: AllocationDesign) -> dict[str, list[tuple[object, ...]]]:
        out: dict[str, list[tuple[object, ...]]] = {}
        for e in iter_entries(generate_allocation(seed, d)):
            out.setdefault(e.stratum.label, []).append(dataclasses.astuple(e))
        return out

    before = rows(design)
    grown = []
    if design.per_site:
        sites = list(design.sites)
        sites.insert(min(where, len(sites)), AllocationSite("NEW", 99))
        grown.append(dataclasses.replace(design, sites=tuple(sites)))
    if design.factors:
        factor = design.factors[0]
        levels = list(factor.levels)
        levels.insert(min(where, len(levels)), AllocationLevel("NEWLEVEL", "New", 99))
        grown.append(dataclasses.replace(design, factors=(
            dataclasses.replace(factor, levels=tuple(levels)), *design.factors[1:])))
    for bigger in grown:
        after = rows(bigger)
        assert set(before) < set(after)
        for label, entries in before.items():
            assert after[label] == entries


@PROPS
@given(designs())
def test_parameters_round_trip(design: AllocationDesign) -> None:
    assert design_from_parameters(design_parameters(design)) == design


def test_development_and_production_lists_are_independent_streams() -> None:
    seed = parse_seed(HEX_SEED)
    design = make_design((1, 1), (4,), size=200)
    prod = generate_stratum(seed, design, design.strata()[0], PRODUCTION)
    dev = generate_stratum(seed, design, design.strata()[0], DEVELOPMENT)
    assert prod.arms != dev.arms
    numbers = [e.number for e in iter_entries(generate_allocation(seed, design, DEVELOPMENT))]
    assert numbers[0] == "DEV-001"


# --- the statistical self-test -----------------------------------------------------------

def chi_square(observed: list[int], expected: list[float]) -> float:
    return sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True))


def critical(df: int) -> float:
    """Chi-square critical value at p = 1e-6 (Wilson–Hilferty): fixed and far from chance."""
    z = 4.753
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


def first_blocks(design: AllocationDesign, n: int) -> list[tuple[int, ...]]:
    stratum = design.strata()[0]
    return [generate_stratum(seed_number(i), design, stratum).arms[:design.block_sizes[0]]
            for i in range(n)]


@pytest.mark.parametrize(("ratios", "size", "samples"), [
    ((1, 1), 6, 4000),      # 3:3: all 20 arrangements (the SAS recipe makes only 18)
    ((2, 1), 3, 3000),      # 3 arrangements
    ((1, 1, 1), 6, 9000),   # 90 arrangements
    ((2, 1, 1), 4, 2400),   # 12 arrangements
])
def test_every_block_arrangement_is_equally_likely(ratios: tuple[int, ...], size: int,
                                                   samples: int) -> None:
    design = make_design(ratios, (size,), size=size)
    blocks = first_blocks(design, samples)
    arrangements = set(itertools.permutations(block_template(design, size)))
    counts = Counter(blocks)
    assert set(counts) == arrangements  # every valid arrangement is reachable
    expected = samples / len(arrangements)
    assert chi_square([counts[a] for a in arrangements],
                      [expected] * len(arrangements)) < critical(len(arrangements) - 1)
    for position in range(size):  # each position's arm frequencies
        at = Counter(block[position] for block in blocks)
        want = [samples * r / sum(ratios) for r in ratios]
        assert chi_square([at[i] for i in range(len(ratios))], want) < critical(len(ratios) - 1)


def test_block_sizes_and_simple_allocation_follow_their_probabilities() -> None:
    design = make_design((1, 1), (2, 4, 6), size=3000)
    sizes = Counter(generate_stratum(seed_number(1), design, design.strata()[0]).blocks)
    assert chi_square([sizes[b] for b in (2, 4, 6)], [sum(sizes.values()) / 3] * 3) < critical(2)
    simple = make_design((3, 2), size=20_000)
    arms = Counter(generate_stratum(seed_number(2), simple, simple.strata()[0]).arms)
    assert chi_square([arms[0], arms[1]], [12_000, 8_000]) < critical(1)


# --- predictability ------------------------------------------------------------------------

def brute_force_guesses(contents: tuple[int, ...], ratios: tuple[int, ...]) -> Fraction:
    template = [a for a, n in enumerate(contents) for _ in range(n)]
    arrangements = set(itertools.permutations(template))
    total = Fraction(0)
    for block in arrangements:
        counts = [0] * len(contents)
        for arm in block:
            total += guess_credit(counts, ratios, arm)
            counts[arm] += 1
    return total / len(arrangements)


@pytest.mark.parametrize(("contents", "ratios"), [
    ((1, 1), (1, 1)), ((2, 2), (1, 1)), ((3, 3), (1, 1)), ((2, 1), (2, 1)), ((4, 2), (2, 1)),
    ((2, 2, 2), (1, 1, 1)), ((2, 1, 1), (2, 1, 1)), ((3, 2), (3, 2))])
def test_expected_guesses_are_exact(contents: tuple[int, ...], ratios: tuple[int, ...]) -> None:
    assert block_expected_guesses(contents, ratios) == brute_force_guesses(contents, ratios)


def test_blackwelder_hill_closed_form_for_two_arms() -> None:
    for m in range(1, 8):  # E = m + 2^(2m-1) / C(2m, m) - 1/2 for a 1:1 block of 2m
        closed = m + Fraction(2 ** (2 * m - 1), math.comb(2 * m, m)) - Fraction(1, 2)
        assert block_expected_guesses((m, m), (1, 1)) == closed


def test_design_predictability_and_observed_guesses_agree() -> None:
    design = make_design((1, 1), (2, 4), size=20_000)
    predicted = design_predictability(design)
    assert predicted.per_entry == (Fraction(3, 2) + Fraction(17, 6)) / 6
    observed = stratum_balance(design, generate_stratum(seed_number(3), design,
                                                        design.strata()[0]))
    assert abs(float(observed.guesses / observed.entries - predicted.per_entry)) < 0.01
    assert design_predictability(make_design((1, 1, 1))).per_entry == Fraction(1, 3)
    assert not design_predictability(make_design((2, 1))).exact


def test_imbalance_measure() -> None:
    assert imbalance([3, 1], [1, 1]) == 2
    assert imbalance([2, 0], [2, 1]) == Fraction(4, 3)  # (2 - 4/3) - (0 - 2/3)
    assert imbalance([2, 1], [2, 1]) == 0


# --- the study's design --------------------------------------------------------------------

def test_build_design_from_the_examples() -> None:
    resilient = load_study(RESILIENT).study
    design = build_design(resilient)
    assert (design.method, design.block_sizes, design.size, design.stratum_length) == \
        ("permuted-block", (2, 4), 450, 540)
    assert [s.label for s in design.strata()][:2] == ["REGION=NAM/PLATSENS=SENSITIVE",
                                                     "REGION=NAM/PLATSENS=RESISTANT"]
    assert len(build_design(resilient, per_site=True).strata()) == 4 * 6
    single = load_study(SEED).study
    with pytest.raises(ProtocolgenError, match="nothing to randomize"):
        build_design(single)
    with pytest.raises(ProtocolgenError, match="planned is TBD"):
        build_design(single, sequential=True)
    sequential = build_design(single, sequential=True, size=10)
    assert [s.label for s in sequential.strata()] == ["site=S01"]
    with pytest.raises(ProtocolgenError, match="only for studies that are not"):
        build_design(resilient, sequential=True)


@pytest.mark.parametrize(("change", "message"), [
    ({"block_sizes": (3,)}, "block size 3 does not fit the ratio 1:1"),
    ({"size": 0}, "size must be a positive number"),
    ({"surplus": "lots"}, "surplus 'lots' must be a decimal"),
    ({"block_sizes": ()}, "needs block sizes"),
])
def test_bad_designs_are_clear_errors(change: dict[str, object], message: str) -> None:
    design = dataclasses.replace(make_design((1, 1), (4,)), **change)
    with pytest.raises(ProtocolgenError, match=message):
        generate_allocation(parse_seed(HEX_SEED), design)


def test_shuffle_is_fisher_yates_on_the_stream() -> None:
    items = list(range(10))
    shuffle(KeyedStream(parse_seed(HEX_SEED), PRODUCTION, "test-vector-shuffle"), items)
    assert items == [7, 9, 2, 0, 6, 5, 8, 1, 3, 4]
