"""What a calendar is made from besides the study: dates, subject ids, the dates visits really
happened, rosters (CSV, read row by row) and each site's public holidays.

Every problem names its file, row (as the line) and field (with its column), e.g.
``actual.csv:3:2: date: '2026-4-14' is not a date of the form YYYY-MM-DD``.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import InputError, Problem, ProtocolgenError
from .model import Study
from .visits import SchedulePlan, resolve_occurrence

ROSTER_COLUMNS = ("subject", "site", "anchor_date", "arm", "actual")
ROSTER_REQUIRED = ("subject", "site", "anchor_date")
ACTUAL_COLUMNS = ("visit", "date")
SUBJECT_FORM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,39}")
_DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str) -> dt.date:
    """``YYYY-MM-DD`` and nothing else; ``ValueError`` with a message that quotes the text."""
    text = text.strip()
    if not _DATE_FORM.fullmatch(text):
        raise ValueError(f"{text!r} is not a date of the form YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a real date") from None


def check_subject(subject: str) -> str:
    """The subject id goes into file names and UIDs: a short, plain identifier."""
    if not SUBJECT_FORM.fullmatch(subject):
        raise ProtocolgenError(f"subject id {subject!r} must be 1-40 letters, digits, '_', '.' "
                               "or '-', starting with a letter or digit")
    return subject


@dataclass(frozen=True)
class CsvRow:
    line: int
    values: dict[str, str]
    shape: str = ""  # a problem with the row itself (too many values)

    def get(self, name: str) -> str:
        return self.values.get(name, "").strip()


class CsvFile:
    """A CSV file read one row at a time (never whole). The header names the ``required``
    columns and may name the others in ``columns``, in any order; ``positions`` (name →
    1-based column) is known once iteration has started."""

    def __init__(self, path: Path, columns: tuple[str, ...], required: tuple[str, ...], *,
                 extra_columns: bool = False) -> None:
        self.path, self.name = path, str(path)
        self.columns, self.required, self.extra_columns = columns, required, extra_columns
        self.positions: dict[str, int] = {}

    def problem(self, line: int, name: str, message: str) -> Problem:
        return Problem(self.name, line, self.positions.get(name, 1), name, message)

    def __iter__(self) -> Iterator[CsvRow]:
        if not self.path.is_file():
            raise InputError([Problem(self.name, 0, 0, "", "file not found"
                                      if not self.path.exists() else "is not a file")])
        with self.path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            try:
                header = [h.strip().lower() for h in next(reader, [])]
            except (UnicodeDecodeError, csv.Error) as exc:
                raise InputError([Problem(self.name, 1, 1, "",
                                          f"cannot read the header: {exc}")]) from exc
            self._check_header(header)
            self.positions = {h: i for i, h in enumerate(header, 1)}
            while True:
                try:
                    values = next(reader)
                except StopIteration:
                    return
                except (UnicodeDecodeError, csv.Error) as exc:
                    raise InputError([Problem(self.name, reader.line_num, 1, "",
                                              f"cannot read this row: {exc}")]) from exc
                if not any(v.strip() for v in values):
                    continue
                shape = "" if len(values) <= len(header) else (
                    f"this row has {len(values)} values but the header names {len(header)} "
                    "columns (quote values that contain a comma)")
                yield CsvRow(reader.line_num, dict(zip(header, values, strict=False)), shape)

    def _check_header(self, header: list[str]) -> None:
        missing = [c for c in self.required if c not in header]
        unknown = [h for h in header if h not in self.columns and not self.extra_columns]
        if missing or unknown or len(set(header)) != len(header):
            optional = [c for c in self.columns if c not in self.required]
            raise InputError([Problem(self.name, 1, 1, "", (
                f"the header must name the columns {','.join(self.required)}"
                + (f" (optional: {','.join(optional)})" if optional else "")
                + f"; found {','.join(header) or 'nothing'}"))])


def count_rows(path: Path) -> int:
    """Data rows in a CSV file (for a progress bar), without keeping them."""
    try:
        with path.open("rb") as handle:
            return max(sum(1 for line in handle if line.strip()) - 1, 0)
    except OSError:
        return 0


def read_actual_dates(path: Path, plan: SchedulePlan, study: Study
                      ) -> tuple[dict[str, dt.date], dict[str, tuple[int, int]]]:
    """The dates visits really happened (CSV ``visit,date``; a visit by occurrence id such as
    ``D1.3`` or by label such as ``C3D1``) as occurrence id → date, and where each date was
    written (line, column). Every problem in the file is reported at once."""
    table = CsvFile(path, ACTUAL_COLUMNS, ACTUAL_COLUMNS, extra_columns=True)
    problems: list[Problem] = []
    dates: dict[str, dt.date] = {}
    lines: dict[str, tuple[int, int]] = {}
    for row in table:
        if row.shape:
            problems.append(table.problem(row.line, "", row.shape))
            continue
        empty = [name for name in ACTUAL_COLUMNS if not row.get(name)]
        problems += [table.problem(row.line, name, f"missing {name}") for name in empty]
        if empty:
            continue
        key, message = resolve_occurrence(plan, study, row.get("visit"))
        if message:
            problems.append(table.problem(row.line, "visit", message))
            continue
        try:
            day = parse_date(row.get("date"))
        except ValueError as exc:
            problems.append(table.problem(row.line, "date", str(exc)))
            continue
        if key in dates:
            problems.append(table.problem(row.line, "visit", f"visit {key} is listed twice "
                                                             f"(also on line {lines[key][0]})"))
            continue
        dates[key], lines[key] = day, (row.line, table.positions["date"])
    if problems:
        raise InputError(problems)
    return dates, lines


class PublicHolidays(Mapping[dt.date, str]):
    """A site's public holidays (``holidays`` package, English names), loaded a year at a
    time on demand; ``make_up_days`` are weekend days that are working days (e.g. China)."""

    def __init__(self, country: str, subdivision: str = "") -> None:
        import holidays

        self._make = lambda year: holidays.country_holidays(
            country, subdiv=subdivision or None, years=year, language="en_US")
        self._dates: dict[dt.date, str] = {}
        self._years: set[int] = set()
        self.make_up_days: set[dt.date] = set()
        self._load(2000)  # an unknown country or subdivision fails now, clearly

    def _load(self, year: int) -> None:
        calendar = self._make(year)
        self._dates.update(calendar)
        self.make_up_days.update(d for d in getattr(calendar, "weekend_workdays", ())
                                 if d.year == year)
        self._years.add(year)

    def __contains__(self, day: object) -> bool:
        if not isinstance(day, dt.date):
            return False
        if day.year not in self._years:
            self._load(day.year)
        return day in self._dates

    def __getitem__(self, day: dt.date) -> str:
        if day.year not in self._years:
            self._load(day.year)
        return self._dates[day]

    def get(self, day: dt.date, default: Any = None) -> Any:
        if day.year not in self._years:
            self._load(day.year)
        return self._dates.get(day, default)

    def __iter__(self) -> Iterator[dt.date]:
        return iter(self._dates)

    def __len__(self) -> int:
        return len(self._dates)
