"""The front door: load → validate → build the model, in one call."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .ctcae import ENV_VAR, check_study_terms, load_ctcae_workbook
from .errors import InputError, Problem
from .loader import Document, load_study_document, resolve_study_file
from .model import Study, build_study
from .validate import validate_document

DEFAULT_STUDY = Path("protocol/iri-apa-sclc")


@dataclass(frozen=True)
class LoadedStudy:
    """A valid study with the warnings found while loading it."""

    study: Study
    warnings: tuple[Problem, ...]
    document: Document
    ctcae_checked: bool

    @property
    def folder(self) -> Path:
        return self.document.folder

    @property
    def slug(self) -> str:
        """The study's folder name, used for output folders."""
        return self.folder.resolve().name


def ctcae_workbook_path(option: Path | None) -> Path | None:
    """The CTCAE workbook to check against: the option, else $PROTOCOLGEN_CTCAE."""
    if option is not None:
        return option
    env = os.environ.get(ENV_VAR)
    return Path(env) if env else None


def load_study(path: Path = DEFAULT_STUDY, *, ctcae: Path | None = None,
               strict: bool = False) -> LoadedStudy:
    """Load, validate and build a study; raise :class:`InputError` listing every problem.

    ``strict`` turns warnings (TBD values, unlinked endpoints, …) into errors.
    """
    doc = load_study_document(path)
    doc.folder = resolve_study_file(path).parent
    data, problems = validate_document(doc)
    has_errors = any(p.severity == "error" for p in problems)
    workbook = ctcae_workbook_path(ctcae)
    if workbook is not None and not has_errors:
        problems = sorted(problems + check_study_terms(doc, data, load_ctcae_workbook(workbook)))
    if strict:
        problems = [Problem(p.file, p.line, p.column, p.field, p.message) for p in problems]
    if any(p.severity == "error" for p in problems):
        raise InputError(problems)
    return LoadedStudy(build_study(data), tuple(problems), doc, workbook is not None)


def summarize(loaded: LoadedStudy) -> dict[str, int]:
    """Counts shown by ``protocolgen validate``."""
    s = loaded.study
    return {
        "objectives": len(s.objectives),
        "endpoints": len(s.endpoints),
        "inclusion criteria": len(s.inclusion),
        "exclusion criteria": len(s.exclusion),
        "arms": len(s.design.arms),
        "interventions": len(s.interventions),
        "visits": len(s.schedule.encounters),
        "activities": len(s.schedule.activities),
        "CTCAE terms": len(s.safety.terms),
        "dose-modification rules": len(s.safety.dose_modifications),
        "sites": len(s.sites),
        "amendments": len(s.amendments),
        "warnings": len(loaded.warnings),
    }
