"""Patient visit calendars: a study, a patient and the dates recorded so far → the patient's
dated visits as ICS, CSV, HTML and PDF, one patient or a roster of them.

The inputs are checked in :mod:`protocolgen.calendar_inputs`, the dates come from
:mod:`protocolgen.visits` (pure); this module renders and writes. A roster is streamed one row
at a time (shared among processes when large), so memory stays flat however long it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .calendar_inputs import (
    ROSTER_COLUMNS,
    ROSTER_REQUIRED,
    CsvFile,
    PublicHolidays,
    check_subject,
    count_rows,
    parse_date,
    read_actual_dates,
)
from .errors import InputError, Problem, ProtocolgenError
from .ics import Event, escape_text, render_ics
from .model import StudySite
from .study import LoadedStudy
from .visits import (
    ACTUAL,
    PROJECTED,
    ActualDatesError,
    Horizon,
    PatientVisit,
    SchedulePlan,
    WorkingDays,
    compute_patient_visits,
    plan_schedule,
    weekday_set,
)
from .writers import flush_to_disk, write_atomic

FORMATS = ("ics", "csv", "html", "pdf")
CSV_COLUMNS = ("subject", "site", "visit_id", "label", "status", "target", "earliest", "latest",
               "moved", "flagged", "note", "activities", "footnotes")
CHUNK_ROWS = 50  # roster rows per task when shared among processes
_STATUS_TEXT = {ACTUAL: "done (recorded date)", "planned": "planned",  # TEXT-escaped
                PROJECTED: "projected: moves when an earlier visit is delayed or treatment ends"}
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
Row = tuple[int, dict[str, str]]  # a roster row still to make: (line, values)


def csv_cell(text: str) -> str:
    """A CSV field as ``csv.writer`` quotes it by default (only when it must)."""
    if '"' in text:
        return '"' + text.replace('"', '""') + '"'
    if "," in text or "\n" in text or "\r" in text:
        return f'"{text}"'
    return text


@dataclass(frozen=True)
class Patient:
    """One patient's calendar request."""

    subject: str
    site: StudySite
    arm_id: str
    anchor: dt.date
    actual: Mapping[str, dt.date] = field(default_factory=dict)


@dataclass(frozen=True)
class RowResult:
    """What one roster row gave: the files written, or the problems that stopped it."""

    line: int
    subject: str
    files: tuple[Path, ...] = ()
    problems: tuple[Problem, ...] = ()


