"""Reading NCI's CTCAE workbook and checking a study's terms against it."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from protocolgen.ctcae import load_ctcae_workbook
from protocolgen.errors import InputError
from protocolgen.study import load_study

from .conftest import edit


def test_reads_all_837_terms(workbook: Path) -> None:
    terms = load_ctcae_workbook(workbook)
    assert len(terms) == 837
    diarrhea = terms["Diarrhea"]
    assert diarrhea.meddra_code == 10012727
    assert diarrhea.soc == "Gastrointestinal disorders"
    assert sorted(diarrhea.grades) == [1, 2, 3, 4, 5]
    assert sorted(terms["Nausea"].grades) == [1, 2, 3]  # NCI's " -" is no grade
    assert sorted(terms["Febrile neutropenia"].grades) == [3, 4, 5]


def _problems(study: Path, workbook: Path) -> list[str]:
    with pytest.raises(InputError) as info:
        load_study(study, ctcae=workbook)
    return [str(p) for p in info.value.problems if p.severity == "error"]


def test_typo_gets_did_you_mean(seed_copy: Path, workbook: Path) -> None:
    edit(seed_copy / "safety.yaml", "    - term: Diarrhea\n", "    - term: Diarhea\n")
    edit(seed_copy / "safety.yaml", "      term: Diarrhea\n      grades: [2]",
         "      term: Diarhea\n      grades: [2]")
    edit(seed_copy / "safety.yaml",
         "      term: Diarrhea\n      grades: [3, 4]\n      action: reduce",
         "      term: Diarhea\n      grades: [3, 4]\n      action: reduce")
    edit(seed_copy / "study.yaml", "      term: Diarrhea\n", "      term: Diarhea\n")
    edit(seed_copy / "safety.yaml", "      term: Diarrhea\n      grades: [3, 4]\n      occurrence",
         "      term: Diarhea\n      grades: [3, 4]\n      occurrence")
    assert _problems(seed_copy, workbook) == [
        f"{seed_copy / 'safety.yaml'}:25:13: safety.terms[0].term: 'Diarhea' is not a CTCAE "
        "v5.0 term (did you mean 'Diarrhea'?)"]


def test_wrong_code_soc_and_grade_text(seed_copy: Path, workbook: Path) -> None:
    edit(seed_copy / "safety.yaml", "meddra_code: 10012727", "meddra_code: 10012728")
    edit(seed_copy / "safety.yaml", "      soc: Vascular disorders", "      soc: Vascular disorder")
    edit(seed_copy / "safety.yaml", "4: <500/mm3; <0.5 x 10e9 /L", "4: <400/mm3")
    problems = _problems(seed_copy, workbook)
    assert len(problems) == 3
    assert problems[0].endswith("safety.terms[0].meddra_code: MedDRA code 10012728 does not "
                                "match NCI's 10012727 for 'Diarrhea'")
    assert "safety.terms[1].grades[4]: grade 4 text differs from NCI's: '<500/mm3" in problems[1]
    assert problems[2].endswith("safety.terms[6].soc: SOC 'Vascular disorder' does not match "
                                "NCI's 'Vascular disorders'")


def test_grade_nci_does_not_define(seed_copy: Path, workbook: Path) -> None:
    line = "        3: \"Adult: Urinary protein >=3.5 g/24 hrs; 4+ proteinuria\"\n"
    edit(seed_copy / "safety.yaml", line, line + "        4: Worse\n")
    assert _problems(seed_copy, workbook)[0].endswith(
        "safety.terms[7].grades[4]: 'Proteinuria' has no grade 4 in CTCAE v5.0 "
        "(defined: [1, 2, 3])")


def test_not_a_workbook(tmp_path: Path) -> None:
    bad = tmp_path / "ctcae.xlsx"
    bad.write_text("not a zip")
    with pytest.raises(InputError, match=r"not a readable \.xlsx workbook"):
        load_ctcae_workbook(bad)


def test_missing_workbook(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="CTCAE workbook not found"):
        load_ctcae_workbook(tmp_path / "none.xlsx")


def test_wrong_sheet_and_wrong_columns(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.title = "Sheet1"
    book.save(tmp_path / "a.xlsx")
    with pytest.raises(InputError, match=r"sheet 'CTCAE v5\.0 Clean Copy' not found"):
        load_ctcae_workbook(tmp_path / "a.xlsx")
    book.active.title = "CTCAE v5.0 Clean Copy"
    book.active.append(["Code", "SOC"])
    book.save(tmp_path / "b.xlsx")
    with pytest.raises(InputError, match="unexpected columns"):
        load_ctcae_workbook(tmp_path / "b.xlsx")


def test_small_workbook_in_nci_format(tmp_path: Path) -> None:
    """The reader works on any workbook in NCI's layout (no shared data needed)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "CTCAE v5.0 Clean Copy"
    sheet.append(["MedDRA Code", "MedDRA SOC", "CTCAE Term", "Grade 1", "Grade 2", "Grade 3",
                  "Grade 4", "Grade 5", "Definition", "Navigational Note"])
    sheet.append([10028813, "Gastrointestinal disorders", "Nausea", "Loss of appetite",
                  "Oral intake decreased", "Inadequate intake", " -", " -", "A disorder", None])
    book.save(tmp_path / "small.xlsx")
    terms = load_ctcae_workbook(tmp_path / "small.xlsx")
    assert terms["Nausea"].grades == {1: "Loss of appetite", 2: "Oral intake decreased",
                                      3: "Inadequate intake"}
