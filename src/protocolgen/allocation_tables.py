"""Allocation files as text: the list CSV with its provenance header, the REDCap tables and the
manifest, and reading a list back. Pure: bytes in, bytes out (``allocation_output`` writes)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from .allocation import (
    ALGORITHM,
    DEVELOPMENT,
    LIST_KINDS,
    PRODUCTION,
    Allocation,
    AllocationArm,
    AllocationDesign,
    AllocationFactor,
    AllocationLevel,
    AllocationSite,
    Stratum,
    check_design,
)
from .errors import ProtocolgenError
from .model import Study

LIST_TITLE = "# protocolgen allocation list"
MANIFEST_FORMAT = "protocolgen-allocation-manifest-1"
FIXED_COLUMNS = ("randomization_number", "site", "stratum")
TAIL_COLUMNS = ("block_number", "block_size", "position_in_block", "arm_code", "arm_name")
REDCAP_NUMBER = "redcap_randomization_number"
REDCAP_GROUP = "redcap_randomization_group"
REDCAP_DAG = "redcap_data_access_group"
REDCAP_MAX_FIELDS = 14


# --- rows --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Entry:
    number: str
    stratum: Stratum
    block_number: int | None
    block_size: int | None
    position: int | None
    arm: AllocationArm


def randomization_number(design: AllocationDesign, stratum: Stratum, sequence: int,
                         kind: str = PRODUCTION) -> str:
    """``[DEV-][site-][level-…]NNN``: unique in the trial, stable when strata are added."""
    parts = ([stratum.site] if stratum.site else []) + list(stratum.levels)
    prefix = "DEV-" if kind == DEVELOPMENT else ""
    return prefix + "".join(f"{p}-" for p in parts) + f"{sequence:0{design.number_width}d}"


def iter_entries(allocation: Allocation) -> Iterator[Entry]:
    """Entries stratum by stratum, each in the order it is used."""
    design = allocation.design
    arms = design.arms
    for stratum_list in allocation.lists:
        stratum = stratum_list.stratum
        blocks = _block_positions(stratum_list.blocks)
        for k, arm_index in enumerate(stratum_list.arms):
            number = randomization_number(design, stratum, k + 1, allocation.kind)
            block, size, position = next(blocks) if stratum_list.blocks else (None, None, None)
            yield Entry(number, stratum, block, size, position, arms[arm_index])


def _block_positions(blocks: Sequence[int]) -> Iterator[tuple[int, int, int]]:
    for number, size in enumerate(blocks, start=1):
        for position in range(1, size + 1):
            yield number, size, position


# --- parameters: the design as data (recorded in the list header and the manifest) --------

def design_parameters(design: AllocationDesign) -> dict[str, Any]:
    """The design as plain JSON-ready data; :func:`design_from_parameters` inverts it."""
    return {
        "method": design.method,
        "arms": [{"id": a.id, "name": a.name, "code": a.code, "ratio": a.ratio}
                 for a in design.arms],
        "block_sizes": list(design.block_sizes),
        "block_sizes_concealed": design.concealed,
        "factors": [{"id": f.id, "name": f.name, "field": f.field,
                     "levels": [{"id": lv.id, "label": lv.label, "code": lv.code}
                                for lv in f.levels]} for f in design.factors],
        "per_site": design.per_site,
        "sites": [{"id": s.id, "dag": s.dag} for s in design.sites] if design.per_site else [],
        "size": design.size,
        "planned_size": design.planned,
        "surplus": design.surplus,
        "stratum_length": design.stratum_length,
    }


def design_from_parameters(data: Any) -> AllocationDesign:
    """Rebuild a design from recorded parameters; a damaged record is a clear error."""
    try:
        design = AllocationDesign(
            str(data["method"]),
            tuple(AllocationArm(str(a["id"]), str(a["name"]), _code(a["code"]), int(a["ratio"]))
                  for a in data["arms"]),
            tuple(int(b) for b in data["block_sizes"]),
            tuple(AllocationFactor(str(f["id"]), str(f["name"]), str(f["field"]), tuple(
                AllocationLevel(str(lv["id"]), str(lv["label"]), _code(lv["code"]))
                for lv in f["levels"])) for f in data["factors"]),
            bool(data["per_site"]),
            tuple(AllocationSite(str(s["id"]), s["dag"]) for s in data["sites"]),
            int(data["size"]), str(data["surplus"]), data["planned_size"],
            bool(data["block_sizes_concealed"]))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProtocolgenError(f"the recorded allocation parameters are damaged ({exc!r})") \
            from exc
    check_design(design)
    if design.stratum_length != data.get("stratum_length"):
        raise ProtocolgenError("the recorded allocation parameters are damaged "
                               "(stratum_length does not follow from size and surplus)")
    return design


def _code(value: Any) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"code {value!r} must be an integer or text")
    return value


@dataclass(frozen=True)
class ListHeader:
    """The provenance header of a list file: everything needed to re-derive it but the seed."""

    kind: str
    tool: str
    algorithm: str
    protocol_number: str
    protocol_version: str
    version_date: str
    seed_check: str  # "" for a sequential list (nothing random)
    parameters: dict[str, Any]

    @property
    def design(self) -> AllocationDesign:
        return design_from_parameters(self.parameters)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces, ASCII only: the same data always gives the same line."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def format_header(header: ListHeader) -> str:
    lines = [
        f"{LIST_TITLE} ({header.kind}). CONFIDENTIAL: for the unblinded statistician only.",
        f"# tool: {_one_line(header.tool)}",
        f"# algorithm: {header.algorithm} (specification: docs/randomization.md)",
        f"# study: {_one_line(header.protocol_number)}",
        f"# protocol version: {_one_line(header.protocol_version)} ({header.version_date})",
        f"# seed check: {header.seed_check or 'none (sequential numbers, nothing random)'}",
        f"# parameters: {canonical_json(header.parameters)}",
    ]
    return "\n".join(lines) + "\n"


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue()


def format_list(header: ListHeader, allocation: Allocation) -> bytes:
    """The allocation list CSV (UTF-8, LF, minimal quoting) after its provenance header."""
    design = allocation.design
    factor_ids = [f.id for f in design.factors] if design.randomized else []
    clash = set(factor_ids) & set(FIXED_COLUMNS + TAIL_COLUMNS)
    if clash:
        raise ProtocolgenError(f"stratification factor id {sorted(clash)[0]!r} clashes with a "
                               "column of the allocation list; rename the factor")
    rows = [[*FIXED_COLUMNS, *factor_ids, *TAIL_COLUMNS]]
    for e in iter_entries(allocation):
        rows.append([e.number, e.stratum.site, e.stratum.label, *e.stratum.levels,
                     _cell(e.block_number), _cell(e.block_size), _cell(e.position),
                     str(e.arm.code), e.arm.name])
    return (format_header(header) + _csv(rows)).encode("utf-8")


def _cell(value: int | None) -> str:
    return "" if value is None else str(value)


def format_redcap(allocation: Allocation) -> bytes:
    """A REDCap allocation table: fixed first row, raw codes, rows in use order per stratum."""
    design = allocation.design
    levels = {f.id: {lv.id: lv.code for lv in f.levels} for f in design.factors}
    dags = {s.id: s.dag for s in design.sites}
    header = [REDCAP_NUMBER, REDCAP_GROUP, *(f.field for f in design.factors)]
    if design.per_site:
        header.append(REDCAP_DAG)
    rows = [header]
    for e in iter_entries(allocation):
        row = [e.number, str(e.arm.code)]
        row += [str(levels[f.id][lv]) for f, lv in zip(design.factors, e.stratum.levels,
                                                        strict=True)]
        if design.per_site:
            dag = dags[e.stratum.site]
            row.append("" if dag is None else str(dag))
        rows.append(row)
    return _csv(rows).encode("utf-8")


def redcap_warnings(design: AllocationDesign) -> list[str]:
    """What keeps the REDCap tables from uploading as they are."""
    out = []
    if len(design.factors) > REDCAP_MAX_FIELDS:
        out.append(f"REDCap allows at most {REDCAP_MAX_FIELDS} stratification fields; "
                   f"this design has {len(design.factors)}")
    missing = [s.id for s in design.sites if s.dag is None] if design.per_site else []
    if missing:
        out.append(f"site(s) {', '.join(missing)} have no REDCap data access group id (dag): "
                   f"fill {REDCAP_DAG} before uploading the REDCap tables")
    return out


def parse_list(data: bytes, name: str) -> ListHeader:
    """Read the provenance header of a list file; anything else is a clear error."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolgenError(f"{name}: not UTF-8 text, so not an allocation list") from exc
    lines = text.split("\n", 8)
    if len(lines) < 8 or not lines[0].startswith(LIST_TITLE + " ("):
        raise ProtocolgenError(f"{name}: not a protocolgen allocation list (its first line "
                               f"should start with {LIST_TITLE!r})")
    kind = lines[0][len(LIST_TITLE) + 2:].split(")", 1)[0]
    fields: dict[str, str] = {}
    for line in lines[1:7]:
        key, sep, value = line[2:].partition(": ")
        if not line.startswith("# ") or not sep:
            raise ProtocolgenError(f"{name}: damaged provenance header line {line!r}")
        fields[key] = value
    try:
        version, date = fields["protocol version"].rsplit(" (", 1)
        parameters = json.loads(fields["parameters"])
        check = fields["seed check"]
        header = ListHeader(kind, fields["tool"], fields["algorithm"].split(" ", 1)[0],
                            fields["study"], version, date.rstrip(")"),
                            "" if check.startswith("none") else check, parameters)
    except (KeyError, ValueError) as exc:
        raise ProtocolgenError(f"{name}: damaged provenance header ({exc})") from exc
    if kind not in LIST_KINDS:
        raise ProtocolgenError(f"{name}: unknown list kind {kind!r}")
    if header.algorithm != ALGORITHM:
        raise ProtocolgenError(f"{name} was made with algorithm {header.algorithm!r}; this "
                               f"protocolgen implements {ALGORITHM!r}: verify it with the "
                               f"version named in its header ({header.tool})")
    return header


def first_difference(expected: bytes, actual: bytes) -> str:
    """Where two list files first differ, as 'line N: expected …, found …'."""
    want = expected.decode("utf-8", "replace").split("\n")
    have = actual.decode("utf-8", "replace").split("\n")
    for number, (a, b) in enumerate(zip(want, have, strict=False), start=1):
        if a != b:
            return f"line {number}: expected {a!r}, found {b!r}"
    return (f"the file has {len(have)} lines where {len(want)} were expected "
            f"(line {min(len(want), len(have)) + 1} on)")


def format_manifest(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n")\
        .encode("utf-8")


def parse_manifest(data: bytes, name: str) -> dict[str, Any]:
    try:
        manifest = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolgenError(f"{name}: not a readable allocation manifest ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        raise ProtocolgenError(f"{name}: not a protocolgen allocation manifest "
                               f"(format should be {MANIFEST_FORMAT!r})")
    return manifest



def allocation_stem(study: Study) -> str:
    """``<PROTOCOL-NO>_allocation``: one allocation per study, whatever its protocol version."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", study.identification.protocol_number) + "_allocation"
