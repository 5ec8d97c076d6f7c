"""The printable calendar: a header, the table of visits and a month grid with the visits
marked, as one self-contained HTML file or as a PDF (typst, bundled fonts only).

Templates live in ``templates/calendar/``; study text reaches HTML through jinja's escaping
and typst as string literals (:func:`typst_string`), never as markup.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .render import make_environment, render_template
from .visits import PatientVisit, WorkingDays

if TYPE_CHECKING:
    from .calendars import CalendarMaker, Patient

TEMPLATE_DIR = Path("templates") / "calendar"
_STATUS = {"actual": "done", "planned": "planned", "projected": "projected"}


@dataclass(frozen=True)
class DayCell:
    """One day of the month grid."""

    day: int
    iso: str
    visits: tuple[PatientVisit, ...]
    working: bool
    reason: str  # why it is not a working day
    in_window: bool


@dataclass(frozen=True)
class Month:
    title: str
    weeks: tuple[tuple[DayCell | None, ...], ...]


def typst_string(value: Any) -> str:
    """Any text as a typst string literal: printed as-is, never read as markup or code."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text.replace("\r", "").replace("\n", "\\n").replace("\t", " ") + '"'


def build_month_grid(visits: list[PatientVisit], working: WorkingDays) -> tuple[Month, ...]:
    """Every month from the first visit to the last, weeks from Monday, visits on their
    target days, window days and non-working days marked."""
    if not visits:
        return ()
    by_day: dict[dt.date, list[PatientVisit]] = {}
    window: set[dt.date] = set()
    for v in visits:
        by_day.setdefault(v.target, []).append(v)
        if v.status != "actual":
            window.update(v.earliest + dt.timedelta(days=i)
                          for i in range((v.latest - v.earliest).days + 1))
    first, last = min(by_day), max(by_day)
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        weeks = []
        for week in _calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            weeks.append(tuple(
                DayCell(d.day, d.isoformat(), tuple(by_day.get(d, ())), working.is_working(d),
                        "" if working.is_working(d) else working.reason(d), d in window)
                if d.month == month else None for d in week))
        months.append(Month(f"{_calendar.month_name[month]} {year}", tuple(weeks)))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def build_page_context(maker: CalendarMaker, patient: Patient,
                       visits: list[PatientVisit]) -> dict[str, Any]:
    """Everything the page templates print, already worked out."""
    study = maker.study
    ident, version = study.identification, study.version
    arm = next(a for a in study.design.arms if a.id == patient.arm_id)
    site = patient.site
    horizon = maker.horizon
    if horizon.until:
        projection = f"cycles starting up to {horizon.until.isoformat()}"
    else:
        projection = f"{horizon.cycles or study.schedule.default_cycles} cycles"
    footnotes = sorted({n for v in visits for n in v.visit.content.footnotes})
    return {
        "title": f"{ident.protocol_number} visit calendar: subject {patient.subject}",
        "protocol_number": ident.protocol_number,
        "short_title": ident.short_title,
        "version": f"{version.number} ({version.status}, {version.date.isoformat()})",
        "subject": patient.subject,
        "site": site.id + (f" · {site.name}" if site.name != "TBD" else ""),
        "site_calendar": f"{site.country}{'-' + site.subdivision if site.subdivision else ''}"
                         f", working days {', '.join(site.working_days)}",
        "arm": arm.name if len(study.design.arms) > 1 else "",
        "anchor": patient.anchor.isoformat(),
        "projection": projection,
        "recorded": len(patient.actual),
        "stamp": maker.stamp(patient).date().isoformat(),
        "visits": [{
            "key": v.key, "label": v.label, "status": _STATUS[v.status],
            "target": v.target.isoformat(), "weekday": v.target.strftime("%a"),
            "window": f"{v.earliest.isoformat()} – {v.latest.isoformat()}",
            "moved": v.moved, "flagged": v.flagged, "note": v.note,
            "activities": v.visit.content.activities,
            "letters": v.visit.content.letters,
        } for v in visits],
        "footnotes": footnotes,
        "months": build_month_grid(visits, maker.working(site)),
        "weekdays": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    }


def template_dir(maker: CalendarMaker) -> Path:
    """``<--templates>/calendar`` (default ./templates/calendar) when it exists, else the
    folder shipped beside the package source."""
    given = maker.template_dir / "calendar" if maker.template_dir is not None else TEMPLATE_DIR
    shipped = Path(__file__).resolve().parents[2] / TEMPLATE_DIR
    return given if given.is_dir() or not shipped.is_dir() else shipped


def render_page(maker: CalendarMaker, patient: Patient, visits: list[PatientVisit],
                fmt: str) -> bytes:
    """The printable calendar as ``html`` or ``pdf`` bytes (the same inputs, the same bytes)."""
    env = make_environment(template_dir(maker))
    env.filters["typ"] = typst_string
    context = build_page_context(maker, patient, visits)
    if fmt == "html":
        return render_template(env, "calendar.html.j2", context).encode("utf-8")
    from .pandoc import compile_typst

    stamp = maker.stamp(patient)
    source = render_template(env, "calendar.typ.j2", context)
    return compile_typst(source, {}, epoch=int(stamp.timestamp()))
