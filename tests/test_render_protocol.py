"""The protocol document: content in M11 order, read back from DOCX, PDF and HTML."""

from __future__ import annotations

import os
import re
from pathlib import Path

import docx
import pypdf
import pytest
from click.testing import CliRunner

from protocolgen.cli import main
from protocolgen.documents import RenderOptions, render_protocol, render_protocol_markdown
from protocolgen.errors import ProtocolgenError
from protocolgen.render import make_environment, render_template
from protocolgen.study import load_study

from .conftest import EXAMPLES, RESILIENT, ROOT, SEED, edit

TEMPLATES = ROOT / "templates"
GOLDEN = Path(__file__).parent / "golden"
M11_CHAPTERS = [
    "1 Protocol Summary", "2 Introduction", "3 Trial Objectives and Associated Estimands",
    "4 Trial Design", "5 Trial Population", "6 Trial Intervention and Concomitant Therapy",
    "7 Participant Discontinuation of Trial Intervention and Withdrawal from Trial",
    "8 Trial Assessments and Procedures",
    "9 Adverse Events, Serious Adverse Events, Product Complaints, Pregnancy and Postpartum "
    "Information, and Special Safety Situations",
    "10 Statistical Considerations", "11 Trial Oversight and Other General Considerations",
    "12 Appendix: Supporting Details", "13 Appendix: Glossary of Terms and Abbreviations",
    "14 Appendix: References"]
INJECTION = "*bold* _u_ <script>alert(1)</script> | pipe | $x$ @ref [a](b) ![](/etc/passwd)"


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """Both example studies rendered once in every format."""
    out: dict[str, dict[str, Path]] = {}
    for study in EXAMPLES:
        folder = tmp_path_factory.mktemp(study.name)
        files = render_protocol(load_study(study).study, folder, RenderOptions(TEMPLATES))
        out[study.name] = {p.suffix.lstrip(".") if not p.name.endswith("_schema.svg") else "svg": p
                           for p in files}
    return out


def test_file_names_carry_protocol_number_and_version(rendered: dict) -> None:
    names = sorted(p.name for p in rendered["iri-apa-sclc"].values())
    assert names == ["IRI-APA-SCLC-01_protocol_v2.0.docx", "IRI-APA-SCLC-01_protocol_v2.0.html",
                     "IRI-APA-SCLC-01_protocol_v2.0.md", "IRI-APA-SCLC-01_protocol_v2.0.pdf",
                     "IRI-APA-SCLC-01_protocol_v2.0_schema.svg"]


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_golden_markdown(study: Path, rendered: dict) -> None:
    """Regenerate on purpose with `make golden`."""
    text = rendered[study.name]["md"].read_text(encoding="utf-8")
    golden = GOLDEN / f"{study.name}.md"
    if os.environ.get("PROTOCOLGEN_GOLDEN") == "update":
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8"), "run `make golden` if the change is wanted"


def _docx_headings(path: Path, level: int) -> list[str]:
    return [p.text for p in docx.Document(str(path)).paragraphs
            if p.style.name == f"Heading {level}"]


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_docx_headings_in_m11_order(study: Path, rendered: dict) -> None:
    headings = _docx_headings(rendered[study.name]["docx"], 1)
    assert [h for h in headings if h[0].isdigit()] == M11_CHAPTERS
    level2 = _docx_headings(rendered[study.name]["docx"], 2)
    for needed in ("1.3 Schedule of Activities", "6.4 Dose Modification",
                   "6.7 Participant Assignment, Randomisation and Blinding",
                   "11.3 Informed Consent Process", "12.3 Prior Protocol Amendments"):
        assert needed in level2


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_docx_schedule_table_equals_the_yaml_matrix(study: Path, rendered: dict) -> None:
    s = load_study(study).study
    document = docx.Document(str(rendered[study.name]["docx"]))
    table = next(t for t in document.tables if t.rows[0].cells[0].text == "Activity")
    header = [c.text for c in table.rows[0].cells[1:]]
    assert [re.sub(r"[a-z,]+$", "", h) if h not in ("Screening",) else h for h in header] == [
        re.sub(r"[a-z,]+$", "", e.label.replace("{n}", "n")) if e.label != "Screening" else e.label
        for e in s.schedule.encounters] or len(header) == len(s.schedule.encounters)
    body = table.rows[3:]  # header, timing and window rows first
    assert len(body) == len(s.schedule.activities)
    for row, activity in zip(body, s.schedule.activities, strict=True):
        marks = [c.text == "X" for c in row.cells[1:]]
        expected = [s.schedule.is_scheduled(activity.id, e.id) for e in s.schedule.encounters]
        assert marks == expected, activity.id
    assert table.rows[0]._tr.trPr.xml.count("tblHeader") == 1  # header row repeats


