"""Pure allocation core: the keyed SHAKE-256 stream, unbiased sampling, Fisher–Yates, and the
allocation designs (permuted blocks, simple, sequential). Specified in docs/randomization.md.

No clock, no global random state, no printing: the same seed and design give the same lists on
any machine and Python version. Changing anything here that alters a list needs a new
``ALGORITHM`` version and new test vectors.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from .errors import ProtocolgenError
from .model import Study

ALGORITHM = "protocolgen-allocation-1"
SEED_BYTES = 32  # the key: the seed as a 256-bit big-endian number
MIN_SEED_DIGITS = {"hex": 32, "decimal": 39}  # ≥ 128 bits written out
PRODUCTION = "production"
DEVELOPMENT = "development"
LIST_KINDS = (PRODUCTION, DEVELOPMENT)
METHODS = ("permuted-block", "simple", "sequential")
DEFAULT_SURPLUS = "0.2"
_LIMITS = tuple([0] + [256 - 256 % n for n in range(1, 257)])  # accept a byte x < _LIMITS[n]
_HEX = re.compile(r"(?:0[xX])?([0-9a-fA-F]+)")
_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class SeedError(ProtocolgenError):
    """A seed that is not a ≥128-bit decimal or hex number."""


# --- the seed ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Seed:
    """A secret seed; never printed (``repr`` hides it)."""

    value: int

    @property
    def key(self) -> bytes:
        return self.value.to_bytes(SEED_BYTES, "big")

    def __repr__(self) -> str:
        return "Seed(<concealed>)"

    def hex(self) -> str:
        """The canonical written form: ``0x`` and 64 hex digits."""
        return "0x" + self.key.hex()


def parse_seed(text: str) -> Seed:
    """A decimal number (≥39 digits) or a hex string (≥32 digits, ``0x`` optional).

    A string of digits only is decimal; write ``0x`` in front to mean hex.
    """
    raw = text.strip().replace("_", "")
    if raw.isdecimal() and raw.isascii():
        kind, digits, value = "decimal", raw, int(raw, 10)
    elif (match := _HEX.fullmatch(raw)) is not None:
        kind, digits, value = "hex", match.group(1), int(match.group(1), 16)
    else:  # never echo the seed: say where it goes wrong
        bad = next((i for i, c in enumerate(raw) if c not in "0123456789abcdefABCDEFxX"), None)
        where = f" (character {bad + 1} is {raw[bad]!r})" if bad is not None else ""
        raise SeedError(f"the seed is not a decimal number or a hex string{where}; write "
                        "0x followed by 32-64 hex digits, or at least 39 decimal digits")
    need = MIN_SEED_DIGITS[kind]
    if len(digits) < need or value.bit_length() < 64:
        raise SeedError(f"seed is too short: a {kind} seed needs at least {need} digits "
                        "(128 bits); omit --seed to draw one from the OS's secure source")
    if value.bit_length() > 8 * SEED_BYTES:
        raise SeedError(f"seed is too long: at most {8 * SEED_BYTES} bits (64 hex digits)")
    return Seed(value)


# --- the stream --------------------------------------------------------------------------

def frame(*parts: bytes) -> bytes:
    """Each part as a 4-byte big-endian length followed by its bytes."""
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def stream_message(seed: Seed, purpose: str, label: str) -> bytes:
    """The SHAKE-256 input of one stream: algorithm, key, purpose and stratum label, framed."""
    return frame(ALGORITHM.encode("ascii"), seed.key, purpose.encode("utf-8"),
                 label.encode("utf-8"))


class KeyedStream:
    """The unbounded SHAKE-256 output for (seed, purpose, label), read from its start."""

    __slots__ = ("_xof", "buf", "pos")

    def __init__(self, seed: Seed, purpose: str, label: str, *, size_hint: int = 64) -> None:
        self._xof = hashlib.shake_256(stream_message(seed, purpose, label))
        self.buf = self._xof.digest(max(64, size_hint))
        self.pos = 0

    def reserve(self, n: int) -> bytes:
        """Make sure ``n`` more bytes are buffered; return the buffer (a prefix of the output)."""
        if len(self.buf) - self.pos < n:
            self.buf = self._xof.digest(max(2 * len(self.buf), self.pos + n))
        return self.buf

    def read(self, n: int) -> bytes:
        buf = self.reserve(n)
        self.pos += n
        return buf[self.pos - n:self.pos]

    def below(self, n: int) -> int:
        """A uniform integer in [0, n) by rejection: no modulo bias; n = 1 reads nothing."""
        if n < 1:
            raise ValueError(f"below({n}): n must be at least 1")
        if n == 1:
            return 0
        width = max(1, ((n - 1).bit_length() + 7) // 8)
        span = 1 << (8 * width)
        limit = span - span % n
        while True:
            x = int.from_bytes(self.read(width), "big")
            if x < limit:
                return x % n


def shuffle(stream: KeyedStream, items: list[Any]) -> None:
    """Fisher–Yates in place: i from the last index down to 1 swaps with j = below(i + 1)."""
    for i in range(len(items) - 1, 0, -1):
        j = stream.below(i + 1)
        items[i], items[j] = items[j], items[i]


def derive_bytes(seed: Seed, purpose: str, label: str, n: int) -> bytes:
    """The first ``n`` bytes of a stream (salts and the seed check)."""
    return KeyedStream(seed, purpose, label, size_hint=n).read(n)


def seed_check(seed: Seed) -> str:
    """A one-way 128-bit fingerprint of the seed: tells a wrong seed from a changed list."""
    return derive_bytes(seed, "seed-check", "", 16).hex()


def commitment_salt(seed: Seed, role: str) -> bytes:
    """The secret 32-byte salt of one file's commitment (known only to holders of the seed)."""
    return derive_bytes(seed, "commitment-salt", role, 32)


