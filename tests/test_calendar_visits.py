"""The pure visit-date core: day numbering, re-anchoring, working days, and properties over
anchor dates, cycle delays and holiday calendars."""

from __future__ import annotations

import datetime as dt
from functools import cache
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocolgen.model import Study
from protocolgen.study import load_study
from protocolgen.visits import (
    ACTUAL,
    ActualDatesError,
    Horizon,
    PatientVisit,
    SchedulePlan,
    WorkingDays,
    compute_patient_visits,
    plan_schedule,
    resolve_occurrence,
)

from .conftest import RESILIENT, SEED

D = dt.date
DAY = dt.timedelta(days=1)
EVERY_DAY = WorkingDays(frozenset(range(7)))
WEEKDAYS = WorkingDays()


@cache
def study(name: str) -> Study:
    return load_study(SEED if name == "seed" else RESILIENT).study


@cache
def plan(name: str, arm: str = "") -> SchedulePlan:
    s = study(name)
    return plan_schedule(s, arm or s.design.arms[0].id)


def by_key(visits: list[PatientVisit]) -> dict[str, PatientVisit]:
    return {v.key: v for v in visits}


# --- day numbering and anchors ------------------------------------------------------------

def test_seed_days_count_from_study_day_1_without_day_0() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY))
    assert (v["SCR"].target, v["SCR"].earliest, v["SCR"].latest) == (
        D(2026, 2, 16), D(2026, 2, 2), D(2026, 3, 1))  # day -14, window day -28 to -1
    assert v["D1.1"].target == D(2026, 3, 2)  # day 1 is the anchor date
    assert v["D15.1"].target == D(2026, 3, 16)  # day 15 is 14 days later
    assert v["D1.2"].target == D(2026, 3, 30)  # a 28-day cycle
    assert v["TA.1"].target == D(2026, 4, 13)  # study day 43
    assert v["TA.2"].target == D(2026, 5, 25)  # every 42 days
    assert [k for k in v if k.startswith("D1.")] == [f"D1.{n}" for n in range(1, 7)]
    assert v["EOT"].target == D(2026, 3, 2) + 6 * 28 * DAY  # after the default 6 cycles
    assert v["SFU"].target == v["EOT"].target + 30 * DAY  # 0-based after EOT
    assert v["OSFU.1"].target == v["EOT"].target + 90 * DAY
    assert v["OSFU.4"].target == v["EOT"].target + 360 * DAY
    assert "OSFU.5" not in v  # follow_up_days: 365
    assert v["D1.3"].label == "C3D1" and v["OSFU.2"].label == "Survival follow-up 2"


def test_statuses_planned_projected() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY))
    assert v["SCR"].status == v["D1.1"].status == v["D15.1"].status == v["TA.3"].status \
        == "planned"
    assert v["D1.2"].status == v["EOT"].status == v["OSFU.1"].status == "projected"


def test_tumour_assessments_stop_at_the_end_of_treatment() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY, Horizon(cycles=2)))
    assert v["EOT"].target == D(2026, 3, 2) + 56 * DAY
    assert "TA.1" in v and "TA.2" not in v  # day 85 is after EOT (day 57)


def test_horizon_until_a_date() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY,
                                      Horizon(until=D(2026, 5, 1))))
    assert [k for k in v if k.startswith("D1.")] == ["D1.1", "D1.2", "D1.3"]  # 3/2, 3/30, 4/27
    assert v["EOT"].target == D(2026, 5, 25)


def test_arm_specific_visits() -> None:
    iri = {v.visit.id for v in compute_patient_visits(plan("resilient", "ARM-IRI"),
                                                       D(2026, 3, 2), EVERY_DAY)}
    topo = {v.visit.id for v in compute_patient_visits(plan("resilient", "ARM-TOPO"),
                                                        D(2026, 3, 2), EVERY_DAY)}
    assert {"D15", "D29"} <= iri and not iri & {"D2", "D22"}
    assert {"D2", "D5", "D22", "D26"} <= topo and not topo & {"D15", "D29"}


