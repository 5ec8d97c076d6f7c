"""Allocation outputs: build every file in memory, then write them (owner-only, never silently
overwritten); verify a list against its seed; find a list's commitment for the protocol."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .allocation import (
    ALGORITHM,
    DEVELOPMENT,
    PRODUCTION,
    AllocationDesign,
    Seed,
    SeedError,
    build_design,
    commitment,
    commitment_salt,
    generate_allocation,
    parse_seed,
    seed_check,
)
from .allocation_report import (
    REPORT_FORMATS,
    ReportInputs,
    render_report_files,
    render_report_markdown,
    report_document,
)
from .allocation_tables import (
    MANIFEST_FORMAT,
    ListHeader,
    allocation_stem,
    design_parameters,
    first_difference,
    format_list,
    format_manifest,
    format_redcap,
    parse_list,
    parse_manifest,
    redcap_warnings,
)
from .errors import ProtocolgenError
from .model import Study
from .writers import write_atomic

OWNER_ONLY = 0o600
PUBLIC = 0o644
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class OutputFile:
    role: str
    name: str
    data: bytes
    mode: int


@dataclass(frozen=True)
class AllocationOutputs:
    """Every file of one allocation, ready to write, and what to tell the user."""

    stem: str
    files: tuple[OutputFile, ...]
    commitment: str | None
    entries: int
    strata: int
    warnings: tuple[str, ...]


# --- seeds -------------------------------------------------------------------------------

def draw_seed() -> Seed:
    """256 bits from the operating system's secure source."""
    return Seed(int.from_bytes(secrets.token_bytes(32), "big"))