def commitment(salt: bytes, data: bytes) -> str:
    """SHA-256(salt ‖ file bytes), hex."""
    return hashlib.sha256(salt + data).hexdigest()


# --- the design --------------------------------------------------------------------------

@dataclass(frozen=True)
class AllocationArm:
    id: str
    name: str
    code: int | str
    ratio: int


@dataclass(frozen=True)
class AllocationLevel:
    id: str
    label: str
    code: int | str


@dataclass(frozen=True)
class AllocationFactor:
    id: str
    name: str
    field: str
    levels: tuple[AllocationLevel, ...]


@dataclass(frozen=True)
class AllocationSite:
    id: str
    dag: int | None = None


@dataclass(frozen=True)
class Stratum:
    """One list: a site (or none) crossed with one level of each factor."""

    site: str
    levels: tuple[str, ...]  # level ids, one per factor
    label: str  # "site=S01/REGION=NAM/…", or "" for a single unstratified list


@dataclass(frozen=True)
class AllocationDesign:
    """Everything a list depends on besides the seed (recorded in every output)."""

    method: str
    arms: tuple[AllocationArm, ...]
    block_sizes: tuple[int, ...]
    factors: tuple[AllocationFactor, ...]
    per_site: bool
    sites: tuple[AllocationSite, ...]
    size: int
    surplus: str
    planned: int | None = None
    concealed: bool = True

    @property
    def ratio_sum(self) -> int:
        return sum(a.ratio for a in self.arms)

    @property
    def stratum_length(self) -> int:
        """Entries each stratum needs at least: ceil(size × (1 + surplus)), exactly."""
        return math.ceil(self.size * (1 + Fraction(self.surplus)))

    @property
    def number_width(self) -> int:
        """Digits of the sequence part of randomization numbers (never depends on the seed)."""
        longest = self.stratum_length + max(self.block_sizes, default=1) - 1
        return max(3, len(str(longest)))

    @property
    def randomized(self) -> bool:
        return self.method != "sequential"

    def strata(self) -> list[Stratum]:
        """All strata: sites (in study order) × the crossing of factor levels (first slowest)."""
        sites = [s.id for s in self.sites] if self.per_site else [""]
        factors = [] if self.method == "sequential" else self.factors
        out = []
        for site in sites:
            for combo in itertools.product(*(f.levels for f in factors)):
                parts = ([f"site={site}"] if site else []) + \
                    [f"{f.id}={lv.id}" for f, lv in zip(factors, combo, strict=True)]
                out.append(Stratum(site, tuple(lv.id for lv in combo), "/".join(parts)))
        return out


