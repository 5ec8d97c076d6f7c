"""The consent form: every required element, counts derived from the schedule, readability,
escaping, missing text, and a new locale added with templates and translations only."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from protocolgen.cli import main
from protocolgen.consent import REQUIRED_ELEMENTS, arm_schedule
from protocolgen.documents import RenderOptions, render_consent, render_consent_markdown
from protocolgen.errors import ProtocolgenError
from protocolgen.readability import fk_grade, score_sections, split_sentences
from protocolgen.study import load_study

from .conftest import EXAMPLES, RESILIENT, ROOT, SEED, edit

TEMPLATES = ROOT / "templates"
HEADINGS = {  # required element → the heading that carries it
    "research": "## This is a research study", "purpose": "## Why is this study being done?",
    "treatments": "## What treatment will I get?", "eligibility": "## Who can take part?",
    "procedures": "## What will happen if I take part?",
    "duration": "## How long will I be in the study?",
    "responsibilities": "## What will I need to do?", "risks": "## What are the risks?",
    "benefits": "## Could the study help me?", "alternatives": "## What other choices do I have?",
    "injury_compensation": "## What happens if I am harmed by the study?",
    "payments": "## Will I be paid? Will it cost me anything?",
    "voluntary": "## Taking part is your choice",
    "records_access": "## Who will see my medical records?",
    "confidentiality": "## How will my information be kept private?",
    "new_information": "## Will I be told about new information?",
    "investigator_ends": "## Could the study doctor take me out of the study?",
    "contacts": "## Who can I contact?", "signatures": "## Consent"}


def _md(study: Path) -> str:
    return render_consent_markdown(load_study(study).study, "en", RenderOptions(TEMPLATES))


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_every_required_element_is_present(study: Path) -> None:
    text = _md(study)
    positions = [text.index(heading + "\n") for heading in HEADINGS.values()]
    assert positions == sorted(positions)
    assert set(REQUIRED_ELEMENTS) <= set(HEADINGS)
    elements = load_study(study).study.consent.elements
    for key in REQUIRED_ELEMENTS:
        section = text.split(HEADINGS[key] + "\n", 1)[1].split("\n## ", 1)[0]
        if elements[key] == "TBD":
            assert "[To be completed before use (TBD).]" in section, key
        else:
            assert elements[key].split()[0] in section.replace("\\", ""), key
    for role in ("Participant", "Person obtaining consent", "Impartial witness"):
        assert f"| {role}" in text


def _raw(study: Path) -> dict:
    data: dict = {}
    for name in ("study.yaml", "schedule.yaml", "safety.yaml"):
        data.update(yaml.safe_load((study / name).read_text(encoding="utf-8")))
    return data


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_derived_counts_match_an_independent_count(study: Path) -> None:
    """Counted here straight from the YAML, without the library's model."""
    raw = _raw(study)
    sched = raw["schedule"]
    category = {a["id"]: a["category"] for a in sched["activities"]}
    model = load_study(study).study
    for arm in raw["design"]["arms"]:
        visits = [v for v in sched["visits"] if arm["id"] in v.get("arms", [arm["id"]])]
        cycle = [v for v in visits if v["anchor"] == "cycle_day_1"]
        derived = arm_schedule(model, next(a for a in model.design.arms if a.id == arm["id"]))
        assert derived.visits_per_cycle == len(cycle)
        blood = [v for v in cycle if any(
            v["id"] in sched["matrix"].get(a, []) for a, c in category.items()
            if c == "blood-draw")]
        counts = {p.category: p for p in derived.procedures}
        assert counts["blood-draw"].per_cycle == len(blood)
        scans_fixed = [v["repeat"]["every_days"] for v in visits
                       if v["id"] in sched["matrix"]["CT"] and v["anchor"] == "study_day_1"
                       and "repeat" in v]
        assert list(counts["imaging"].every_days) == scans_fixed
        screening = [v for v in visits if v["anchor"] == "study_day_1" and v["day"] < 1]
        assert counts["blood-draw"].screening == sum(
            1 for v in screening if any(v["id"] in sched["matrix"].get(a, [])
                                        for a, c in category.items() if c == "blood-draw"))
        total = sum(a.get("ratio", 1) for a in raw["design"]["arms"])
        assert derived.chance == arm.get("ratio", 1) / total


def test_seed_wording_of_counts() -> None:
    text = _md(SEED)
    assert "You will come to the hospital twice in each cycle (about every 2 weeks)." in text
    assert "- Blood tests: once before you start, twice in each cycle, twice after treatment " \
           "ends." in text
    assert "- Scans (CT or MRI): once before you start, every 6 weeks, once after treatment " \
           "ends." in text
    assert "Everyone in this study gets the same treatment" in text
    assert "- be 18 to 75 years old" in text
    assert "The number of people who will take part is not decided yet." in text
    assert "**Very common** (may affect more than 1 in 10 people):" in text


def test_resilient_chances_and_arm_visits() -> None:
    text = _md(RESILIENT)
    assert text.count("you have a 1 in 2 chance (50%) of being in this group") == 2
    assert "You will come to the hospital 3 times in each cycle (about every 2 weeks)." in text
    assert "You will come to the hospital 10 times in each cycle." in text
    assert "About 450 people will take part in this study." in text


