"""NCI's CTCAE v5.0 workbook: read it, and check a study's terms against it.

The workbook is NCI's distribution and is not shipped; a user points the tool at
their own copy (``--ctcae FILE`` or the ``PROTOCOLGEN_CTCAE`` environment variable).
"""

from __future__ import annotations

import difflib
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import Problem, fail
from .loader import Document, format_path

SHEET = "CTCAE v5.0 Clean Copy"
ENV_VAR = "PROTOCOLGEN_CTCAE"
_HEADER = ("MedDRA Code", "MedDRA SOC", "CTCAE Term", "Grade 1", "Grade 2", "Grade 3",
           "Grade 4", "Grade 5")


@dataclass(frozen=True)
class CtcaeTerm:
    """One CTCAE term as NCI defines it; grades holds only the defined grades."""

    term: str
    meddra_code: int
    soc: str
    grades: dict[int, str]
    definition: str = ""


def _normalize(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("≥", ">=").replace("≤", "<=")).strip()


def load_ctcae_workbook(path: Path) -> dict[str, CtcaeTerm]:
    """Read the "Clean Copy" sheet of NCI's CTCAE v5.0 workbook into terms by name."""
    import openpyxl  # imported here: only validation with a workbook needs it

    display = str(path)
    if not path.is_file():
        raise fail(display, "CTCAE workbook not found (give NCI's CTCAE_v5.0.xlsx)")
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        raise fail(display, f"not a readable .xlsx workbook: {exc}") from exc
    try:
        if SHEET not in book.sheetnames:
            raise fail(display, f"sheet {SHEET!r} not found; is this NCI's CTCAE v5.0 workbook?")
        rows = book[SHEET].iter_rows(values_only=True)
        header = tuple(str(c).strip() if c else "" for c in next(rows, ()))
        if header[: len(_HEADER)] != _HEADER:
            raise fail(display, f"unexpected columns {header[:8]}; expected {_HEADER}",
                       line=1, column=1)
        terms: dict[str, CtcaeTerm] = {}
        for row in rows:
            if not row or not row[2]:
                continue
            grades = {g: _normalize(str(row[2 + g])) for g in range(1, 6)
                      if row[2 + g] and str(row[2 + g]).strip() not in ("-", "")}
            name = str(row[2]).strip()
            terms[name] = CtcaeTerm(name, int(row[0]), str(row[1]).strip(), grades,
                                    _normalize(str(row[8] or "")))
        return terms
    finally:
        book.close()


def check_study_terms(doc: Document, data: dict[str, Any],
                      dictionary: dict[str, CtcaeTerm]) -> list[Problem]:
    """Compare every term in ``safety.terms`` with NCI's text."""
    problems: list[Problem] = []

    def report(path: tuple[Any, ...], message: str) -> None:
        pos = doc.where(path)
        problems.append(Problem(pos.file, pos.line, pos.column, format_path(path), message))

    for i, entry in enumerate(data["safety"]["terms"]):
        path = ("safety", "terms", i)
        nci = dictionary.get(entry["term"])
        if nci is None:
            close = difflib.get_close_matches(entry["term"], list(dictionary), n=1, cutoff=0.6)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            report(path + ("term",), f"{entry['term']!r} is not a CTCAE v5.0 term{hint}")
            continue
        if entry["meddra_code"] != nci.meddra_code:
            report(path + ("meddra_code",), f"MedDRA code {entry['meddra_code']} does not match "
                   f"NCI's {nci.meddra_code} for {nci.term!r}")
        if _normalize(entry["soc"]) != nci.soc:
            report(path + ("soc",), f"SOC {entry['soc']!r} does not match NCI's {nci.soc!r}")
        for grade, text in entry["grades"].items():
            official = nci.grades.get(grade)
            if official is None:
                report(path + ("grades", grade), f"{nci.term!r} has no grade {grade} in CTCAE "
                       f"v5.0 (defined: {sorted(nci.grades)})")
            elif _normalize(text) not in official:
                report(path + ("grades", grade), f"grade {grade} text differs from NCI's: "
                       f"{official[:120]!r}")
    return problems
