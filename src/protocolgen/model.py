"""The study model: frozen dataclasses named with CDISC USDM vocabulary.

Built from validated data only (``build_study``); a ``TBD`` value stays the text
``"TBD"`` so that renderers can show it as such.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

Number = int | float | str  # str only for "TBD"


@dataclass(frozen=True)
class Sponsor:
    name: str
    address: str = ""
    contact: str = ""


@dataclass(frozen=True)
class RegistryId:
    registry: str
    id: str


@dataclass(frozen=True)
class StudyIdentification:
    protocol_number: str
    full_title: str
    short_title: str
    phase: str
    indication: str
    sponsor: Sponsor
    acronym: str = ""
    population: str = ""
    principal_investigator: dict[str, str] = field(default_factory=dict)
    registry_ids: tuple[RegistryId, ...] = ()
    confidentiality: str = ""


@dataclass(frozen=True)
class StudyVersion:
    number: str
    date: dt.date
    status: str


@dataclass(frozen=True)
class StudyAmendment:
    version: str
    date: dt.date
    summary: str
    rationale: str
    substantial: bool
    sections: tuple[str, ...] = ()
    author: str = ""
    impact_safety: bool | None = None
    impact_data: bool | None = None


@dataclass(frozen=True)
class Endpoint:
    id: str
    name: str
    definition: str
    timeframe: str = ""


@dataclass(frozen=True)
class IntercurrentEvent:
    event: str
    strategy: str


@dataclass(frozen=True)
class Estimand:
    population: str = ""
    treatment: str = ""
    variable: str = ""
    intercurrent_events: tuple[IntercurrentEvent, ...] = ()
    summary_measure: str = ""


@dataclass(frozen=True)
class Objective:
    id: str
    level: str
    text: str
    endpoint_ids: tuple[str, ...]
    estimand: Estimand | None = None


@dataclass(frozen=True)
class StudyArm:
    id: str
    name: str
    type: str
    description: str
    ratio: int
    code: int | str
    intervention_ids: tuple[str, ...]


@dataclass(frozen=True)
class StudyEpoch:
    id: str
    name: str
    description: str = ""


@dataclass(frozen=True)
class SampleSize:
    planned: int | str
    justification: str
    assumptions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StudyDesign:
    type: str
    blinding: str
    arms: tuple[StudyArm, ...]
    epochs: tuple[StudyEpoch, ...]
    sample_size: SampleSize
    control: str = ""
    description: str = ""
    setting: str = ""
    duration: dict[str, str] = field(default_factory=dict)
    end_of_trial: str = ""
    stopping_rules: str = ""

    @property
    def randomized(self) -> bool:
        return self.type.startswith("randomized") or self.type == "factorial"


@dataclass(frozen=True)
class FactorLevel:
    id: str
    label: str
    code: int | str


@dataclass(frozen=True)
class StratificationFactor:
    id: str
    name: str
    field: str
    levels: tuple[FactorLevel, ...]


@dataclass(frozen=True)
class Randomization:
    method: str
    block_sizes: tuple[int, ...]
    block_sizes_concealed: bool
    by_site: bool
    surplus: float
    stratification_factors: tuple[StratificationFactor, ...] = ()


@dataclass(frozen=True)
class EligibilityCriterion:
    id: str
    category: str  # "inclusion" or "exclusion"
    text: str
    check: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DoseLevel:
    level: int
    amount: Number
    frequency: str


@dataclass(frozen=True)
class StudyIntervention:
    id: str
    name: str
    type: str
    route: str
    dose_amount: Number
    dose_unit: str
    frequency: str
    dose_levels: tuple[DoseLevel, ...]
    drug_class: str = ""
    formulation: str = ""
    days: tuple[int, ...] = ()
    continuous: bool = False
    cycle_length_days: int | str | None = None
    premedication: tuple[str, ...] = ()
    investigational: bool = True

    @property
    def dose_basis(self) -> str:
        """flat, body surface area or body weight."""
        return {"mg/m2": "body surface area", "mg/kg": "body weight",
                "ug/kg": "body weight"}.get(self.dose_unit, "flat")


@dataclass(frozen=True)
class VisitWindow:
    before: int
    after: int


@dataclass(frozen=True)
class RepeatRule:
    every_cycle: bool = False
    every_days: int | None = None
    until: str = ""
    max: int | None = None


@dataclass(frozen=True)
class Encounter:
    """A planned visit; ``day`` counts from ``anchor`` with no day 0."""

    id: str
    label: str
    epoch_id: str
    anchor: str
    day: int
    window: VisitWindow
    repeat: RepeatRule | None = None
    arm_ids: tuple[str, ...] = ()  # empty: every arm

    def applies_to(self, arm_id: str) -> bool:
        return not self.arm_ids or arm_id in self.arm_ids


@dataclass(frozen=True)
class Activity:
    id: str
    name: str
    category: str
    description: str = ""


@dataclass(frozen=True)
class ScheduleFootnote:
    id: str
    text: str
    activity_ids: tuple[str, ...] = ()
    visit_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScheduleOfActivities:
    cycle_length_days: int
    default_cycles: int
    encounters: tuple[Encounter, ...]
    activities: tuple[Activity, ...]
    matrix: dict[str, tuple[str, ...]]  # activity id -> visit ids
    footnotes: tuple[ScheduleFootnote, ...] = ()
    treatment_until: str = ""
    follow_up_days: int = 365  # follow-up projected in a patient calendar after treatment

    def is_scheduled(self, activity_id: str, visit_id: str) -> bool:
        return visit_id in self.matrix.get(activity_id, ())


@dataclass(frozen=True)
class CtcaeTermEntry:
    term: str
    meddra_code: int
    soc: str
    grades: dict[int, str]


@dataclass(frozen=True)
class DoseModificationRule:
    id: str
    intervention_id: str
    term: str
    grades: tuple[int, ...]
    action: str
    occurrence: int | None = None
    hold_until_grade: int | None = None
    reduce_levels: int = 0
    restart: str = ""


@dataclass(frozen=True)
class ReportingTimeline:
    event: str
    timeline: str
    recipient: str


@dataclass(frozen=True)
class Safety:
    ctcae_version: str
    reporting: tuple[ReportingTimeline, ...]
    terms: tuple[CtcaeTermEntry, ...]
    dose_modifications: tuple[DoseModificationRule, ...]
    collection_period: str = ""


@dataclass(frozen=True)
class TumourAssessment:
    criteria: str
    modality: str
    every_weeks: int | str
    visit_id: str
    confirmation: str = ""


@dataclass(frozen=True)
class AnalysisSet:
    id: str
    name: str
    definition: str


@dataclass(frozen=True)
class Statistics:
    analysis_sets: tuple[AnalysisSet, ...]
    primary_analysis: str
    interim_analyses: str
    secondary_analyses: str = ""
    missing_data: str = ""
    multiplicity: str = ""


@dataclass(frozen=True)
class StudySite:
    id: str
    name: str
    country: str
    timezone: str
    working_days: tuple[str, ...]
    subdivision: str = ""
    dag: int | None = None


@dataclass(frozen=True)
class ConsentRisk:
    id: str
    intervention_id: str
    text: str
    frequency: str  # very-common … not-known, or TBD
    term: str = ""


@dataclass(frozen=True)
class ConsentForm:
    """What the consent needs beyond the rest of the study (``locales``: translations)."""

    version: str = "1.0"
    max_grade: float = 8.0
    elements: dict[str, str] = field(default_factory=dict)
    risks: tuple[ConsentRisk, ...] = ()
    locales: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Study:
    """A whole study definition."""

    identification: StudyIdentification
    version: StudyVersion
    amendments: tuple[StudyAmendment, ...]
    objectives: tuple[Objective, ...]
    endpoints: tuple[Endpoint, ...]
    design: StudyDesign
    randomization: Randomization | None
    eligibility: tuple[EligibilityCriterion, ...]
    interventions: tuple[StudyIntervention, ...]
    schedule: ScheduleOfActivities
    safety: Safety
    tumour_assessment: TumourAssessment
    statistics: Statistics
    sites: tuple[StudySite, ...]
    background: str = ""
    rationale: str = ""
    benefit_risk: str = ""
    discontinuation: dict[str, str] = field(default_factory=dict)
    concomitant_therapy: str = ""
    oversight: dict[str, str] = field(default_factory=dict)
    consent: ConsentForm = field(default_factory=ConsentForm)
    glossary: tuple[tuple[str, str], ...] = ()
    references: tuple[tuple[str, str], ...] = ()

    @property
    def inclusion(self) -> tuple[EligibilityCriterion, ...]:
        return tuple(c for c in self.eligibility if c.category == "inclusion")

    @property
    def exclusion(self) -> tuple[EligibilityCriterion, ...]:
        return tuple(c for c in self.eligibility if c.category == "exclusion")


def _estimand(data: dict[str, Any] | None) -> Estimand | None:
    if data is None:
        return None
    events = tuple(IntercurrentEvent(e["event"], e["strategy"])
                   for e in data.get("intercurrent_events", []))
    return Estimand(data.get("population", ""), data.get("treatment", ""),
                    data.get("variable", ""), events, data.get("summary_measure", ""))


def _intervention(d: dict[str, Any]) -> StudyIntervention:
    levels = tuple(DoseLevel(lv["level"], lv["amount"], lv.get("frequency", d["frequency"]))
                   for lv in d.get("dose_levels", []))
    return StudyIntervention(
        d["id"], d["name"], d["type"], d["route"], d["dose"]["amount"], d["dose"]["unit"],
        d["frequency"], levels, d.get("class", ""), d.get("formulation", ""),
        tuple(d.get("days", [])), d["continuous"], d.get("cycle_length_days"),
        tuple(d.get("premedication", [])), d["investigational"])


def _encounter(d: dict[str, Any]) -> Encounter:
    repeat = d.get("repeat")
    return Encounter(
        d["id"], d["label"], d["epoch"], d["anchor"], d["day"],
        VisitWindow(d["window"]["before"], d["window"]["after"]),
        RepeatRule(repeat.get("every_cycle", False), repeat.get("every_days"),
                   repeat.get("until", ""), repeat.get("max")) if repeat else None,
        tuple(d.get("arms", [])))


def _schedule(d: dict[str, Any]) -> ScheduleOfActivities:
    return ScheduleOfActivities(
        d["cycle_length_days"], d["default_cycles"],
        tuple(_encounter(v) for v in d["visits"]),
        tuple(Activity(a["id"], a["name"], a["category"], a.get("description", ""))
              for a in d["activities"]),
        {k: tuple(v) for k, v in d["matrix"].items()},
        tuple(ScheduleFootnote(f["id"], f["text"], tuple(f.get("activities", [])),
                               tuple(f.get("visits", []))) for f in d.get("footnotes", [])),
        d.get("treatment_until", ""), d.get("follow_up_days", 365))


def _safety(d: dict[str, Any]) -> Safety:
    return Safety(
        d["ctcae_version"],
        tuple(ReportingTimeline(r["event"], r["timeline"], r["recipient"]) for r in d["reporting"]),
        tuple(CtcaeTermEntry(t["term"], t["meddra_code"], t["soc"],
                             dict(sorted(t["grades"].items())))
              for t in d["terms"]),
        tuple(DoseModificationRule(
            r["id"], r["intervention"], r["term"], tuple(r["grades"]), r["action"],
            r.get("occurrence"), r.get("hold_until_grade"),
            r.get("reduce_levels", 1) if r["action"] == "reduce" else 0, r.get("restart", ""))
            for r in d.get("dose_modifications", [])),
        d.get("collection_period", ""))


def _design(d: dict[str, Any]) -> StudyDesign:
    ss = d["sample_size"]
    return StudyDesign(
        d["type"], d["blinding"],
        tuple(StudyArm(a["id"], a["name"], a["type"], a["description"], a["ratio"],
                       a.get("code", i + 1), tuple(a["interventions"]))
              for i, a in enumerate(d["arms"])),
        tuple(StudyEpoch(e["id"], e["name"], e.get("description", "")) for e in d["epochs"]),
        SampleSize(ss["planned"], ss["justification"], dict(ss.get("assumptions", {}))),
        d.get("control", ""), d.get("description", ""), d.get("setting", ""),
        dict(d.get("duration", {})), d.get("end_of_trial", ""), d.get("stopping_rules", ""))


def _randomization(d: dict[str, Any] | None) -> Randomization | None:
    if d is None:
        return None
    factors = tuple(
        StratificationFactor(f["id"], f["name"], f.get("field", f["id"].lower()),
                             tuple(FactorLevel(lv["id"], lv["label"], lv.get("code", j + 1))
                                   for j, lv in enumerate(f["levels"])))
        for f in d.get("stratification_factors", []))
    return Randomization(d["method"], tuple(d.get("block_sizes", [])),
                         d["block_sizes_concealed"], d["by_site"], d["surplus"], factors)


def _consent(d: dict[str, Any], protocol_version: str) -> ConsentForm:
    return ConsentForm(
        d.get("version", protocol_version), float(d.get("max_grade", 8)),
        dict(d.get("elements", {})),
        tuple(ConsentRisk(r["id"], r["intervention"], r["text"], r["frequency"],
                          r.get("term", "")) for r in d.get("risks", [])),
        {loc: {k: dict(v) for k, v in parts.items()}
         for loc, parts in d.get("locales", {}).items()})


def build_study(d: dict[str, Any]) -> Study:
    """Build the model from schema-valid, cross-checked, normalized data."""
    ident = d["identification"]
    sponsor = ident["sponsor"]
    return Study(
        identification=StudyIdentification(
            ident["protocol_number"], ident["full_title"], ident["short_title"], ident["phase"],
            ident["indication"],
            Sponsor(sponsor["name"], sponsor.get("address", ""), sponsor.get("contact", "")),
            ident.get("acronym", ""), ident.get("population", ""),
            dict(ident.get("principal_investigator", {})),
            tuple(RegistryId(r["registry"], r["id"]) for r in ident.get("registry_ids", [])),
            ident.get("confidentiality", "")),
        version=StudyVersion(d["version"]["number"], d["version"]["date"], d["version"]["status"]),
        amendments=tuple(StudyAmendment(
            a["version"], a["date"], a["summary"], a["rationale"], a["substantial"],
            tuple(a.get("sections", [])), a.get("author", ""), a.get("impact_safety"),
            a.get("impact_data")) for a in d.get("amendments", [])),
        objectives=tuple(Objective(o["id"], o["level"], o["text"], tuple(o["endpoints"]),
                                   _estimand(o.get("estimand"))) for o in d["objectives"]),
        endpoints=tuple(Endpoint(e["id"], e["name"], e["definition"], e.get("timeframe", ""))
                        for e in d["endpoints"]),
        design=_design(d["design"]),
        randomization=_randomization(d.get("randomization")),
        eligibility=tuple(
            EligibilityCriterion(c["id"], kind, c["text"], dict(c.get("check", {})))
            for kind in ("inclusion", "exclusion") for c in d["eligibility"][kind]),
        interventions=tuple(_intervention(i) for i in d["interventions"]),
        schedule=_schedule(d["schedule"]),
        safety=_safety(d["safety"]),
        tumour_assessment=TumourAssessment(
            d["tumour_assessment"]["criteria"], d["tumour_assessment"]["modality"],
            d["tumour_assessment"]["every_weeks"], d["tumour_assessment"]["visit"],
            d["tumour_assessment"].get("confirmation", "")),
        statistics=Statistics(
            tuple(AnalysisSet(a["id"], a["name"], a["definition"])
                  for a in d["statistics"]["analysis_sets"]),
            d["statistics"]["primary_analysis"], d["statistics"]["interim_analyses"],
            d["statistics"].get("secondary_analyses", ""), d["statistics"].get("missing_data", ""),
            d["statistics"].get("multiplicity", "")),
        sites=tuple(StudySite(s["id"], s["name"], s["country"], s["timezone"],
                              tuple(s["working_days"]), s.get("subdivision", ""), s.get("dag"))
                    for s in d["sites"]),
        background=d.get("background", ""),
        rationale=d.get("rationale", ""),
        benefit_risk=d.get("benefit_risk", ""),
        discontinuation=dict(d.get("discontinuation", {})),
        concomitant_therapy=d.get("concomitant_therapy", ""),
        oversight=dict(d.get("oversight", {})),
        consent=_consent(d.get("consent", {}), d["version"]["number"]),
        glossary=tuple((g["term"], g["definition"]) for g in d.get("glossary", [])),
        references=tuple((r["id"], r["text"]) for r in d.get("references", [])),
    )
