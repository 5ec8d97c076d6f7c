"""``protocolgen calendar`` through CliRunner and one real subprocess: every format, the same
bytes twice, usage errors (exit 2), bad input files (exit 1, file:row:column), rosters."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner

from protocolgen.calendar_pages import render_page
from protocolgen.calendars import CalendarMaker
from protocolgen.cli import main
from protocolgen.study import load_study

from .conftest import RESILIENT, ROOT, SEED, edit

CLI = shutil.which("protocolgen", path=str(Path(sys.executable).parent)) or "protocolgen"
STEM = "IRI-APA-SCLC-01_1001_calendar"


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, ["calendar", *args])


def test_every_format_in_the_default_folder_same_bytes_twice(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # templates fall back to the shipped ones
    first = invoke("1001", "--anchor-date", "2026-03-02", str(SEED))
    assert first.exit_code == 0, first.output
    out = tmp_path / "build" / "iri-apa-sclc" / "calendars"
    files = {p.suffix: p.read_bytes() for p in out.iterdir()}
    assert sorted(files) == [".csv", ".html", ".ics", ".pdf"]
    assert first.stdout.splitlines() == [f"wrote build/iri-apa-sclc/calendars/{STEM}.{f}"
                                         for f in ("ics", "csv", "html", "pdf")]
    assert invoke("1001", "--anchor-date", "2026-03-02", str(SEED)).exit_code == 0
    assert {p.suffix: p.read_bytes() for p in out.iterdir()} == files  # the same bytes

    html = files[".html"].decode("utf-8")
    version = load_study(SEED).study.version.number
    for needle in ("<h1>Visit calendar</h1>", f"IRI-APA-SCLC-01, version {version} (",
                   "<td>1001</td>",
                   '<table class="month">', "<caption>March 2026</caption>", "C6D15",
                   "Survival follow-up 4", "Haematology [d]"):
        assert needle in html, needle
    assert not re.search(r"""(src|href)=["']?https?:""", html)  # self-contained
    pdf = pypdf.PdfReader(io.BytesIO(files[".pdf"]))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert "Visit calendar" in text and "1001" in text and "Month by month" in text
    csv_lines = files[".csv"].decode("utf-8").split("\r\n")
    assert csv_lines[0] == ("subject,site,visit_id,label,status,target,earliest,latest,moved,"
                            "flagged,note,activities,footnotes")
    assert csv_lines[2].startswith("1001,S01,D1.1,C1D1,planned,2026-03-02,2026-03-02,"
                                   "2026-03-05,no,no,,Physical examination;")


def test_study_text_is_printed_literally(seed_copy: Path, tmp_path: Path) -> None:
    nasty = '<script>alert(1)</script> #panic("boom") ]$x$\\ "q" @ref & more'
    edit(seed_copy / "schedule.yaml", "name: Physical examination,",
         "name: '" + nasty.replace("'", "''") + "',")
    maker = CalendarMaker(load_study(seed_copy), tmp_path, formats=("html", "pdf"))
    patient, _ = maker.patient("1001", None, None, dt.date(2026, 3, 2), None)
    visits = maker.visits(patient)
    html = render_page(maker, patient, visits, "html").decode("utf-8")
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    pdf = pypdf.PdfReader(io.BytesIO(render_page(maker, patient, visits, "pdf")))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert '#panic("boom")' in text.replace("\n", " ")


