"""Pure patient visit dates: each visit's target and window from the anchor date, the dates
recorded so far, a horizon and the site's working days. No clock, no I/O, no printing.

The rules (docs/study-format.md has the day numbering):

- ``study_day_1`` visits (screening, tumour assessments) keep a fixed calendar from the anchor
  date (study day 1): cycle delays never move them.
- ``cycle_day_1`` visits follow their cycle's day 1. Cycle 1 starts on the anchor date; a later
  cycle starts on its day-1 visit's recorded date, else one cycle length after the previous
  cycle (and never before the last visit recorded in it): a delayed cycle moves its own visits
  and every later cycle; so does a day-1 visit moved off a non-working day. Visits of a cycle
  after the next cycle's start (or the end of treatment) did not happen and are left out.
- ``end_of_treatment`` visits count from the end-of-treatment date: the recorded date of the
  end-of-treatment visit (its earliest-day visit) less its day, else the day the cycle after
  the horizon would start (a projection).
- A target on a non-working day moves to the nearest working day inside its window (the later
  one on a tie) that keeps the visit between its neighbours in the same chain (cycle visits,
  follow-up visits, the occurrences of one study-day visit); when there is none the target
  stays and is flagged.
- Repeats: ``every_cycle`` for each cycle of the horizon; ``every_days`` until the end of
  treatment (``progression``, ``end_of_treatment``) or for the study's ``follow_up_days`` after
  it (``death``, ``end_of_study``, none); ``max`` caps both.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Container, Iterator, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from .errors import ProtocolgenError
from .model import Encounter, Study

DAY = dt.timedelta(days=1)
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# A recorded date further than this from the anchor date is a typo (a wrong year), not a visit.
SENSIBLE_BEFORE = dt.timedelta(days=366)
SENSIBLE_AFTER = dt.timedelta(days=20 * 366)
MAX_CYCLES = 500

ACTUAL, PLANNED, PROJECTED = "actual", "planned", "projected"


@dataclass(frozen=True)
class Horizon:
    """How far to project treatment: ``cycles`` cycles, cycles starting up to ``until``, or
    (neither) the study's ``schedule.default_cycles``."""

    cycles: int | None = None
    until: dt.date | None = None


@dataclass(frozen=True, eq=False)
class WorkingDays:
    """When a site sees patients: weekdays (0 = Monday), public holidays (date → name) and
    weekend days that are working days (make-up days, e.g. in China)."""

    weekdays: frozenset[int] = frozenset(range(5))
    holidays: Mapping[dt.date, str] = field(default_factory=dict)
    extra_working: Container[dt.date] = frozenset()

    def is_working(self, day: dt.date) -> bool:
        if day in self.holidays:
            return False
        return day.weekday() in self.weekdays or day in self.extra_working

    def reason(self, day: dt.date) -> str:
        """Why ``day`` is not a working day: the holiday's name or the weekday."""
        return self.holidays.get(day) or WEEKDAY_NAMES[day.weekday()]


@dataclass(frozen=True)
class VisitContent:
    """What is done at a visit: activity names with footnote letters, and the footnotes."""

    activities: tuple[str, ...]
    footnotes: tuple[tuple[str, str], ...]  # (letter, text)
    letters: tuple[str, ...]  # footnotes attached to the visit itself


@dataclass(frozen=True)
class PlannedVisit:
    """One of the study's visits, prepared for one arm."""

    encounter: Encounter
    order: int
    content: VisitContent
    repeating: bool
    label_pattern: re.Pattern[str]
    before: dt.timedelta = dt.timedelta()  # the window, as durations
    after: dt.timedelta = dt.timedelta()
    offset: dt.timedelta = dt.timedelta()  # from the anchor date (study or cycle day)

    @property
    def id(self) -> str:
        return self.encounter.id

    def key(self, number: int) -> str:
        """The occurrence id: ``SCR``, ``D1.3`` (cycle 3), ``TA.2``."""
        return f"{self.encounter.id}.{number}" if self.repeating else self.encounter.id

    def label(self, number: int) -> str:
        return self.encounter.label.replace("{n}", str(number))