def test_readability_scores_and_warnings() -> None:
    hard = ("The pharmacokinetic characterisation of liposomal irinotecan necessitates "
            "comprehensive longitudinal sampling methodologies.")
    md = f"## Easy\n\nYou can stop at any time. It is your choice.\n\n## Hard\n\n{hard}\n"
    easy, difficult = score_sections(md)
    assert (easy.title, easy.sentences, easy.words) == ("Easy", 2, 10)
    assert easy.grade == round(fk_grade(["You can stop at any time.", "It is your choice."]), 1)
    assert easy.grade < 3 < 15 < difficult.grade
    assert difficult.hardest[0][1] == hard
    assert split_sentences("One. Two! Three?") == ["One.", "Two!", "Three?"]


def test_readability_report_and_max_grade(seed_copy: Path, tmp_path: Path) -> None:
    edit(seed_copy / "study.yaml", "  max_grade: 8\n", "  max_grade: 2\n")
    files, warnings = render_consent(load_study(seed_copy).study, "en", tmp_path,
                                     RenderOptions(TEMPLATES, ("md",)))
    report = next(p for p in files if p.name.endswith("_readability.md")).read_text()
    assert "| Why is this study being done? |" in report and "| NO |" in report
    assert any("section 'Why is this study being done?' has Flesch-Kincaid grade" in w
               and "(maximum 2)" in w and "hardest:" in w for w in warnings)


def test_escaping_in_consent(seed_copy: Path, tmp_path: Path) -> None:
    edit(seed_copy / "study.yaml", "    payments: TBD\n",
         "    payments: '<script>alert(1)</script> *x* [a](b) ![](/etc/passwd)'\n")
    files, _ = render_consent(load_study(seed_copy).study, "en", tmp_path,
                              RenderOptions(TEMPLATES, ("html",)))
    html = files[0].read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; *x* [a](b) ![](/etc/passwd)" in html
    assert "<script>alert" not in html


def test_missing_element_is_an_error_not_a_blank(seed_copy: Path) -> None:
    edit(seed_copy / "study.yaml", "    payments: TBD\n", "")
    loaded = load_study(seed_copy)
    assert any("required consent element 'payments' has no text" in p.message
               for p in loaded.warnings)
    with pytest.raises(ProtocolgenError, match=r"consent\.elements\.payments \(locale en\) has "
                                               r"no text"):
        render_consent_markdown(loaded.study, "en", RenderOptions(TEMPLATES))


def test_unknown_risk_references_are_errors(seed_copy: Path) -> None:
    edit(seed_copy / "study.yaml", "      intervention: APATINIB\n      text: Severe high",
         "      intervention: APATINB\n      text: Severe high")
    with pytest.raises(ProtocolgenError, match="unknown intervention 'APATINB' "
                                               r"\(did you mean 'APATINIB'\?\)"):
        load_study(seed_copy)


def test_a_new_locale_needs_templates_and_translations_only(seed_copy: Path,
                                                            tmp_path: Path) -> None:
    templates = Path(shutil.copytree(TEMPLATES, tmp_path / "templates"))
    shutil.copytree(templates / "consent" / "en", templates / "consent" / "xx")
    page = templates / "consent" / "xx" / "consent.md.j2"
    page.write_text(page.read_text().replace("## This is a research study",
                                             "## XX research study"))
    study = load_study(SEED).study
    elements = {k: f"xx {k}" for k in REQUIRED_ELEMENTS}
    names = {i: f"xx-{i}" for i in ("IRI-LIPO", "APATINIB", "ARM-A")}
    risks = {r.id: f"xx risk {r.id}" for r in study.consent.risks}
    locale = yaml.safe_dump({"locales": {"xx": {"elements": elements, "names": names,
                                                "risks": risks}}})
    edit(seed_copy / "study.yaml", "  risks:\n    - id: R-IRI-DIA",
         "  " + locale.replace("\n", "\n  ").rstrip() + "\n  risks:\n    - id: R-IRI-DIA")
    localized = load_study(seed_copy).study
    text = render_consent_markdown(localized, "xx", RenderOptions(templates))
    assert "## XX research study" in text and "xx purpose" in text
    assert "xx\\-IRI\\-LIPO" in text and "xx risk R\\-APA\\-HTN" in text
    shutil.copytree(templates / "consent" / "en", templates / "consent" / "yy")
    with pytest.raises(ProtocolgenError, match="no consent text for locale 'yy'"):
        render_consent_markdown(localized, "yy", RenderOptions(templates))
    with pytest.raises(ProtocolgenError, match="no consent templates for locale 'zz'"):
        render_consent_markdown(localized, "zz", RenderOptions(templates))


def test_cli_render_consent_and_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["render", "consent", str(RESILIENT), "--format", "md",
                                       "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "RESILIENT-EX-01_consent_v1.0_en.md").is_file()
    assert re.search(r"warning: .*Flesch-Kincaid grade", result.stderr)
    check = CliRunner().invoke(main, ["check"])
    assert "Consent (ICH E6(R3)): 10/13 complete" in check.output
    assert "payments  Payments and expenses" in check.output