def test_activities_carry_footnote_letters() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY))
    assert "Haematology [d]" in v["D1.1"].visit.content.activities
    assert v["TA.1"].visit.content.letters == ("e",)
    assert ("e", "Every 6 weeks from study day 1 regardless of treatment delays, until disease "
                 "progression.") in v["TA.1"].visit.content.footnotes
    # arm-only footnotes attached to activity *and* visits apply only at those visits
    r = by_key(compute_patient_visits(plan("resilient", "ARM-IRI"), D(2026, 3, 2), EVERY_DAY))
    assert "Liposomal irinotecan infusion [f]" in r["D15.1"].visit.content.activities
    assert "Liposomal irinotecan infusion" in r["D1.1"].visit.content.activities


# --- re-anchoring on recorded dates -------------------------------------------------------

def test_a_delayed_cycle_moves_itself_and_later_cycles_not_tumour_assessments() -> None:
    base = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY))
    moved = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY,
                                          actual={"D1.3": D(2026, 5, 4)}))
    assert moved["D1.3"].status == ACTUAL and moved["D1.3"].target == D(2026, 5, 4)
    assert moved["D1.3"].flagged and moved["D1.3"].note == "done 4 day(s) after the window"
    assert moved["D15.3"].target == D(2026, 5, 18) and moved["D15.3"].status == "planned"
    assert moved["D1.4"].target == D(2026, 6, 1) and moved["D1.4"].status == "projected"
    assert moved["D1.2"].target == base["D1.2"].target  # earlier cycles stay
    assert [moved[f"TA.{n}"].target for n in (1, 2, 3)] == \
        [base[f"TA.{n}"].target for n in (1, 2, 3)]
    assert moved["EOT"].target == base["EOT"].target + 7 * DAY


def test_recorded_end_of_treatment_anchors_follow_up_and_ends_cycles() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY,
                                      actual={"EOT": D(2026, 5, 6)}))
    assert v["EOT"].status == ACTUAL
    assert v["SFU"].target == D(2026, 6, 5) and v["SFU"].status == "planned"
    assert [k for k in v if k.startswith("D1.")] == ["D1.1", "D1.2", "D1.3"]
    assert "D15.3" not in v  # 2026-05-11 would be after the end of treatment
    assert "TA.1" in v and "TA.2" not in v  # 2026-05-25 is after it


def test_a_visit_done_late_pushes_the_next_cycle() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY,
                                      actual={"D15.1": D(2026, 4, 2)}))
    assert v["D1.2"].nominal == D(2026, 4, 3)  # not before the last visit done in cycle 1


def test_next_cycle_started_early_drops_the_rest_of_the_previous_cycle() -> None:
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY,
                                      actual={"D1.2": D(2026, 3, 14)}))
    assert "D15.1" not in v and v["D1.2"].flagged


@pytest.mark.parametrize(("actual", "needle"), [
    ({"TA.1": D(1926, 4, 13)}, "outside any sensible range"),
    ({"D15.1": D(2026, 2, 1)}, "before study day 1"),
    ({"D1.2": D(2026, 4, 1), "D1.3": D(2026, 3, 31)}, "cycle 3 cannot start on 2026-03-31"),
    ({"D15.2": D(2026, 3, 10), "D1.2": D(2026, 3, 30)}, "before cycle 2's day 1"),
    ({"EOT": D(2026, 4, 1), "D1.3": D(2026, 4, 27)}, "after the end of treatment"),
    ({"EOT": D(2026, 4, 1), "SFU": D(2026, 3, 30)}, "before the end of treatment"),
])
def test_contradicting_dates_are_errors(actual: dict[str, dt.date], needle: str) -> None:
    with pytest.raises(ActualDatesError) as info:
        compute_patient_visits(plan("seed"), D(2026, 3, 2), EVERY_DAY, actual=actual)
    assert needle in str(info.value)


