"""The two example studies validate and build the model the YAML describes."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocolgen.errors import InputError
from protocolgen.study import load_study, summarize

from .conftest import EXAMPLES, RESILIENT, SEED


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_example_validates_with_only_tbd_warnings(study: Path) -> None:
    loaded = load_study(study)
    assert all(p.severity == "warning" for p in loaded.warnings)
    assert all("TBD" in p.message for p in loaded.warnings), loaded.warnings


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_nci_check(study: Path, workbook: Path) -> None:
    assert load_study(study, ctcae=workbook).ctcae_checked


def test_strict_turns_tbd_warnings_into_errors() -> None:
    with pytest.raises(InputError) as info:
        load_study(SEED, strict=True)
    assert any(p.field == "identification.phase" for p in info.value.problems)
    assert all(p.severity == "error" for p in info.value.problems)


def test_seed_model_matches_registry() -> None:
    study = load_study(SEED).study
    assert study.identification.short_title == "Liposomal Irinotecan and Apatinib in ES-SCLC"
    assert [c.id for c in study.inclusion] == ["I1", "I2", "I3", "I4"]
    assert [c.id for c in study.exclusion] == ["E1", "E2", "E3", "E4", "E5"]  # E5: amendment 2.0
    assert study.inclusion[0].check == {"age": {"min": 18, "max": 75}}
    assert study.inclusion[1].text == "Expected survival period ≥ 12 weeks;"
    assert study.design.type == "single-arm" and not study.design.randomized
    assert study.randomization is None
    assert study.identification.phase == "TBD"
    assert study.design.sample_size.planned == "TBD"


def test_seed_doses_and_levels() -> None:
    drugs = {i.id: i for i in load_study(SEED).study.interventions}
    iri = drugs["IRI-LIPO"]
    assert (iri.dose_amount, iri.dose_unit, iri.dose_basis) == (70, "mg/m2", "body surface area")
    assert [(lv.level, lv.amount) for lv in iri.dose_levels] == [(0, 70), (-1, 50), (-2, 43)]
    apatinib = drugs["APATINIB"]
    assert apatinib.continuous and apatinib.dose_basis == "flat"
    assert [lv.frequency for lv in apatinib.dose_levels] == ["Once daily", "Every other day"]


def test_seed_schedule_and_rules() -> None:
    study = load_study(SEED).study
    schedule = study.schedule
    assert schedule.cycle_length_days == 28
    assert schedule.is_scheduled("CT", "TA") and not schedule.is_scheduled("IRI", "SCR")
    anchors = {e.id: e.anchor for e in schedule.encounters}
    assert anchors == {"SCR": "study_day_1", "D1": "cycle_day_1", "D15": "cycle_day_1",
                       "TA": "study_day_1", "EOT": "end_of_treatment",
                       "SFU": "end_of_treatment", "OSFU": "end_of_treatment"}
    rules = {r.id: r for r in study.safety.dose_modifications}
    assert rules["IRI-DIA-34"].reduce_levels == 1 and rules["IRI-DIA-34"].hold_until_grade == 1
    assert rules["IRI-DIA-34-3RD"].occurrence == 3
    assert rules["IRI-ILD"].action == "discontinue"


def test_resilient_is_randomized_1_to_1_and_stratified() -> None:
    study = load_study(RESILIENT).study
    assert study.design.randomized
    assert [a.ratio for a in study.design.arms] == [1, 1]
    assert study.randomization is not None
    names = " ".join(f.name.lower() for f in study.randomization.stratification_factors)
    assert "region" in names and "platinum" in names
    assert study.schedule.cycle_length_days == 42


def test_summary_counts() -> None:
    counts = summarize(load_study(SEED))
    assert counts["inclusion criteria"] == 4 and counts["arms"] == 1
    assert counts["visits"] == 7 and counts["activities"] == 17


def test_resilient_visits_belong_to_their_arms() -> None:
    visits = {e.id: e for e in load_study(RESILIENT).study.schedule.encounters}
    assert visits["D15"].applies_to("ARM-IRI") and not visits["D15"].applies_to("ARM-TOPO")
    assert visits["D3"].applies_to("ARM-TOPO") and not visits["D3"].applies_to("ARM-IRI")
    assert visits["D1"].applies_to("ARM-IRI") and visits["D1"].applies_to("ARM-TOPO")