@dataclass(frozen=True)
class SchedulePlan:
    """A study's visits for one arm, split by what they are anchored to."""

    arm_id: str
    cycle_length: int
    default_cycles: int
    follow_up_days: int
    study_visits: tuple[PlannedVisit, ...]
    cycle_visits: tuple[PlannedVisit, ...]  # by day, then schedule order
    eot_visits: tuple[PlannedVisit, ...]
    day1_visit: PlannedVisit | None  # the cycle visit on day 1: its date starts the cycle
    eot_visit: PlannedVisit | None  # the end-of-treatment visit: its date fixes the EOT date
    by_id: dict[str, PlannedVisit]


class PatientVisit(NamedTuple):
    """One dated visit of one patient (a tuple: cheap to build by the thousand)."""

    key: str  # occurrence id, e.g. D1.3
    visit: PlannedVisit
    number: int  # cycle or repeat number
    label: str
    status: str  # actual, planned or projected
    nominal: dt.date  # the date the rules give, before any move to a working day
    target: dt.date
    earliest: dt.date
    latest: dt.date
    moved: bool
    flagged: bool
    note: str


class ActualDatesError(ProtocolgenError):
    """Recorded dates that contradict each other or the schedule: (occurrence id, message)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {message}" for key, message in problems))


def day_offset(day: int) -> int:
    """Days from the anchor date for a study or cycle day (there is no day 0)."""
    return day if day < 0 else day - 1


def _label_pattern(label: str) -> re.Pattern[str]:
    parts = [re.escape(re.sub(r"\s+", " ", p).casefold()) for p in label.split("{n}")]
    return re.compile(r"([1-9][0-9]{0,5})".join(parts))


def _content(study: Study, encounter: Encounter) -> VisitContent:
    sched = study.schedule
    by_activity: dict[str, list[str]] = {}
    for note in sched.footnotes:
        for activity_id in note.activity_ids:
            if not note.visit_ids or encounter.id in note.visit_ids:
                by_activity.setdefault(activity_id, []).append(note.id)
    letters = tuple(n.id for n in sched.footnotes
                    if encounter.id in n.visit_ids and not n.activity_ids)
    names, used = [], set(letters)
    for activity in sched.activities:
        if sched.is_scheduled(activity.id, encounter.id):
            marks = by_activity.get(activity.id, [])
            used.update(marks)
            names.append(f"{activity.name} [{','.join(marks)}]" if marks else activity.name)
    notes = tuple((n.id, n.text) for n in sched.footnotes if n.id in used)
    return VisitContent(tuple(names), notes, letters)


def plan_schedule(study: Study, arm_id: str) -> SchedulePlan:
    """The study's visits for the arm ``arm_id``, with their activities and footnotes."""
    if arm_id not in {a.id for a in study.design.arms}:
        raise ProtocolgenError(f"unknown arm {arm_id!r}")
    sched = study.schedule
    planned = [PlannedVisit(e, i, _content(study, e), bool(e.repeat and (
        e.repeat.every_cycle or e.repeat.every_days)), _label_pattern(e.label),
        e.window.before * DAY, e.window.after * DAY,
        (e.day if e.anchor == "end_of_treatment" else day_offset(e.day)) * DAY)
        for i, e in enumerate(sched.encounters) if e.applies_to(arm_id)]
    by_anchor: dict[str, list[PlannedVisit]] = {"study_day_1": [], "cycle_day_1": [],
                                                "end_of_treatment": []}
    for visit in planned:
        by_anchor[visit.encounter.anchor].append(visit)
    cycle = sorted(by_anchor["cycle_day_1"], key=lambda v: (day_offset(v.encounter.day), v.order))
    eot = sorted(by_anchor["end_of_treatment"], key=lambda v: (v.encounter.day, v.order))
    return SchedulePlan(
        arm_id, sched.cycle_length_days, sched.default_cycles, sched.follow_up_days,
        tuple(by_anchor["study_day_1"]), tuple(cycle), tuple(eot),
        next((v for v in cycle if v.encounter.day == 1), None),
        eot[0] if eot else None, {v.id: v for v in planned})