@pytest.mark.parametrize(("text", "key", "message"), [
    ("SCR", "SCR", ""), ("D1.3", "D1.3", ""), ("C3D1", "D1.3", ""), ("c3d1", "D1.3", ""),
    ("Tumour  assessment 2", "TA.2", ""), ("End of treatment", "EOT", ""),
    ("D1", "", "repeats: give its occurrence, e.g. D1.3 or 'C3D1'"),
    ("D7.1", "", "unknown visit 'D7.1'"), ("SCR.2", "", "does not repeat; write SCR"),
    ("D1.0", "", "occurrences are numbered from 1"),
])
def test_resolve_occurrence(text: str, key: str, message: str) -> None:
    got_key, got_message = resolve_occurrence(plan("seed"), study("seed"), text)
    assert got_key == key and message in got_message


def test_resolve_occurrence_outside_the_arm() -> None:
    _, message = resolve_occurrence(plan("resilient", "ARM-TOPO"), study("resilient"), "D15.1")
    assert message == "visit 'D15' is not in the schedule of arm 'ARM-TOPO'"


# --- working days ------------------------------------------------------------------------

def test_weekend_and_holiday_moves_and_flags() -> None:
    holidays = {D(2026, 3, 16): "Test Day"}
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2),
                                      WorkingDays(frozenset(range(5)), holidays)))
    assert v["D15.1"].target == D(2026, 3, 17) and v["D15.1"].moved  # tie → the later day
    assert v["D15.1"].note == "moved from 2026-03-16 (Test Day)"
    topo = by_key(compute_patient_visits(plan("resilient", "ARM-TOPO"), D(2026, 3, 4), WEEKDAYS))
    assert topo["D4.1"].target == D(2026, 3, 7) and topo["D4.1"].flagged  # window 0: no move
    assert topo["D4.1"].note.startswith("not a working day (Saturday)")


def test_make_up_working_days() -> None:
    working = WorkingDays(frozenset(range(5)), {D(2026, 3, 16): "Holiday", D(2026, 3, 17): "H",
                                                D(2026, 3, 18): "H"},
                          frozenset({D(2026, 3, 14)}))
    v = by_key(compute_patient_visits(plan("seed"), D(2026, 3, 2), working))
    assert v["D15.1"].target == D(2026, 3, 14)
    assert v["D15.1"].note.endswith("to a weekend working day)")


# --- properties --------------------------------------------------------------------------

ANCHORS = st.dates(D(2024, 1, 1), D(2030, 12, 31))
DELAYS = st.lists(st.integers(0, 20), min_size=0, max_size=8)
ARMS = st.sampled_from([("seed", ""), ("resilient", "ARM-IRI"), ("resilient", "ARM-TOPO")])


@st.composite
def working_days(draw: st.DrawFn, anchor: dt.date) -> WorkingDays:
    weekdays = draw(st.sets(st.integers(0, 6), min_size=1, max_size=7))
    offsets = draw(st.sets(st.integers(-40, 700), max_size=60))
    return WorkingDays(frozenset(weekdays),
                       {anchor + k * DAY: f"Holiday {k}" for k in offsets if k})


def _recorded(name: str, arm: str, anchor: dt.date, delays: list[int]) -> dict[str, dt.date]:
    """Day-1 dates of cycles 2, 3, … each ``delay`` days after it was due."""
    length = study(name).schedule.cycle_length_days * DAY
    actual, start = {}, anchor
    for k, delay in enumerate(delays, 2):
        start = start + length + delay * DAY
        actual[f"D1.{k}"] = start
    return actual


def _chains(visits: list[PatientVisit]) -> list[list[PatientVisit]]:
    """The visits that keep their order: the cycle visits, the follow-up visits, and the
    occurrences of each study-day visit, each sorted by nominal date."""
    chains: dict[str, list[PatientVisit]] = {}
    for v in visits:
        anchor = v.visit.encounter.anchor
        chains.setdefault(v.visit.id if anchor == "study_day_1" else anchor, []).append(v)
    return [sorted(c, key=lambda v: (v.nominal, v.visit.order, v.number))
            for c in chains.values()]


FAST = settings(max_examples=60, deadline=None)