def parse_surplus(value: float | str) -> str:
    """The surplus as a plain decimal (``0.2``), so that the list length is exact."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = format(Decimal(repr(value)), "f") if math.isfinite(value) else str(value)
    else:
        text = str(value).strip()
    if not _DECIMAL.fullmatch(text) or not 0 <= Fraction(text) <= 5:
        raise ProtocolgenError(f"surplus {text!r} must be a decimal number from 0 to 5 "
                               "(a fraction of the size, e.g. 0.2)")
    return text


def check_design(design: AllocationDesign) -> AllocationDesign:
    """Raise a clear error for a design no list can be built from."""
    if design.method not in METHODS:
        raise ProtocolgenError(f"unknown allocation method {design.method!r}; "
                               f"choose from {', '.join(METHODS)}")
    if not design.arms:
        raise ProtocolgenError("the design has no arms")
    if any(not isinstance(a.ratio, int) or a.ratio < 1 for a in design.arms):
        raise ProtocolgenError("every arm's ratio must be a positive integer, got "
                               + ":".join(str(a.ratio) for a in design.arms))
    if not isinstance(design.size, int) or design.size < 1:
        raise ProtocolgenError(f"size must be a positive number of participants, "
                               f"got {design.size!r}")
    parse_surplus(design.surplus)
    if design.method == "permuted-block":
        if not design.block_sizes:
            raise ProtocolgenError("permuted-block randomization needs block sizes")
        ratio = ":".join(str(a.ratio) for a in design.arms)
        bad = [b for b in design.block_sizes if b < 1 or b % design.ratio_sum]
        if bad:
            raise ProtocolgenError(
                f"block size {bad[0]} does not fit the ratio {ratio}: every block size must be "
                f"a multiple of the ratio sum {design.ratio_sum}")
    if design.method != "sequential" and len(design.arms) < 2:
        raise ProtocolgenError("randomization needs at least 2 arms")
    if design.per_site and not design.sites:
        raise ProtocolgenError("per-site lists need at least one site")
    for what, items in (("arm", design.arms), ("factor", design.factors),
                        ("site", design.sites)):
        ids = [i.id for i in items]
        if len(set(ids)) != len(ids):
            raise ProtocolgenError(f"{what} ids must be unique, got {', '.join(ids)}")
    for factor in design.factors:
        ids = [lv.id for lv in factor.levels]
        if len(ids) < 1 or len(set(ids)) != len(ids):
            raise ProtocolgenError(f"factor {factor.id} needs distinct levels, got {ids}")
    return design


def build_design(study: Study, *, size: int | None = None, per_site: bool = False,
                 sequential: bool = False, surplus: float | str | None = None) -> AllocationDesign:
    """The allocation design of a study; ``size`` overrides design.sample_size.planned."""
    design = study.design
    rand = study.randomization
    if not design.randomized:
        if not sequential:
            raise ProtocolgenError(
                f"{study.identification.protocol_number} is a {design.type} study: there is "
                "nothing to randomize; use --sequential for plain sequential treatment "
                "numbers per site")
        if len(design.arms) != 1:
            raise ProtocolgenError(f"--sequential numbers the participants of one arm; this "
                                   f"study has {len(design.arms)} arms that are not randomized")
    elif sequential:
        raise ProtocolgenError(f"{study.identification.protocol_number} is randomized: "
                               "--sequential is only for studies that are not")
    planned = design.sample_size.planned if isinstance(design.sample_size.planned, int) else None
    if size is None:
        if planned is None:
            raise ProtocolgenError("design.sample_size.planned is TBD: give the number of "
                                   "participants the list is for with --size N")
        size = planned
    if surplus is None:
        surplus = rand.surplus if rand else DEFAULT_SURPLUS
    arms = tuple(AllocationArm(a.id, a.name, a.code, a.ratio) for a in design.arms)
    sites = tuple(AllocationSite(s.id, s.dag) for s in study.sites)
    if rand is None:
        return check_design(AllocationDesign("sequential", arms, (), (), True, sites, size,
                                             parse_surplus(surplus), planned, False))
    factors = tuple(AllocationFactor(f.id, f.name, f.field, tuple(
        AllocationLevel(lv.id, lv.label, lv.code) for lv in f.levels))
        for f in rand.stratification_factors)
    blocks = tuple(sorted(set(rand.block_sizes))) if rand.method == "permuted-block" else ()
    return check_design(AllocationDesign(
        rand.method, arms, blocks, factors, per_site or rand.by_site, sites, size,
        parse_surplus(surplus), planned, rand.block_sizes_concealed))


# --- generation --------------------------------------------------------------------------

@dataclass(frozen=True)
class StratumList:
    """One stratum's list: arm indices in order and the sizes of its blocks in order."""

    stratum: Stratum
    arms: tuple[int, ...]
    blocks: tuple[int, ...]


