"""The consent form's content, derived from the study (no templates, no wording here).

Numbers and structure only: how many visits and procedures, the chance of each arm, the
eligibility checks, the risks grouped by frequency. The words live in the locale's templates
(``templates/consent/<locale>/``), so adding a language needs templates and translations only.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .errors import ProtocolgenError
from .model import ConsentRisk, Encounter, Study, StudyArm, StudyIntervention
from .schedule import visit_kind

REQUIRED_ELEMENTS = ("purpose", "responsibilities", "benefits", "alternatives",
                     "injury_compensation", "payments", "voluntary", "records_access",
                     "confidentiality", "new_information", "contacts", "investigator_ends")
FREQUENCIES = ("very-common", "common", "uncommon", "rare", "very-rare", "not-known", "TBD")
# Activities whose counts the consent states.
COUNTED_CATEGORIES = ("blood-draw", "imaging", "ecg", "laboratory", "questionnaire")


@dataclass(frozen=True)
class ProcedureCount:
    """How often one kind of procedure (blood draw, scan, …) happens in one arm: a visit
    with several blood tests is one blood draw."""

    category: str
    activity_ids: tuple[str, ...]
    screening: int  # times during screening
    per_cycle: int  # times in each treatment cycle
    every_days: tuple[int, ...]  # repeating fixed-calendar intervals (e.g. every 42 days)
    at_end: int  # end-of-treatment and one-off follow-up visits
    follow_up_every_days: tuple[int, ...]


@dataclass(frozen=True)
class ArmSchedule:
    arm: StudyArm
    chance: Fraction
    visits_per_cycle: int
    cycle_days: tuple[int, ...]
    every_days: int | None  # even spacing of the cycle visits, if any
    procedures: tuple[ProcedureCount, ...]
    drugs: tuple[StudyIntervention, ...]


def _visits(study: Study, arm: StudyArm) -> list[Encounter]:
    return [e for e in study.schedule.encounters if e.applies_to(arm.id)]


def count_procedure(study: Study, arm: StudyArm, category: str) -> ProcedureCount:
    """Count the visits at which any activity of ``category`` happens, by kind of visit."""
    sched = study.schedule
    ids = tuple(a.id for a in sched.activities if a.category == category)
    done = [e for e in _visits(study, arm) if any(sched.is_scheduled(i, e.id) for i in ids)]
    kinds = [visit_kind(e) for e in done]
    return ProcedureCount(
        category, ids, kinds.count("screening"), kinds.count("cycle"),
        tuple(e.repeat.every_days for e in done
              if visit_kind(e) == "fixed" and e.repeat and e.repeat.every_days),
        kinds.count("end"),
        tuple(e.repeat.every_days for e in done
              if visit_kind(e) == "follow-up" and e.repeat and e.repeat.every_days))


def arm_schedule(study: Study, arm: StudyArm) -> ArmSchedule:
    total = sum(a.ratio for a in study.design.arms)
    cycle = sorted(e.day for e in _visits(study, arm) if visit_kind(e) == "cycle")
    length = study.schedule.cycle_length_days
    gaps = {b - a for a, b in zip(cycle, [*cycle[1:], cycle[0] + length], strict=True)}
    drugs = {d.id: d for d in study.interventions}
    procedures = tuple(count_procedure(study, arm, c) for c in COUNTED_CATEGORIES)
    return ArmSchedule(arm, Fraction(arm.ratio, total), len(cycle), tuple(cycle),
                       gaps.pop() if len(gaps) == 1 and cycle else None,
                       tuple(p for p in procedures
                             if p.screening or p.per_cycle or p.every_days or p.at_end
                             or p.follow_up_every_days),
                       tuple(drugs[i] for i in arm.intervention_ids))


@dataclass(frozen=True)
class RiskGroup:
    frequency: str
    risks: tuple[tuple[ConsentRisk, tuple[str, ...]], ...]  # risk, actions ("hold", …)


def risk_groups(study: Study, drug: StudyIntervention) -> tuple[RiskGroup, ...]:
    """The drug's risks by frequency, each with what the study doctor may do about it."""
    rules = study.safety.dose_modifications
    groups = []
    for frequency in FREQUENCIES:
        items = []
        for risk in study.consent.risks:
            if risk.intervention_id == drug.id and risk.frequency == frequency:
                actions = tuple(a for a in ("hold", "reduce", "discontinue") if any(
                    r.action == a for r in rules
                    if r.intervention_id == drug.id and r.term == risk.term and risk.term))
                items.append((risk, actions))
        if items:
            groups.append(RiskGroup(frequency, tuple(items)))
    return tuple(groups)


def eligibility_checks(study: Study) -> dict[str, Any]:
    """The machine-checkable inclusion criteria, merged (age, ECOG, life expectancy, …)."""
    merged: dict[str, Any] = {}
    for criterion in study.inclusion:
        merged.update(criterion.check)
    return merged


class Translator:
    """Text for one locale: the study's own text for its default locale, else translations.

    A missing translation is an error naming what is missing, never a blank in the form.
    """

    def __init__(self, study: Study, locale: str, default_locale: str = "en") -> None:
        self.study, self.locale = study, locale
        self.default = locale == default_locale
        if not self.default and locale not in study.consent.locales:
            raise ProtocolgenError(f"no consent text for locale {locale!r}: add "
                                   f"consent.locales.{locale} to the study")
        self.parts = study.consent.locales.get(locale, {})
        self._names = {**{a.id: a.name for a in study.design.arms},
                       **{i.id: i.name for i in study.interventions},
                       **{a.id: a.name for a in study.schedule.activities}}

    def _missing(self, where: str, key: str) -> ProtocolgenError:
        return ProtocolgenError(f"consent.locales.{self.locale}.{where}.{key}: no text "
                                f"in locale {self.locale!r}")

    def element(self, key: str) -> str:
        source = self.study.consent.elements if self.default else self.parts.get("elements", {})
        return source.get(key, "")

    def risk(self, risk: ConsentRisk) -> str:
        if self.default:
            return risk.text
        try:
            return self.parts.get("risks", {})[risk.id]
        except KeyError:
            raise self._missing("risks", risk.id) from None

    def name(self, item_id: str) -> str:
        if self.default:
            return self._names[item_id]
        try:
            return self.parts.get("names", {})[item_id]
        except KeyError:
            raise self._missing("names", item_id) from None


def build_consent_context(study: Study, locale: str) -> dict[str, Any]:
    """Everything the consent templates need."""
    t = Translator(study, locale)
    follow_up = [e for e in study.schedule.encounters if visit_kind(e) in ("end", "follow-up")]
    return {
        "s": study,
        "t": t,
        "locale": locale,
        "consent": study.consent,
        "arms": [arm_schedule(study, arm) for arm in study.design.arms],
        "randomized": study.design.randomized,
        "drugs": [(drug, risk_groups(study, drug)) for drug in study.interventions],
        "eligibility": eligibility_checks(study),
        "follow_up": follow_up,
        "screening_days": max((-e.day + e.window.before for e in study.schedule.encounters
                               if visit_kind(e) == "screening"), default=0),
        "participants": study.design.sample_size.planned,
        "tumour_every_weeks": study.tumour_assessment.every_weeks,
        "required_elements": REQUIRED_ELEMENTS,
    }