def resolve_occurrence(plan: SchedulePlan, study: Study, text: str) -> tuple[str, str]:
    """A recorded visit, written as its occurrence id (``D1.3``) or label (``C3D1``), as
    ``(occurrence id, "")``, or ``("", message)`` when it names no visit of the arm."""
    text = text.strip()
    visit = plan.by_id.get(text)
    if visit is not None:
        if not visit.repeating:
            return visit.key(1), ""
        return "", (f"visit {text!r} repeats: give its occurrence, e.g. {visit.key(3)} "
                    f"or {visit.label(3)!r}")
    head, dot, tail = text.rpartition(".")
    if dot and head in plan.by_id and tail.isdigit():
        return _numbered(plan.by_id[head], int(tail), text)
    folded = re.sub(r"\s+", " ", text).casefold()
    for visit in plan.by_id.values():
        match = visit.label_pattern.fullmatch(folded)
        if match:
            return _numbered(visit, int(match.group(1)) if match.groups() else 1, text)
    other = next((e for e in study.schedule.encounters
                  if e.id in (text, head) and e.id not in plan.by_id), None)
    if other is not None:
        return "", f"visit {other.id!r} is not in the schedule of arm {plan.arm_id!r}"
    examples = ", ".join([*(v.key(1) if not v.repeating else v.key(2)
                            for v in plan.by_id.values())][:6])
    return "", (f"unknown visit {text!r}; give an occurrence id ({examples}, …) "
                "or a label as the calendar shows it")


def _numbered(visit: PlannedVisit, number: int, text: str) -> tuple[str, str]:
    repeat = visit.encounter.repeat
    if number < 1:
        return "", f"visit {text!r}: occurrences are numbered from 1"
    if not visit.repeating and number != 1:
        return "", f"visit {visit.id!r} does not repeat; write {visit.id}"
    if repeat and repeat.max and number > repeat.max:
        return "", f"visit {text!r}: {visit.id} happens at most {repeat.max} time(s)"
    return visit.key(number), ""


class _Draft:
    """A visit being placed (mutable while its chain is worked out)."""

    __slots__ = ("fixed", "flagged", "key", "nominal", "note", "number", "recorded", "status",
                 "visit")

    def __init__(self, visit: PlannedVisit, number: int, nominal: dt.date, status: str,
                 recorded: dt.date | None) -> None:
        self.visit, self.number, self.nominal = visit, number, nominal
        self.key = visit.key(number)
        self.recorded = recorded is not None
        self.status = ACTUAL if recorded is not None else status
        self.fixed = recorded  # the target, once decided
        self.note = ""
        self.flagged = False


def _finish(d: _Draft) -> PatientVisit:
    earliest, latest = d.nominal - d.visit.before, d.nominal + d.visit.after
    target = d.fixed if d.fixed is not None else d.nominal
    moved, flagged, note = target != d.nominal and not d.recorded, d.flagged, d.note
    if d.recorded:
        if target < earliest:
            flagged, note = True, f"done {(earliest - target).days} day(s) before the window"
        elif target > latest:
            flagged, note = True, f"done {(target - latest).days} day(s) after the window"
    return PatientVisit(d.key, d.visit, d.number, d.visit.label(d.number), d.status, d.nominal,
                        target, earliest, latest, moved, flagged, note)