@pytest.mark.parametrize(("args", "needle"), [
    ([], "give SUBJECT_ID and --anchor-date (or --roster FILE)"),
    (["1001"], "give SUBJECT_ID and --anchor-date"),
    (["1001", "--anchor-date", "2026-3-2"], "'2026-3-2' is not a date of the form YYYY-MM-DD"),
    (["1001", "--anchor-date", "2026-02-30"], "'2026-02-30' is not a real date"),
    (["1001", "--anchor-date", "2026-03-02", "--cycles", "2", "--until", "2026-09-01"],
     "give --cycles or --until, not both"),
    (["1001", "--anchor-date", "2026-03-02", "--until", "2026-01-01"],
     "2026-01-01 is before the anchor date 2026-03-02"),
    (["1001", "--anchor-date", "2026-03-02", "--format", "ics,docx"],
     "unknown format 'docx'; choose from ics,csv,html,pdf"),
    (["1001", "--anchor-date", "2026-03-02", "--site", "S9"],
     "unknown site 'S9'; the study's sites are: S01"),
    (["1001", "--anchor-date", "2026-03-02", str(RESILIENT)],
     "--site is needed: the study has 4 sites; name one of: S01, S02, S03, S04"),
    (["1001", "--anchor-date", "2026-03-02", str(RESILIENT), "--site", "S01"],
     "--arm is needed: the study has 2 arms; name the patient's arm: ARM-IRI, ARM-TOPO"),
    (["1001", "--anchor-date", "2026-03-02", str(RESILIENT), "--site", "S01", "--arm", "X"],
     "unknown arm 'X'; the study's arms are: ARM-IRI, ARM-TOPO"),
    (["--roster", "r.csv", "--site", "S01"], "with --roster, the roster gives each patient's"),
    (["1001", str(SEED), "--roster", "r.csv"], "with --roster, give no SUBJECT_ID"),
])
def test_usage_errors_exit_2(args: list[str], needle: str) -> None:
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert needle in result.stderr, result.stderr


def test_bad_actual_dates_name_file_row_and_field(tmp_path: Path) -> None:
    actual = tmp_path / "actual.csv"
    actual.write_text("Visit,Date\nC2D1,2026-04-01\nD15.2,2026-4-14\nD7.1,2026-05-01\n"
                      "D1.2,2026-04-02\n,2026-01-01\nD1,2026-05-01\n", encoding="utf-8")
    result = invoke("1001", "--anchor-date", "2026-03-02", str(SEED), "--actual", str(actual),
                    "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{actual}:3:2: date: '2026-4-14' is not a date of the form YYYY-MM-DD",
        f"{actual}:4:1: visit: unknown visit 'D7.1'; give an occurrence id (SCR, D1.2, D15.2, "
        "TA.2, EOT, SFU, …) or a label as the calendar shows it",
        f"{actual}:5:1: visit: visit D1.2 is listed twice (also on line 2)",
        f"{actual}:6:1: visit: missing visit",
        f"{actual}:7:1: visit: visit 'D1' repeats: give its occurrence, e.g. D1.3 or 'C3D1'",
        "Error: 5 error(s); nothing was written."]
    assert not (tmp_path / "out").exists()


def test_contradicting_actual_dates_exit_1(tmp_path: Path) -> None:
    actual = tmp_path / "actual.csv"
    actual.write_text("visit,date\nTA.1,1926-04-13\n", encoding="utf-8")
    result = invoke("1001", "--anchor-date", "2026-03-02", str(SEED), "--actual", str(actual))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{actual}:2:2: date: TA.1: date 1926-04-13 is outside any "
                                    "sensible range for the anchor date 2026-03-02")
    missing = invoke("1001", "--anchor-date", "2026-03-02", str(SEED), "--actual", "nope.csv")
    assert missing.exit_code == 1 and "nope.csv: file not found" in missing.stderr


def test_a_country_without_holidays_points_at_the_study(seed_copy: Path) -> None:
    edit(seed_copy / "study.yaml", "    country: CN", "    country: XX")
    result = invoke("1001", "--anchor-date", "2026-03-02", str(seed_copy), "--format", "csv")
    assert result.exit_code == 1
    assert re.search(r"study\.yaml:\d+:\d+: sites\[0\]\.country: the holidays package has no "
                     r"public holidays for country 'XX'", result.stderr), result.stderr


ROSTER = """subject,site,anchor_date,arm,actual
R-001,S01,2026-03-02,ARM-IRI,a1.csv
R-002,S02,2026-03-03,ARM-TOPO,
R-003,S09,2026-03-04,ARM-TOPO,
R-004,S03,,ARM-IRI,
R-001,S01,2026-03-02,ARM-IRI,
R-006,S01,2026-03-02,ARM-X,
R 7,S01,2026-03-02,ARM-IRI,
R-008,S01,2026-03-02,ARM-IRI,bad.csv
R-009,S01,2026-03-02,ARM-IRI,missing.csv

R-010,S04,2026-03-09,ARM-TOPO
"""