def test_docx_dose_levels_grade_texts_and_footer(rendered: dict) -> None:
    path = rendered["iri-apa-sclc"]["docx"]
    document = docx.Document(str(path))
    cells = {c.text for t in document.tables for r in t.rows for c in r.cells}
    assert {"70 mg/m2", "50 mg/m2", "43 mg/m2"} <= cells
    assert "250 mg" in cells and "Every other day" in cells
    assert "<1000 - 500/mm3; <1.0 - 0.5 x 10e9 /L" in cells  # CTCAE v5.0 grade 3 neutrophils
    footer = document.sections[0].footer._element.xml
    assert "Version 2.0 (draft) · 2027-02-15" in footer
    assert " PAGE " in footer and " NUMPAGES " in footer
    assert "IRI-APA-SCLC-01" in document.sections[0].header.paragraphs[0].text


def test_docx_wide_schedule_is_on_a_landscape_page(rendered: dict) -> None:
    sections = docx.Document(str(rendered["resilient"]["docx"])).sections
    assert any(s.page_width > s.page_height for s in sections)
    assert sections[-1].page_width < sections[-1].page_height


@pytest.mark.parametrize("study", EXAMPLES, ids=lambda p: p.name)
def test_pdf_pages_and_footer(study: Path, rendered: dict) -> None:
    reader = pypdf.PdfReader(str(rendered[study.name]["pdf"]))
    pages = len(reader.pages)
    assert 12 <= pages <= 60
    last = reader.pages[-1].extract_text()
    assert f"Page {pages} of {pages}" in last
    s = load_study(study).study
    assert f"Version {s.version.number} ({s.version.status})" in last
    number = s.identification.protocol_number
    assert number in reader.pages[1].extract_text()


def test_html_is_self_contained_with_its_figure(rendered: dict) -> None:
    html = rendered["resilient"]["html"].read_text(encoding="utf-8")
    assert "data:image/svg+xml;base64," in html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link " not in html and "@import" not in html


def test_sections_without_content_say_so(rendered: dict) -> None:
    text = rendered["iri-apa-sclc"]["md"].read_text(encoding="utf-8")
    section = text.split("## 5.4 Contraception", 1)[1].split("##", 1)[0]
    assert "Not specified in the study definition." in section
    assert "To be determined (TBD)." in text.split("## 10.4 Interim Analyses", 1)[1][:200]


def test_glossary_collects_abbreviations(rendered: dict) -> None:
    text = rendered["iri-apa-sclc"]["md"].read_text(encoding="utf-8")
    glossary = text.split("# 13 Appendix", 1)[1].split("# 14 Appendix", 1)[0]
    for term in ("CTCAE", "RECIST", "ECOG", "ES\\-SCLC", "SAE"):
        assert f"| {term} |" in glossary, term
    assert "| PK |" not in glossary  # not in the text


def test_randomization_section_never_shows_seed_or_blocks(rendered: dict) -> None:
    text = rendered["resilient"]["md"].read_text(encoding="utf-8")
    section = text.split("## 6.7", 1)[1].split("## 6.8", 1)[0]
    assert "Block sizes are not disclosed" in section
    assert "seed" not in section.replace("its seed are never part", "")


def test_injection_strings_render_literally(seed_copy: Path, tmp_path: Path) -> None:
    edit(seed_copy / "study.yaml", "      text: Those deemed unsuitable for inclusion by doctors;",
         f"      text: '{INJECTION}'")
    study = load_study(seed_copy).study
    files = render_protocol(study, tmp_path / "out", RenderOptions(TEMPLATES,
                                                                   ("md", "html", "docx")))
    html = next(p for p in files if p.suffix == ".html").read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    visible = re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">")
    assert INJECTION in visible
    assert "/etc/passwd" not in re.findall(r'<img[^>]*src="([^"]+)"', html)
    document = docx.Document(str(next(p for p in files if p.suffix == ".docx")))
    assert any(INJECTION in p.text for p in document.paragraphs)