def _nearest(group: list[_Draft], working: WorkingDays, low: dt.date | None,
             high: dt.date | None) -> tuple[dt.date, str, bool]:
    """The nearest working day inside the windows of ``group`` and strictly between ``low``
    and ``high`` (the later day on a tie), with why it moved; else the nominal date, flagged."""
    nominal = group[0].nominal
    ok = working.is_working
    if ok(nominal) and (low is None or nominal > low):
        return nominal, "", False
    before = min(d.visit.encounter.window.before for d in group)
    after = min(d.visit.encounter.window.after for d in group)
    for step in range(1, max(before, after) + 1):
        for day in (nominal + step * DAY if step <= after else None,
                    nominal - step * DAY if step <= before else None):
            if day is not None and ok(day) and (low is None or day > low) and \
                    (high is None or day < high):
                why = working.reason(nominal) if not ok(nominal) else "after the previous visit"
                if day.weekday() not in working.weekdays:
                    why += "; to a weekend working day"
                return day, f"moved from {nominal.isoformat()} ({why})", False
    if not ok(nominal):
        return nominal, (f"not a working day ({working.reason(nominal)}); no working day free "
                         "in the window"), True
    return nominal, f"not after the previous visit ({low.isoformat() if low else ''})", True


def _place(chain: list[_Draft], working: WorkingDays, out: list[PatientVisit],
           low: dt.date | None = None, limit: dt.date | None = None) -> dt.date | None:
    """Give each visit of a chain (sorted by nominal date) its target: visits on the same
    nominal date move together, and each stays after the one before and before the next
    (the last one before ``limit``)."""
    i, n = 0, len(chain)
    ok = working.is_working
    while i < n:
        d = chain[i]
        j = i + 1
        if j == n or chain[j].nominal != d.nominal:  # the common case: a visit on its own
            if d.fixed is None:
                if ok(d.nominal) and (low is None or d.nominal > low):
                    d.fixed = d.nominal
                else:
                    high = limit if j == n else (chain[j].fixed if chain[j].fixed is not None
                                                 else chain[j].nominal)
                    d.fixed, d.note, d.flagged = _nearest([d], working, low, high)
            out.append(_finish(d))
            low, i = d.fixed, j
            continue
        while j < n and chain[j].nominal == chain[i].nominal:
            j += 1
        group = chain[i:j]
        free = [d for d in group if d.fixed is None]
        if free:
            high = limit
            if j < n:
                high = chain[j].fixed if chain[j].fixed is not None else chain[j].nominal
            day, why, flagged = _nearest(free, working, low, high)
            for d in free:
                d.fixed, d.note, d.flagged = day, why, flagged
        for d in group:
            out.append(_finish(d))
        low = max(d.fixed for d in group if d.fixed is not None)
        i = j
    return low


def _occurrences(visit: PlannedVisit, first: dt.date, end: dt.date, follow_up_end: dt.date,
                 at_least: int, inclusive: bool = False) -> Iterator[tuple[int, dt.date]]:
    """``(number, nominal date)`` of a single or ``every_days`` visit: until ``end`` (the end
    of treatment) or ``follow_up_end``, at most ``repeat.max``, and at least ``at_least``
    (the occurrences already recorded)."""
    repeat = visit.encounter.repeat
    if not visit.repeating or repeat is None or not repeat.every_days:
        yield 1, first
        return
    stop = end if repeat.until in ("progression", "end_of_treatment") else follow_up_end
    number, day = 1, first
    while (number <= at_least or (day <= stop if inclusive else day < stop)) and \
            (not repeat.max or number <= repeat.max):
        yield number, day
        number += 1
        day += repeat.every_days * DAY


def _split(key: str) -> tuple[str, int]:
    head, dot, tail = key.rpartition(".")
    return (head, int(tail)) if dot and tail.isdigit() else (key, 1)