class CalendarMaker:
    """What the calendars of one study share: plans per arm, working days per site, the
    horizon, the formats and the output folder."""

    def __init__(self, loaded: LoadedStudy, out_dir: Path, *, formats: tuple[str, ...] = FORMATS,
                 horizon: Horizon | None = None, template_dir: Path | None = None) -> None:
        self.loaded, self.study = loaded, loaded.study
        self.out_dir, self.formats, self.horizon = out_dir, formats, horizon or Horizon()
        self.template_dir = template_dir
        self._batch = False  # while a roster runs: files flushed to disk once, at the end
        self.protocol = self.study.identification.protocol_number
        self._file_prefix = re.sub(r"[^A-Za-z0-9._-]+", "-", self.protocol)
        self._plans: dict[str, SchedulePlan] = {}
        self._working: dict[str, WorkingDays] = {}
        self._tails: dict[tuple[str, str], str] = {}
        self._csv_tails: dict[tuple[str, str], str] = {}
        self._labels: dict[tuple[str, int], str] = {}
        self._days: dict[dt.date, str] = {}

    # --- inputs ------------------------------------------------------------------------
    def site(self, site_id: str | None) -> StudySite:
        sites = self.study.sites
        known = ", ".join(s.id for s in sites)
        if not site_id:
            if len(sites) == 1:
                return sites[0]
            raise ProtocolgenError(f"the study has {len(sites)} sites; name one of: {known}")
        for site in sites:
            if site.id == site_id:
                return site
        raise ProtocolgenError(f"unknown site {site_id!r}; the study's sites are: {known}")

    def arm(self, arm_id: str | None) -> str:
        arms = self.study.design.arms
        known = ", ".join(a.id for a in arms)
        if not arm_id:
            if len(arms) == 1:
                return arms[0].id
            raise ProtocolgenError(f"the study has {len(arms)} arms; name the patient's arm: "
                                   f"{known}")
        if arm_id not in {a.id for a in arms}:
            raise ProtocolgenError(f"unknown arm {arm_id!r}; the study's arms are: {known}")
        return arm_id

    def plan(self, arm_id: str) -> SchedulePlan:
        if arm_id not in self._plans:
            self._plans[arm_id] = plan_schedule(self.study, arm_id)
        return self._plans[arm_id]

    def working(self, site: StudySite) -> WorkingDays:
        """The site's working days and public holidays (country and subdivision)."""
        if site.id not in self._working:
            index = self.study.sites.index(site)
            try:
                holidays = PublicHolidays(site.country, site.subdivision)
            except NotImplementedError as exc:
                field_ = "subdivision" if site.subdivision and "ubdivision" in str(exc) \
                    else "country"
                value = site.subdivision if field_ == "subdivision" else site.country
                pos = self.loaded.document.where(("sites", index, field_))
                raise InputError([Problem(pos.file, pos.line, pos.column,
                                          f"sites[{index}].{field_}",
                                          f"the holidays package has no public holidays for "
                                          f"{field_} {value!r} ({exc})")]) from exc
            self._working[site.id] = WorkingDays(weekday_set(site.working_days), holidays,
                                                 holidays.make_up_days)
        return self._working[site.id]

    def patient(self, subject: str, site_id: str | None, arm_id: str | None, anchor: dt.date,
                actual_file: Path | None) -> tuple[Patient, dict[str, tuple[int, int]]]:
        """Check one patient's inputs (the actual-dates file included)."""
        site, arm = self.site(site_id), self.arm(arm_id)
        check_subject(subject)
        actual, where = read_actual_dates(actual_file, self.plan(arm), self.study) \
            if actual_file else ({}, {})
        return Patient(subject, site, arm, anchor, actual), where

    # --- compute -----------------------------------------------------------------------
    def visits(self, patient: Patient, actual_file: Path | None = None,
               where: Mapping[str, tuple[int, int]] | None = None) -> list[PatientVisit]:
        """The patient's visits; contradicting recorded dates name their file and row."""
        try:
            return compute_patient_visits(self.plan(patient.arm_id), patient.anchor,
                                          self.working(patient.site), self.horizon,
                                          patient.actual)
        except ActualDatesError as exc:
            name = str(actual_file) if actual_file else "--actual"
            raise InputError([Problem(name, *(where or {}).get(key, (0, 0)), "date",
                                      f"{key}: {message}")
                              for key, message in exc.problems]) from exc

    # --- render ------------------------------------------------------------------------
    def _tail(self, arm_id: str, visit: PatientVisit) -> str:
        """A visit's activities and footnotes as description text (the same every time)."""
        key = (arm_id, visit.visit.id)
        if key not in self._tails:
            content = visit.visit.content
            lines = ["Activities:", *(f"- {a}" for a in content.activities)]
            if not content.activities:
                lines.append("- none listed in the schedule of activities")
            if content.footnotes:
                lines += ["Footnotes:", *(f"[{k}] {text}" for k, text in content.footnotes)]
            self._tails[key] = escape_text("\n".join(lines))
        return self._tails[key]

    def _csv_tail(self, arm_id: str, visit: PatientVisit) -> str:
        key = (arm_id, visit.visit.id)
        if key not in self._csv_tails:
            content = visit.visit.content
            self._csv_tails[key] = ",".join(("", csv_cell("; ".join(content.activities)),
                                             csv_cell(" | ".join(f"{k}: {t}" for k, t
                                                                 in content.footnotes))))
        return self._csv_tails[key]

    def render_csv(self, patient: Patient, visits: list[PatientVisit]) -> str:
        """One row per visit (RFC 4180: CRLF, quotes only where needed)."""
        who = f"{csv_cell(patient.subject)},{csv_cell(patient.site.id)}"
        rows = [",".join(CSV_COLUMNS)]
        for v in visits:
            rows.append(f"{who},{v.key},{csv_cell(v.label)},{v.status},{v.target.isoformat()},"
                        f"{v.earliest.isoformat()},{v.latest.isoformat()},"
                        f"{'yes' if v.moved else 'no'},{'yes' if v.flagged else 'no'},"
                        f"{csv_cell(v.note)}{self._csv_tail(patient.arm_id, v)}")
        rows.append("")
        return "\r\n".join(rows)

    def stamp(self, patient: Patient) -> dt.datetime:
        """DTSTAMP from the inputs, never the clock: the later of the study's version date
        and the last recorded visit date."""
        day = max([self.study.version.date, *patient.actual.values()])
        return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)

    def _label(self, visit: PatientVisit) -> str:
        """The visit's label, TEXT-escaped (cached: labels repeat across patients)."""
        key = (visit.visit.id, visit.number)
        if key not in self._labels:
            self._labels[key] = escape_text(visit.label)
        return self._labels[key]

    def _day(self, day: dt.date) -> str:
        if day not in self._days:
            self._days[day] = f"{day.isoformat()} ({_WEEKDAYS[day.weekday()]})"
        return self._days[day]

    def render_ics(self, patient: Patient, visits: list[PatientVisit]) -> str:
        """One all-day event per visit; the text is escaped here, once, for speed."""
        subject, site = patient.subject, patient.site  # a subject id needs no escaping
        where = escape_text(f"Site {site.id}" + (f" ({site.name})" if site.name != "TBD" else ""))
        protocol = escape_text(self.protocol)
        events = []
        for v in visits:
            label, day = self._label(v), self._day
            description = (f"{label}: {_STATUS_TEXT[v.status]}\\nTarget {day(v.target)}\\; "
                           f"window {day(v.earliest)} to {day(v.latest)}")
            if v.note:
                description += "\\n" + ("FLAG: " if v.flagged else "") + escape_text(
                    v.note[0].upper() + v.note[1:])
            events.append(Event(
                f"{protocol}/{subject}/{v.key}@protocolgen", v.target,
                f"{protocol} {subject}: {label}", description, self._tail(patient.arm_id, v),
                where, "TENTATIVE" if v.status == PROJECTED else "CONFIRMED"))
        # SEQUENCE grows with each recorded date and amendment: an updated calendar wins.
        return render_ics(f"{self.protocol} · subject {subject} · site {site.id}", events,
                          stamp=self.stamp(patient),
                          sequence=len(patient.actual) + len(self.study.amendments),
                          escaped=True)

    def paths(self, subject: str) -> dict[str, Path]:
        return {fmt: self.out_dir / f"{self._file_prefix}_{subject}_calendar.{fmt}"
                for fmt in self.formats}

    def write(self, patient: Patient, visits: list[PatientVisit]) -> list[Path]:
        """Write the patient's calendar in each format; return the files written."""
        written = []
        for fmt, path in self.paths(patient.subject).items():
            if fmt == "csv":
                content: str | bytes = self.render_csv(patient, visits)
            elif fmt == "ics":
                content = self.render_ics(patient, visits)
            else:
                from .calendar_pages import render_page

                content = render_page(self, patient, visits, fmt)
            written.append(write_atomic(path, content, durable=not self._batch))
        return written

    def make(self, subject: str, site_id: str | None, arm_id: str | None, anchor: dt.date,
             actual_file: Path | None = None) -> list[Path]:
        """One patient, every step: check, compute, write."""
        patient, where = self.patient(subject, site_id, arm_id, anchor, actual_file)
        return self.write(patient, self.visits(patient, actual_file, where))

    # --- a roster ----------------------------------------------------------------------
    def run_roster(self, roster: Path, workers: int | None = None) -> Iterator[RowResult]:
        """One result per roster row, in order, streamed: a bad row is reported (file, row,
        field) and the other rows still get their calendars. Large rosters are shared among
        ``workers`` processes (default: one per core, up to 4, from 400 rows on)."""
        table = CsvFile(roster, ROSTER_COLUMNS, ROSTER_REQUIRED)
        rows = self._checked_rows(table)
        if workers is None:
            workers = auto_workers(count_rows(roster))
        self._batch = True
        try:
            if workers > 1:
                yield from self._parallel(table, rows, workers)
            else:
                for item in rows:
                    yield item if isinstance(item, RowResult) else \
                        self.row_result(table.name, table.positions, item)
        finally:
            self._batch = False
            flush_to_disk()

    def _checked_rows(self, table: CsvFile) -> Iterator[RowResult | Row]:
        """The roster's rows, streamed; a row missing a field, or repeating a subject, is
        already its (failed) result."""
        seen: dict[str, int] = {}
        for row in table:
            subject = row.get("subject")
            problems = [table.problem(row.line, f, f"missing {f}")
                        for f in ROSTER_REQUIRED if not row.get(f)]
            if row.shape:
                problems.append(table.problem(row.line, "", row.shape))
            if subject in seen:
                problems.append(table.problem(row.line, "subject", f"subject {subject!r} is "
                                              f"listed twice (also on line {seen[subject]})"))
            elif subject:
                seen[subject] = row.line
            yield RowResult(row.line, subject, problems=tuple(problems)) if problems \
                else (row.line, row.values)

    def row_result(self, name: str, positions: Mapping[str, int], row: Row) -> RowResult:
        """Make one roster row's calendar, or say what is wrong with the row."""
        line, values = row
        subject = values["subject"].strip()

        def problem(column: str, message: str) -> InputError:
            return InputError([Problem(name, line, positions.get(column, 1), column, message)])

        try:
            try:
                anchor = parse_date(values["anchor_date"])
            except ValueError as exc:
                raise problem("anchor_date", str(exc)) from exc
            actual_text = values.get("actual", "").strip()
            actual = Path(name).parent / actual_text if actual_text else None
            if actual is not None and not actual.is_file():
                raise problem("actual", f"{actual}: file not found (a path relative to the "
                                        "roster)")
            site, arm = values["site"].strip(), values.get("arm", "").strip() or None
            for column, check in (("site", lambda: self.site(site)),
                                  ("arm", lambda: self.arm(arm)),
                                  ("subject", lambda: check_subject(subject))):
                try:
                    check()
                except ProtocolgenError as exc:
                    raise problem(column, exc.message) from exc
            files = self.make(subject, site, arm, anchor, actual)
            return RowResult(line, subject, tuple(files))
        except InputError as exc:
            return RowResult(line, subject, problems=tuple(exc.problems))
        except ProtocolgenError as exc:
            return RowResult(line, subject, problems=(Problem(name, line, 1, "", exc.message),))

    def _parallel(self, table: CsvFile, rows: Iterator[RowResult | Row],
                  workers: int) -> Iterator[RowResult]:
        """Chunks of rows to forked workers (which inherit this maker), a few chunks in
        flight at a time so memory stays flat; results come back in roster order."""
        import multiprocessing

        global _WORKER_MAKER
        _WORKER_MAKER = self
        for arm in self.study.design.arms:  # built once here, inherited by every worker
            self.plan(arm.id)
        for site in self.study.sites:
            with contextlib.suppress(InputError):  # reported by the rows that use the site
                self.working(site)
        window: deque[tuple[list[RowResult | Row], Any]] = deque()
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            chunk: list[RowResult | Row] = []
            for item in rows:
                chunk.append(item)
                if len(chunk) == CHUNK_ROWS:
                    window.append((chunk, pool.apply_async(_work, (table.name, table.positions,
                                                                   chunk))))
                    chunk = []
                    while len(window) > 2 * workers:
                        yield from _merge(*window.popleft())
            if chunk:
                window.append((chunk, pool.apply_async(_work, (table.name, table.positions,
                                                               chunk))))
            while window:
                yield from _merge(*window.popleft())


_WORKER_MAKER: CalendarMaker | None = None  # set in the parent before the workers fork


def auto_workers(rows: int) -> int:
    """Processes for a roster: one per core (up to 4) from 400 rows on, where fork exists."""
    import multiprocessing
    import os

    if rows < 400 or "fork" not in multiprocessing.get_all_start_methods():
        return 1
    return max(1, min(os.cpu_count() or 1, 4))


def _work(name: str, positions: dict[str, int], chunk: list[RowResult | Row]
          ) -> list[RowResult]:
    """In a worker: the calendars of one chunk of rows (rows already failed are skipped)."""
    assert _WORKER_MAKER is not None
    return [_WORKER_MAKER.row_result(name, positions, item) for item in chunk
            if not isinstance(item, RowResult)]


def _merge(chunk: list[RowResult | Row], pending: Any) -> Iterator[RowResult]:
    done = iter(pending.get())
    for item in chunk:
        yield item if isinstance(item, RowResult) else next(done)