def test_markdown_fields_cannot_inject_raw_html(seed_copy: Path, tmp_path: Path) -> None:
    edit(seed_copy / "study.yaml", "benefit_risk: |\n",
         "benefit_risk: |\n  <script>alert(1)</script> **bold is fine**\n\n")
    files = render_protocol(load_study(seed_copy).study, tmp_path,
                            RenderOptions(TEMPLATES, ("html",)))
    html = files[0].read_text(encoding="utf-8")
    assert "<script>alert" not in html and "<strong>bold is fine</strong>" in html


def test_same_inputs_same_bytes(tmp_path: Path, rendered: dict) -> None:
    files = render_protocol(load_study(SEED).study, tmp_path, RenderOptions(TEMPLATES))
    for path in files:
        kind = "svg" if path.name.endswith("_schema.svg") else path.suffix.lstrip(".")
        assert path.read_bytes() == rendered["iri-apa-sclc"][kind].read_bytes(), path.name


def test_missing_template_value_names_template_and_line(tmp_path: Path) -> None:
    (tmp_path / "t.md.j2").write_text("line one\n{{ nothing_here }}\n")
    with pytest.raises(ProtocolgenError, match=r"t\.md\.j2:2: missing value: 'nothing_here'"):
        render_template(make_environment(tmp_path), "t.md.j2", {})


def test_markdown_is_deterministic_and_complete() -> None:
    options = RenderOptions(TEMPLATES)
    study = load_study(RESILIENT).study
    first = render_protocol_markdown(study, options)
    assert first == render_protocol_markdown(study, options)
    assert "@@" not in first.replace("@@FIGURE:schema@@", "")


def test_cli_render_and_formats(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["render", "protocol", "--format", "md", "-o",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "IRI-APA-SCLC-01_protocol_v2.0.md").is_file()
    bad = CliRunner().invoke(main, ["render", "protocol", "--format", "odt"])
    assert bad.exit_code == 2 and "unknown format 'odt'" in bad.output


def test_check_reports_often_missing_items(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["check"])
    assert result.exit_code == 0
    for item in ("Biological specimens", "Consent for ancillary studies", "post-trial care",
                 "Interim analyses", "Data and code sharing"):
        assert item.lower() in result.output.lower(), item
    assert "* 10.4      Interim analyses" in result.output
    strict = CliRunner().invoke(main, ["check", "--strict"])
    assert strict.exit_code == 1 and "checklist item(s) are empty or TBD" in strict.output


def test_amendment_details_and_prior_amendments(seed_copy: Path) -> None:
    edit(seed_copy / "study.yaml",
         'version:\n  number: "1.0"\n  date: 2026-11-20\n  status: draft\n',
         'version:\n  number: "2.0"\n  date: 2027-03-01\n  status: final\n'
         "amendments:\n"
         "  - {version: '1.1', date: 2027-01-10, summary: Typo fixes., rationale: Clarity.,"
         " substantial: false}\n"
         "  - {version: '2.0', date: 2027-03-01, summary: Added exclusion E5.,"
         " rationale: New safety data., substantial: true, sections: ['5.3'],"
         " impact_safety: true, impact_data: false}\n")
    text = render_protocol_markdown(load_study(seed_copy).study, RenderOptions(TEMPLATES))
    details = text.split("# Amendment details", 1)[1].split("# 1 Protocol Summary", 1)[0]
    assert "| Amendment | Version 2\\.0, 2027-03-01 |" in details
    assert "| Substantial | Yes |" in details
    assert "| Impact on participant safety | Yes |" in details
    assert "| Impact on data reliability | No |" in details
    prior = text.split("## 12.3 Prior Protocol Amendments", 1)[1].split("# 13", 1)[0]
    assert "| 1\\.1 | 2027-01-10 | No | Typo fixes\\. | Clarity\\. |" in prior
    assert "Amendment (version 2\\.0)" in text


def test_docx_embeds_the_schema_as_png(rendered: dict) -> None:
    import zipfile

    with zipfile.ZipFile(rendered["resilient"]["docx"]) as zf:
        media = [n for n in zf.namelist() if n.startswith("word/media/")]
        assert media and all(n.endswith(".png") for n in media)
        assert zf.read(media[0])[:8] == b"\x89PNG\r\n\x1a\n"