def _recorded_range(anchor: dt.date, actual: Mapping[str, dt.date],
                    plan: SchedulePlan) -> list[tuple[str, str]]:
    problems = []
    low, high = anchor - SENSIBLE_BEFORE, anchor + SENSIBLE_AFTER
    for key, day in actual.items():
        visit = plan.by_id[key if key in plan.by_id else _split(key)[0]]
        if not low <= day <= high:
            problems.append((key, f"date {day.isoformat()} is outside any sensible range for "
                                  f"the anchor date {anchor.isoformat()} (check the year)"))
        elif day < anchor and (visit.encounter.anchor != "study_day_1" or visit.encounter.day > 0):
            problems.append((key, f"date {day.isoformat()} is before study day 1 "
                                  f"({anchor.isoformat()})"))
    return problems


def compute_patient_visits(plan: SchedulePlan, anchor: dt.date, working: WorkingDays,
                           horizon: Horizon = Horizon(),
                           actual: Mapping[str, dt.date] | None = None) -> list[PatientVisit]:
    """Every visit of one patient, in date order.

    ``anchor`` is study day 1 (the first dose). ``actual`` maps occurrence ids (as
    :func:`resolve_occurrence` gives them) to the dates the visits really happened. Raises
    :class:`ActualDatesError` when recorded dates are out of range or contradict each other.
    """
    actual = actual or {}
    problems = _recorded_range(anchor, actual, plan)
    if problems:
        raise ActualDatesError(problems)
    most: dict[str, int] = {}
    for key in actual:
        vid, number = _split(key) if key not in plan.by_id else (key, 1)
        most[vid] = max(most.get(vid, 0), number)
    out: list[PatientVisit] = []
    eot_visit = plan.eot_visit
    eot_recorded = None
    if eot_visit is not None and eot_visit.key(1) in actual:
        eot_recorded = actual[eot_visit.key(1)] - eot_visit.encounter.day * DAY
    end = _cycles(plan, anchor, working, horizon, actual, eot_recorded, most, out, problems)
    eot = eot_recorded if eot_recorded is not None else end
    follow_up_end = eot + plan.follow_up_days * DAY

    for visit in plan.study_visits:  # a fixed calendar from study day 1, each its own chain
        first = anchor + day_offset(visit.encounter.day) * DAY
        _place([_Draft(visit, k, day, PLANNED, actual.get(visit.key(k))) for k, day in
                _occurrences(visit, first, eot, follow_up_end, most.get(visit.id, 0))],
               working, out)
    for visit in plan.cycle_visits:  # rare: cycle-anchored, every N days from cycle 1
        repeat = visit.encounter.repeat
        if repeat and repeat.every_days:
            first = anchor + day_offset(visit.encounter.day) * DAY
            _place([_Draft(visit, k, day, PLANNED if k == 1 else PROJECTED,
                           actual.get(visit.key(k))) for k, day in
                    _occurrences(visit, first, eot, follow_up_end, most.get(visit.id, 0))],
                   working, out)

    status = PLANNED if eot_recorded is not None else PROJECTED  # follow-up: from the EOT date
    chain = []
    for visit in plan.eot_visits:
        first = eot + visit.encounter.day * DAY
        for k, day in _occurrences(visit, first, eot, follow_up_end, most.get(visit.id, 0),
                                   inclusive=True):
            recorded = actual.get(visit.key(k))
            if recorded is not None and recorded < eot:
                problems.append((visit.key(k), f"date {recorded.isoformat()} is before the end "
                                               f"of treatment ({eot.isoformat()})"))
            chain.append(_Draft(visit, k, day, status, recorded))
    chain.sort(key=lambda d: (d.nominal, d.visit.order, d.number))
    _place(chain, working, out)
    if problems:
        raise ActualDatesError(problems)
    out.sort(key=_order)
    return out