@dataclass(frozen=True)
class Allocation:
    design: AllocationDesign
    kind: str  # production or development
    lists: tuple[StratumList, ...]

    @property
    def entries(self) -> int:
        return sum(len(s.arms) for s in self.lists)


def block_template(design: AllocationDesign, size: int) -> tuple[int, ...]:
    """Arm indices of a block before shuffling: each arm ``size / R × ratio`` times, in order."""
    per = size // design.ratio_sum
    return tuple(i for i, arm in enumerate(design.arms) for _ in range(per * arm.ratio))


def generate_permuted_blocks(stream: KeyedStream, design: AllocationDesign,
                             length: int) -> tuple[list[int], list[int]]:
    """Blocks until at least ``length`` entries: size = sizes[below(#sizes)], then Fisher–Yates.

    The inner loop is :meth:`KeyedStream.below` and :func:`shuffle` inlined for one-byte
    draws (blocks up to 256); it consumes exactly the same bytes.
    """
    sizes = design.block_sizes
    templates = {b: block_template(design, b) for b in sizes}
    if max(sizes) > 256 or len(sizes) > 256:
        return _permuted_blocks_slow(stream, sizes, templates, length)
    steps = {b: tuple((n - 1, n, _LIMITS[n]) for n in range(b, 1, -1)) for b in sizes}
    n_sizes = len(sizes)
    size_limit = _LIMITS[n_sizes]
    arms: list[int] = []
    blocks: list[int] = []
    total = 0
    pos = stream.pos
    buf = stream.reserve(1024)
    while total < length:
        if len(buf) - pos < 300:
            stream.pos = pos
            buf = stream.reserve(max(1024, len(buf)))
        if n_sizes == 1:
            size = sizes[0]
        else:
            x = buf[pos]
            pos += 1
            while x >= size_limit:
                if len(buf) - pos < 300:
                    stream.pos = pos
                    buf = stream.reserve(1024)
                x = buf[pos]
                pos += 1
            size = sizes[x % n_sizes]
        block = list(templates[size])
        for i, n, limit in steps[size]:
            x = buf[pos]
            pos += 1
            while x >= limit:
                if len(buf) - pos < 300:
                    stream.pos = pos
                    buf = stream.reserve(1024)
                x = buf[pos]
                pos += 1
            j = x % n
            block[i], block[j] = block[j], block[i]
        arms += block
        blocks.append(size)
        total += size
    stream.pos = pos
    return arms, blocks


def _permuted_blocks_slow(stream: KeyedStream, sizes: tuple[int, ...],
                          templates: dict[int, tuple[int, ...]],
                          length: int) -> tuple[list[int], list[int]]:
    arms: list[int] = []
    blocks: list[int] = []
    while len(arms) < length:
        size = sizes[stream.below(len(sizes))]
        block = list(templates[size])
        shuffle(stream, block)
        arms += block
        blocks.append(size)
    return arms, blocks


def generate_simple(stream: KeyedStream, design: AllocationDesign, length: int) -> list[int]:
    """Each entry independently: x = below(R); the arm whose cumulative ratio first exceeds x."""
    arm_of = [i for i, arm in enumerate(design.arms) for _ in range(arm.ratio)]
    total = design.ratio_sum
    return [arm_of[stream.below(total)] for _ in range(length)]


def generate_stratum(seed: Seed | None, design: AllocationDesign, stratum: Stratum,
                     kind: str = PRODUCTION) -> StratumList:
    """One stratum's list, from its own stream: other strata never affect it."""
    if kind not in LIST_KINDS:
        raise ValueError(f"unknown list kind {kind!r}")
    length = design.stratum_length
    if design.method == "sequential":
        return StratumList(stratum, (0,) * length, ())
    if seed is None:
        raise ProtocolgenError("a randomized list needs a seed")
    stream = KeyedStream(seed, kind, stratum.label, size_hint=2 * length + 64)
    if design.method == "simple":
        return StratumList(stratum, tuple(generate_simple(stream, design, length)), ())
    arms, blocks = generate_permuted_blocks(stream, design, length)
    return StratumList(stratum, tuple(arms), tuple(blocks))


def generate_allocation(seed: Seed | None, design: AllocationDesign,
                        kind: str = PRODUCTION) -> Allocation:
    """Every stratum's list for ``kind`` (production or development)."""
    check_design(design)
    return Allocation(design, kind, tuple(generate_stratum(seed, design, s, kind)
                                          for s in design.strata()))