def read_seed_file(path: Path) -> Seed:
    """The first line of ``path`` that is neither blank nor a ``#`` comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise SeedError(f"{path}: cannot read the seed file ({exc})") from exc
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return parse_seed(line)
    raise SeedError(f"{path}: no seed in the file")


def format_seed_file(study: Study, seed: Seed) -> bytes:
    return (f"# protocolgen allocation seed for {study.identification.protocol_number}. SEALED: "
            "whoever holds it can regenerate the allocation list.\n"
            f"{seed.hex()}\n").encode("ascii", "replace")


# --- building ----------------------------------------------------------------------------

def _study_header(study: Study, kind: str, check: str,
                  parameters: dict[str, Any]) -> ListHeader:
    return ListHeader(kind, f"protocolgen {__version__}", ALGORITHM,
                      study.identification.protocol_number, study.version.number,
                      study.version.date.isoformat(), check, parameters)


def build_allocation_outputs(study: Study, design: AllocationDesign, seed: Seed | None, *,
                             seed_drawn: bool, template_root: Path,
                             formats: tuple[str, ...] = REPORT_FORMATS) -> AllocationOutputs:
    """The list, REDCap tables, reports, manifest (and seed file when drawn), in memory."""
    if design.randomized and seed is None:
        raise ProtocolgenError("a randomized list needs a seed")
    stem = allocation_stem(study)
    parameters = design_parameters(design)
    check = seed_check(seed) if design.randomized and seed else ""
    production = generate_allocation(seed, design, PRODUCTION)
    list_bytes = format_list(_study_header(study, PRODUCTION, check, parameters), production)
    files = [OutputFile("list", f"{stem}.csv", list_bytes, OWNER_ONLY)]
    commitments: dict[str, str] = {}
    warnings: list[str] = []
    if design.randomized and seed is not None:
        development = generate_allocation(seed, design, DEVELOPMENT)
        files += [OutputFile("redcap_production", f"{stem}_redcap_production.csv",
                             format_redcap(production), OWNER_ONLY),
                  OutputFile("redcap_development", f"{stem}_redcap_development.csv",
                             format_redcap(development), OWNER_ONLY)]
        commitments = {f.role: commitment(commitment_salt(seed, f.role), f.data)
                       for f in files}
        warnings += redcap_warnings(design)
    if seed_drawn and seed is not None:
        files.append(OutputFile("seed", f"{stem}_seed.txt", format_seed_file(study, seed),
                                OWNER_ONLY))
    names = {f.role: f.name for f in files}
    names["manifest"] = f"{stem}_manifest.json"
    list_commitment = commitments.get("list")
    inputs = ReportInputs(design, production, list_commitment, seed_drawn, names,
                          tuple(warnings))
    for confidential in (False, True):
        markdown = render_report_markdown(study, inputs, template_root / "allocation",
                                          confidential=confidential)
        doc = report_document(study, markdown, confidential=confidential)
        for name, data in render_report_files(doc, template_root, formats).items():
            role = f"report_{'confidential' if confidential else 'public'}_{name.rsplit('.')[-1]}"
            files.append(OutputFile(role, name, data, OWNER_ONLY if confidential else PUBLIC))
    manifest = {
        "format": MANIFEST_FORMAT,
        "tool": f"protocolgen {__version__}",
        "algorithm": ALGORITHM,
        "study": {"protocol_number": study.identification.protocol_number,
                  "protocol_version": study.version.number,
                  "version_date": study.version.date.isoformat()},
        "parameters": parameters,
        "seed_check": check or None,
        "seed_source": None if not design.randomized else
        ("drawn from the OS's secure source; sealed in " + names["seed"]) if seed_drawn
        else "given by the statistician (not stored)",
        "commitment": list_commitment,
        "commitment_scheme": "SHA-256(salt || file bytes), salt = first 32 bytes of the stream "
                             "(seed, 'commitment-salt', role); see docs/randomization.md",
        "files": {f.role: {"name": f.name, **({"commitment": commitments[f.role]}
                                               if f.role in commitments else {})}
                  for f in files},
        "entries": {"production": production.entries, "strata": len(production.lists)},
    }
    if not design.randomized:
        manifest["sha256"] = commitment(b"", list_bytes)  # nothing secret in sequential numbers
    files.append(OutputFile("manifest", names["manifest"], format_manifest(manifest),
                            OWNER_ONLY))
    return AllocationOutputs(stem, tuple(files), list_commitment, production.entries,
                             len(production.lists), tuple(warnings))


def allocate_study(study: Study, *, seed: Seed | None, size: int | None, per_site: bool,
                   sequential: bool, surplus: str | None, template_root: Path,
                   formats: tuple[str, ...] = REPORT_FORMATS) -> AllocationOutputs:
    """Design, seed (drawn when not given and needed) and every output, in memory."""
    design = build_design(study, size=size, per_site=per_site, sequential=sequential,
                          surplus=surplus)
    drawn = design.randomized and seed is None
    if drawn:
        seed = draw_seed()
    return build_allocation_outputs(study, design, seed if design.randomized else None,
                                    seed_drawn=drawn, template_root=template_root,
                                    formats=formats)


# --- writing -----------------------------------------------------------------------------

def _set_aside(path: Path) -> Path:
    """Keep an existing file under the first free ``<stem>.old-N<suffix>`` name."""
    for n in range(1, 10_000):
        backup = path.with_name(f"{path.stem}.old-{n}{path.suffix}")
        try:
            os.link(path, backup)  # never replaces an existing backup
        except FileExistsError:
            continue
        os.unlink(path)
        return backup
    raise ProtocolgenError(f"{path}: too many old versions kept beside it; clean them up")


def write_allocation_outputs(outputs: AllocationOutputs, out_dir: Path, *,
                             force: bool = False) -> tuple[list[Path], list[tuple[Path, Path]]]:
    """Write every file; an existing one is an error (nothing written) unless ``force``, which
    keeps it under a new name. Returns the files written and (old, kept-as) pairs."""
    stem = outputs.stem
    known = [f.name for f in outputs.files] + [f"{stem}{tail}" for tail in (
        ".csv", "_redcap_production.csv", "_redcap_development.csv", "_manifest.json",
        "_seed.txt", *(f"_report_{kind}.{fmt}" for kind in ("public", "confidential")
                       for fmt in ("md", "docx", "pdf", "html")))]
    # every file of an earlier allocation counts, so none is left beside the new list
    existing = [out_dir / name for name in dict.fromkeys(known) if (out_dir / name).exists()]
    if existing and not force:
        raise ProtocolgenError(
            f"{existing[0]} already exists; an allocation list is never overwritten "
            "(use --force to keep the old files under new names, or another -o folder)")
    if not out_dir.exists():
        out_dir.mkdir(mode=0o700, parents=True)
    kept = [(path, _set_aside(path)) for path in existing]
    order = sorted(outputs.files, key=lambda f: f.role == "manifest")  # manifest last
    written = [write_atomic(out_dir / f.name, f.data, mode=f.mode, overwrite=False)
               for f in order]
    return written, kept


# --- verifying ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Verification:
    lines: tuple[str, ...]


def _compare_with_study(header: ListHeader, design: AllocationDesign, study: Study) -> None:
    if study.identification.protocol_number != header.protocol_number:
        raise ProtocolgenError(f"the list is for study {header.protocol_number!r}, not "
                               f"{study.identification.protocol_number!r}")
    expected = design_parameters(build_design(
        study, size=design.size, per_site=design.per_site,
        sequential=design.method == "sequential", surplus=design.surplus))
    recorded = header.parameters
    study_factors = {f["id"]: f for f in expected["factors"]}
    for factor in recorded.get("factors", []):
        known = study_factors.get(factor.get("id"))
        if known is None:
            raise ProtocolgenError(f"the list is stratified by factor {factor.get('id')!r}, "
                                   "which the study does not have")
        levels = [lv["id"] for lv in known["levels"]]
        for level in factor.get("levels", []):
            if level.get("id") not in levels:
                raise ProtocolgenError(
                    f"the list has stratum level {level.get('id')!r} of factor "
                    f"{factor['id']}, which the study does not have (levels: "
                    f"{', '.join(levels)})")
    differing = sorted(k for k in expected.keys() | recorded.keys()
                       if expected.get(k) != recorded.get(k))
    if differing:
        raise ProtocolgenError("the study no longer gives this list's parameters; they differ "
                               f"in: {', '.join(differing)}")


def verify_allocation(list_path: Path, seed: Seed | None, *, study: Study | None = None,
                      expected_commitment: str | None = None) -> Verification:
    """Re-derive the list (and the REDCap tables beside it) from the seed and compare byte for
    byte, then check the salted commitment against the manifest and ``expected_commitment``."""
    try:
        data = list_path.read_bytes()
    except OSError as exc:
        raise ProtocolgenError(f"{list_path}: cannot read the list ({exc.strerror})") from exc
    header = parse_list(data, str(list_path))
    design = header.design
    if study is not None:
        _compare_with_study(header, design, study)
    if design.randomized:
        if seed is None:
            raise ProtocolgenError("this list is randomized: give its seed with --seed or "
                                   "--seed-file")
        if seed_check(seed) != header.seed_check:
            raise ProtocolgenError(f"the seed does not match {list_path.name}: the list "
                                   f"records seed check {header.seed_check}, this seed gives "
                                   f"{seed_check(seed)} (wrong seed?)")
    production = generate_allocation(seed, design, header.kind)
    expected = format_list(header, production)
    if expected != data:
        raise ProtocolgenError(f"{list_path.name} is NOT the list this seed gives: "
                               f"{first_difference(expected, data)}")
    lines = [f"{list_path.name}: {production.entries} entries in {len(production.lists)} "
             f"strata, identical to the list re-derived from the {'seed' if seed else 'design'}"]
    salt = commitment_salt(seed, "list") if design.randomized and seed else b""
    actual = commitment(salt, data)
    manifest_path = list_path.with_name(f"{list_path.stem}_manifest.json")
    manifest: dict[str, Any] | None = None
    if manifest_path.is_file():
        manifest = parse_manifest(manifest_path.read_bytes(), str(manifest_path))
        recorded = manifest.get("commitment") if design.randomized else manifest.get("sha256")
        if recorded != actual:
            raise ProtocolgenError(f"{manifest_path.name} records commitment {recorded}, but "
                                   f"the list gives {actual}: the manifest or list was changed")
        lines.append(f"commitment {actual} matches {manifest_path.name}")
    else:
        lines.append(f"commitment {actual} (no manifest beside the list to compare it with)")
    if expected_commitment is not None:
        if expected_commitment.strip().lower() != actual:
            raise ProtocolgenError(f"the list's commitment is {actual}, not the "
                                   f"{expected_commitment.strip()} given")
        lines.append("commitment matches the one given")
    if manifest is not None and design.randomized and seed is not None:
        lines += _verify_redcap(list_path.parent, manifest, seed, design)
    return Verification(tuple(lines))


def _verify_redcap(folder: Path, manifest: dict[str, Any], seed: Seed,
                   design: AllocationDesign) -> list[str]:
    lines = []
    for role, kind in (("redcap_production", PRODUCTION), ("redcap_development", DEVELOPMENT)):
        entry = manifest.get("files", {}).get(role)
        if not isinstance(entry, dict) or not (folder / str(entry.get("name"))).is_file():
            continue
        path = folder / entry["name"]
        data = path.read_bytes()
        expected = format_redcap(generate_allocation(seed, design, kind))
        if data != expected:
            raise ProtocolgenError(f"{path.name} is NOT the table this seed gives: "
                                   f"{first_difference(expected, data)}")
        if entry.get("commitment") != commitment(commitment_salt(seed, role), data):
            raise ProtocolgenError(f"{path.name}: its commitment in the manifest does not match")
        lines.append(f"{path.name}: identical to the {kind} table re-derived from the seed")
    return lines


# --- the protocol's commitment -----------------------------------------------------------

def read_commitment(folder: Path, study: Study) -> str | None:
    """The list commitment from ``folder``'s manifest for this study, if there is one."""
    path = folder / f"{allocation_stem(study)}_manifest.json"
    if not path.is_file():
        return None
    manifest = parse_manifest(path.read_bytes(), str(path))
    if manifest.get("study", {}).get("protocol_number") != study.identification.protocol_number:
        return None
    value = manifest.get("commitment")
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise ProtocolgenError(f"{path}: commitment {value!r} is not a SHA-256 hex digest")
    return value