def _cycles(plan: SchedulePlan, anchor: dt.date, working: WorkingDays, horizon: Horizon,
            actual: Mapping[str, dt.date], eot_recorded: dt.date | None, most: dict[str, int],
            out: list[PatientVisit], problems: list[tuple[str, str]]) -> dt.date:
    """Place the cycle visits, one chain across all cycles; return the day the cycle after
    the last would start (the projected end of treatment)."""
    length = plan.cycle_length * DAY
    day1 = plan.day1_visit
    every_cycle = [v for v in plan.cycle_visits
                   if v.encounter.repeat is None or v.encounter.repeat.every_cycle]
    last_recorded = max((most.get(v.id, 0) for v in every_cycle if v.repeating), default=0)
    cycles = horizon.cycles or plan.default_cycles
    start, known, k = anchor, True, 1
    previous_start: dt.date | None = None
    previous: dt.date | None = None
    while True:
        planned_start = start
        recorded_day1 = actual.get(day1.key(k)) if day1 is not None and actual else None
        if recorded_day1 is not None:
            if previous_start is not None and recorded_day1 <= previous_start:
                problems.append((day1.key(k) if day1 else "", f"cycle {k} cannot start on "
                                 f"{recorded_day1.isoformat()}: cycle {k - 1} started on "
                                 f"{previous_start.isoformat()}"))
            start, known = recorded_day1, True
        if k > last_recorded and k > 1 and (
                start >= eot_recorded if eot_recorded is not None else
                start > horizon.until if horizon.until is not None else k > cycles):
            return start
        if k > MAX_CYCLES:
            raise ProtocolgenError(f"the horizon covers more than {MAX_CYCLES} cycles; "
                                   "give fewer --cycles or an earlier --until")
        next_day1 = actual.get(day1.key(k + 1)) if day1 is not None and actual else None
        status = PLANNED if known else PROJECTED
        drafts = []
        for visit in every_cycle:
            repeat = visit.encounter.repeat
            if (repeat is None and k > 1) or (repeat is not None and repeat.max and k > repeat.max):
                continue
            recorded = actual.get(visit.key(k)) if actual else None
            nominal = start + visit.offset
            if recorded is not None and eot_recorded is not None and recorded > eot_recorded:
                problems.append((visit.key(k), f"date {recorded.isoformat()} is after the end "
                                               f"of treatment ({eot_recorded.isoformat()})"))
            elif recorded is not None and visit.encounter.day >= 1 and recorded < start:
                problems.append((visit.key(k), f"date {recorded.isoformat()} is before cycle "
                                               f"{k}'s day 1 ({start.isoformat()})"))
            if visit is day1:  # its window is where the cycle was due: a delay shows
                nominal = planned_start + visit.offset
            drafts.append(_Draft(visit, k, nominal, status, recorded))
        head = next((d for d in drafts if d.visit is day1), None)
        if head is not None and head.fixed is None:  # day 1 moves first; its cycle follows it
            head.fixed, head.note, head.flagged = _nearest([head], working, previous,
                                                           eot_recorded)
            shift = head.fixed - head.nominal
            for d in drafts:
                if d is not head:
                    d.nominal += shift
            start += shift
        # Visits not done by the time the next cycle (or the end of treatment) came: dropped.
        end = min((d for d in (next_day1, eot_recorded) if d is not None), default=None)
        if end is not None:
            drafts = [d for d in drafts if d.recorded or d is head or d.nominal < end]
        drafts.sort(key=lambda d: (d.nominal, d.visit.order))
        limit = min(d for d in (next_day1, eot_recorded, start + length) if d is not None)
        previous = _place(drafts, working, out, previous, limit)
        done = [d.fixed for d in drafts if d.recorded and d.fixed is not None]
        previous_start, start, known, k = start, start + length, False, k + 1
        if done and max(done) >= start:
            start = max(done) + DAY  # a cycle starts after the last visit done in the previous


def _order(v: PatientVisit) -> tuple[dt.date, int, int]:
    return v.target, v.visit.order, v.number


def weekday_set(names: tuple[str, ...]) -> frozenset[int]:
    """``("mon", "tue")`` → ``{0, 1}``."""
    return frozenset(WEEKDAYS.index(n) for n in names)