@FAST
@given(ARMS, ANCHORS, DELAYS, st.data())
def test_targets_stay_in_window_and_in_order(which: tuple[str, str], anchor: dt.date,
                                             delays: list[int], data: st.DataObject) -> None:
    working = data.draw(working_days(anchor))
    actual = _recorded(*which, anchor, delays)
    eot_after = data.draw(st.none() | st.integers(1, 200))  # sometimes treatment has ended
    if eot_after is not None:
        actual["EOT"] = max([anchor, *actual.values()]) + eot_after * DAY
    visits = compute_patient_visits(plan(*which), anchor, working, Horizon(cycles=8), actual)
    if eot_after is not None:
        eot = actual["EOT"]
        assert all(v.target < eot for v in visits if v.visit.encounter.anchor == "cycle_day_1"
                   and v.status != ACTUAL)
        assert all(v.nominal >= eot for v in visits
                   if v.visit.encounter.anchor == "end_of_treatment")
    for v in visits:
        if v.status != ACTUAL:
            assert v.earliest <= v.target <= v.latest, v
        assert v.moved == (v.target != v.nominal and v.status != ACTUAL)
    assert visits == sorted(visits, key=lambda v: (v.target, v.visit.order, v.number))
    for chain in _chains(visits):
        for a, b in pairwise(chain):
            if a.nominal < b.nominal and not b.flagged:
                assert a.target < b.target, (a, b)
    for chain in _chains(visits):
        cycles = [v.number for v in chain if v.visit.encounter.anchor == "cycle_day_1"]
        assert cycles == sorted(cycles)


@FAST
@given(ARMS, ANCHORS, DELAYS, st.data())
def test_tumour_assessments_never_move_with_cycle_delays(
        which: tuple[str, str], anchor: dt.date, delays: list[int],
        data: st.DataObject) -> None:
    working = data.draw(working_days(anchor))
    on_time = by_key(compute_patient_visits(plan(*which), anchor, working, Horizon(cycles=8)))
    delayed = by_key(compute_patient_visits(plan(*which), anchor, working, Horizon(cycles=8),
                                            _recorded(*which, anchor, delays)))
    for key, v in delayed.items():
        if v.visit.encounter.anchor == "study_day_1" and key in on_time:
            assert (v.target, v.earliest, v.latest) == (
                on_time[key].target, on_time[key].earliest, on_time[key].latest)


@FAST
@given(ARMS, ANCHORS, DELAYS, st.data())
def test_no_target_on_a_non_working_day_when_the_window_allows_another(
        which: tuple[str, str], anchor: dt.date, delays: list[int],
        data: st.DataObject) -> None:
    working = data.draw(working_days(anchor))
    visits = compute_patient_visits(plan(*which), anchor, working, Horizon(cycles=8),
                                    _recorded(*which, anchor, delays))
    for chain in _chains(visits):
        groups: list[list[PatientVisit]] = []
        for v in chain:
            if groups and groups[-1][0].nominal == v.nominal:
                groups[-1].append(v)
            else:
                groups.append([v])
        for i, group in enumerate(groups):
            for v in group:
                if v.status == ACTUAL or working.is_working(v.target):
                    continue
                assert v.flagged and v.target == v.nominal, v
                low = max(w.target for w in groups[i - 1]) if i else None
                nxt = groups[i + 1][0] if i + 1 < len(groups) else None
                high = (nxt.target if nxt.status == ACTUAL else nxt.nominal) if nxt else None
                day = v.earliest
                while day <= v.latest:  # no working day free between the neighbours
                    free = working.is_working(day) and (low is None or day > low) and \
                        (high is None or day < high)
                    window = min(w.latest for w in group) >= day >= max(w.earliest for w in group)
                    assert not (free and window), (v, day)
                    day += DAY


@FAST
@given(ANCHORS, st.sets(st.integers(0, 6), min_size=1), st.integers(1, 12))
def test_same_inputs_same_visits(anchor: dt.date, weekdays: set[int], cycles: int) -> None:
    working = WorkingDays(frozenset(weekdays))
    first = compute_patient_visits(plan("seed"), anchor, working, Horizon(cycles=cycles))
    assert first == compute_patient_visits(plan("seed"), anchor, working, Horizon(cycles=cycles))
    assert sum(v.visit.id == "D1" for v in first) == cycles
