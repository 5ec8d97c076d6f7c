"""The protocol document's content, computed from the model (no templates here).

``build_protocol_context`` returns everything the M11 template prints, already derived:
the schedule-of-activities matrix, dose-modification tables, the sample-size sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model import DoseModificationRule, Encounter, Study, StudyIntervention
from .schedule import describe_timing, describe_timing_short, describe_window

# The visits a portrait page holds; wider schedules go on landscape pages.
PORTRAIT_MAX_VISITS = 8
NO_CONTENT = "Not specified in the study definition."


@dataclass(frozen=True)
class SoaColumn:
    encounter: Encounter
    footnotes: tuple[str, ...]
    timing: str
    window: str
    timing_long: str
    arm_names: tuple[str, ...]  # empty: every arm


@dataclass(frozen=True)
class SoaRow:
    name: str
    footnotes: tuple[str, ...]
    cells: tuple[bool, ...]


@dataclass(frozen=True)
class ScheduleTable:
    columns: tuple[SoaColumn, ...]
    rows: tuple[SoaRow, ...]
    footnotes: tuple[tuple[str, str], ...]
    landscape: bool


def build_schedule_table(study: Study) -> ScheduleTable:
    """Visits as columns, activities as rows, footnote letters, a window row."""
    sched = study.schedule
    by_visit: dict[str, list[str]] = {}
    by_activity: dict[str, list[str]] = {}
    for note in sched.footnotes:
        for vid in note.visit_ids:
            by_visit.setdefault(vid, []).append(note.id)
        for aid in note.activity_ids:
            by_activity.setdefault(aid, []).append(note.id)
    arm_names = {a.id: a.name for a in study.design.arms}
    columns = tuple(SoaColumn(e, tuple(by_visit.get(e.id, ())), describe_timing_short(e),
                              describe_window(e), describe_timing(e, sched.cycle_length_days),
                              tuple(arm_names[a] for a in e.arm_ids))
                    for e in sched.encounters)
    rows = tuple(SoaRow(a.name, tuple(by_activity.get(a.id, ())),
                        tuple(sched.is_scheduled(a.id, e.id) for e in sched.encounters))
                 for a in sched.activities)
    return ScheduleTable(columns, rows, tuple((f.id, f.text) for f in sched.footnotes),
                         len(columns) > PORTRAIT_MAX_VISITS)


def _grades(grades: tuple[int, ...]) -> str:
    ordered = sorted(grades)
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}–{ordered[-1]}"
    return ", ".join(str(g) for g in ordered)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def describe_action(rule: DoseModificationRule, drug: StudyIntervention) -> str:
    """The rule's action in protocol words."""
    until = ("resolution" if rule.hold_until_grade == 0
             else f"grade ≤ {rule.hold_until_grade}")
    if rule.action == "continue":
        text = f"Continue {drug.name} at the same dose."
    elif rule.action == "hold":
        text = f"Withhold {drug.name} until {until}, then resume at the same dose."
    elif rule.action == "reduce":
        levels = ("one dose level" if rule.reduce_levels == 1
                  else f"{rule.reduce_levels} dose levels")
        text = f"Withhold {drug.name} until {until}, then resume {levels} lower."
    else:
        text = f"Discontinue {drug.name} permanently."
    return text + (f" {rule.restart.rstrip('.')}." if rule.restart else "")


@dataclass(frozen=True)
class DoseModRow:
    term: str
    grades: str
    occurrence: str
    action: str


@dataclass(frozen=True)
class DrugModifications:
    drug: StudyIntervention
    rows: tuple[DoseModRow, ...]
    terms: tuple[Any, ...]  # CtcaeTermEntry used by the rows, for grade definitions


def build_dose_modifications(study: Study) -> tuple[DrugModifications, ...]:
    """One table per intervention: term × grade → action, plus the CTCAE grade texts."""
    terms = {t.term: t for t in study.safety.terms}
    out = []
    for drug in study.interventions:
        rules = [r for r in study.safety.dose_modifications if r.intervention_id == drug.id]
        rows = tuple(DoseModRow(r.term, _grades(r.grades),
                                _ordinal(r.occurrence) if r.occurrence else "Any",
                                describe_action(r, drug)) for r in rules)
        used = tuple(terms[name] for name in dict.fromkeys(r.term for r in rules))
        out.append(DrugModifications(drug, rows, used))
    return tuple(out)


def sample_size_statement(study: Study) -> str:
    """The planned size and each assumption, stated from the YAML (TBD where unknown)."""
    ss = study.design.sample_size
    a = ss.assumptions
    parts = []
    names = [("method", "method"), ("alpha", "type I error (alpha)"), ("power", "power"),
             ("null_value", "value under the null hypothesis"),
             ("alternative_value", "value under the alternative"),
             ("hazard_ratio", "target hazard ratio"), ("dropout_rate", "expected dropout")]
    for key, label in names:
        if key in a:
            value = a[key]
            if key == "alpha" and "sidedness" in a and value != "TBD":
                value = f"{value} ({a['sidedness']})"
            parts.append(f"{label}: {value}")
    planned = ("is to be determined (TBD)" if ss.planned == "TBD"
               else f"is {ss.planned} participants")
    sentence = f"The planned sample size {planned}."
    if parts:
        sentence += " Assumptions: " + "; ".join(parts) + "."
    return sentence


def build_protocol_context(study: Study, *, figure: str, allocation_sha256: str | None = None,
                           changes: tuple[Any, ...] | None = None) -> dict[str, Any]:
    """Everything the protocol template needs; ``figure`` is the schema image reference and
    ``changes`` the comparison with the previous version, when the study is an amendment."""
    objectives = {level: [o for o in study.objectives if o.level == level]
                  for level in ("primary", "secondary", "exploratory")}
    endpoints = {e.id: e for e in study.endpoints}
    amendment = study.amendments[-1] if study.amendments and \
        study.amendments[-1].version == study.version.number else None
    return {
        "s": study,
        "ident": study.identification,
        "version": study.version,
        "amendment": amendment,
        "prior_amendments": [a for a in study.amendments if a is not amendment],
        "objectives_by_level": objectives,
        "endpoints_by_id": endpoints,
        "arms_by_id": {a.id: a for a in study.design.arms},
        "drugs_by_id": {i.id: i for i in study.interventions},
        "epochs_by_id": {e.id: e for e in study.design.epochs},
        "soa": build_schedule_table(study),
        "dose_modifications": build_dose_modifications(study),
        "sample_size_statement": sample_size_statement(study),
        "figure": figure,
        "allocation_sha256": allocation_sha256,
        "changes": None if changes is None else [c for c in changes if not c.consent],
        "no_content": NO_CONTENT,
        "lab_activities": [a for a in study.schedule.activities
                           if a.category in ("laboratory", "blood-draw")],
        "safety_activities": [a for a in study.schedule.activities
                              if a.category in ("vital-signs", "laboratory", "blood-draw", "ecg",
                                                "examination", "safety")],
    }