def test_roster_reports_bad_rows_and_writes_the_others(tmp_path: Path) -> None:
    (tmp_path / "a1.csv").write_text("visit,date\nC2D1,2026-04-08\n", encoding="utf-8")
    (tmp_path / "bad.csv").write_text("visit,date\nC2D1,2026-01-08\n", encoding="utf-8")
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    out = tmp_path / "out"
    result = invoke("--roster", str(roster), str(RESILIENT), "--format", "csv,ics",
                    "-o", str(out))
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{roster}:4:2: site: unknown site 'S09'; the study's sites are: S01, S02, S03, S04",
        f"{roster}:5:3: anchor_date: missing anchor_date",
        f"{roster}:6:1: subject: subject 'R-001' is listed twice (also on line 2)",
        f"{roster}:7:4: arm: unknown arm 'ARM-X'; the study's arms are: ARM-IRI, ARM-TOPO",
        f"{roster}:8:1: subject: subject id 'R 7' must be 1-40 letters, digits, '_', '.' or "
        "'-', starting with a letter or digit",
        f"{tmp_path / 'bad.csv'}:2:2: date: D1.2: date 2026-01-08 is before study day 1 "
        "(2026-03-02)",
        f"{roster}:10:5: actual: {tmp_path / 'missing.csv'}: file not found (a path relative "
        "to the roster)",
        f"Error: wrote calendars for 3 of 10 patient(s) to {out}; 7 roster row(s) had errors "
        "(listed above)"]
    assert sorted(p.name for p in out.iterdir()) == [
        f"RESILIENT-EX-01_R-{n}_calendar.{f}" for n in ("001", "002", "010")
        for f in ("csv", "ics")]
    assert "D1.2,C2D1,actual,2026-04-08" in (out / "RESILIENT-EX-01_R-001_calendar.csv") \
        .read_text(encoding="utf-8")


def test_roster_header_problems_stop_before_any_row(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("subject,site,start\n1,S01,2026-03-02\n", encoding="utf-8")
    result = invoke("--roster", str(roster), str(SEED), "-o", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{roster}:1:1: the header must name the columns "
                                    "subject,site,anchor_date (optional: arm,actual); found "
                                    "subject,site,start")


def test_roster_shared_among_processes_gives_the_same_files(tmp_path: Path) -> None:
    rows = ["subject,site,anchor_date"] + [
        f"P{i:03d},S01,{dt.date(2026, 1, 5) + dt.timedelta(days=7 * i)}" for i in range(120)]
    rows.insert(40, "P001,S01,2026-01-05")  # a duplicate in the middle of a chunk
    roster = tmp_path / "roster.csv"
    roster.write_text("\n".join(rows) + "\n", encoding="utf-8")
    outputs = []
    for workers in (1, 2):
        maker = CalendarMaker(load_study(SEED), tmp_path / f"w{workers}", formats=("csv", "ics"))
        results = list(maker.run_roster(roster, workers=workers))
        assert [r.line for r in results] == list(range(2, 123))
        assert [bool(r.problems) for r in results].count(True) == 1
        outputs.append({p.name: p.read_bytes() for p in (tmp_path / f"w{workers}").iterdir()})
    assert len(outputs[0]) == 240 and outputs[0] == outputs[1]


def test_roster_subprocess_quiet_when_not_a_terminal(tmp_path: Path) -> None:
    roster = tmp_path / "roster.csv"
    roster.write_text("subject,site,anchor_date\nA1,S01,2026-03-02\nA2,S01,2026-03-09\n",
                      encoding="utf-8")
    done = subprocess.run([CLI, "calendar", "--roster", str(roster), "protocol/iri-apa-sclc",
                           "--format", "ics", "-o", str(tmp_path / "out")],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar off a terminal
    assert done.stdout == f"wrote calendars for 2 of 2 patient(s) to {tmp_path / 'out'}\n"
