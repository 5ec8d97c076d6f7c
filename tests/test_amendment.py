"""Amendments: summary of changes, Word tracked changes that accept to NEW and reject to OLD,
the ethics package, git revisions, and bad input."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner

from protocolgen.amendment import compare_versions, write_amendment_documents, write_ethics_package
from protocolgen.cli import main
from protocolgen.diff import diff_studies
from protocolgen.documents import RenderOptions
from protocolgen.errors import ProtocolgenError
from protocolgen.pandoc import pandoc_path
from protocolgen.study import load_study
from protocolgen.versions import load_version

from .conftest import RESILIENT, ROOT, SEED, SEED_V1, edit

TEMPLATES = ROOT / "templates"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("diff")
    am = compare_versions(load_study(SEED_V1), load_study(SEED))
    files = write_amendment_documents(am, out, RenderOptions(TEMPLATES, ("md", "docx")))
    return {p.name: p for p in files}


def _plain(path: Path, *args: str) -> list[str]:
    """The document's words (table rules and list marks dropped, whitespace normalized)."""
    done = subprocess.run([pandoc_path(), str(path), "-t", "plain", "--wrap=none", *args],
                          capture_output=True, text=True, check=True)
    return re.findall(r"\w[\w.,;:'’()/%-]*", done.stdout)


def test_accepting_all_changes_gives_new_and_rejecting_gives_old(outputs: dict,
                                                                 tmp_path: Path) -> None:
    redline = outputs["IRI-APA-SCLC-01_protocol_v2.0_redline.docx"]
    clean_new = outputs["IRI-APA-SCLC-01_protocol_v2.0.docx"]
    from protocolgen.documents import render_protocol

    old = render_protocol(load_study(SEED_V1).study, tmp_path, RenderOptions(TEMPLATES,
                                                                              ("docx",)))[0]
    assert _plain(redline, "--track-changes=accept") == _plain(clean_new)
    assert _plain(redline, "--track-changes=reject") == _plain(old)


def test_redline_docx_ids_unique_author_date_and_tracking_on(outputs: dict) -> None:
    path = outputs["IRI-APA-SCLC-01_protocol_v2.0_redline.docx"]
    with zipfile.ZipFile(path) as zf:
        body = zf.read("word/document.xml").decode("utf-8")
        settings = zf.read("word/settings.xml").decode("utf-8")
    revisions = re.findall(r"<w:(ins|del) ([^>]*)>", body)
    ids = [re.search(r'w:id="(\d+)"', attrs).group(1) for _, attrs in revisions]
    assert len(ids) >= 10 and len(ids) == len(set(ids))
    assert {kind for kind, _ in revisions} == {"ins", "del"}
    assert all('w:author="IRI-APA-SCLC-01 study team"' in a for _, a in revisions)
    assert all('w:date="2027-02-15T00:00:00Z"' in a for _, a in revisions)
    assert "<w:trackRevisions" in settings
    assert "<w:delText" in body  # word-level deletions, e.g. "efficacy"


def test_summary_lists_each_change_with_its_section(outputs: dict) -> None:
    text = outputs["IRI-APA-SCLC-01_summary-of-changes_v2.0.md"].read_text(encoding="utf-8")
    for section, change in [("1\\.3 Schedule of Activities", "schedule\\.visits\\[D15\\]"),
                            ("3 Trial Objectives", "objectives\\[OBJ\\-1\\]\\.text"),
                            ("5\\.3 Exclusion Criteria", "eligibility\\.exclusion\\[E5\\]"),
                            ("6\\.4 Dose Modification",
                             "safety\\.dose\\_modifications\\[APA\\-HTN\\-2\\-2ND\\]")]:
        assert re.search(re.escape(section) + r".*" + re.escape(change), text.replace(
            "\\\\", "\\")) or (section in text and change in text), (section, change)
    assert "~~efficacy~~" in text and "**objective response rate**" in text
    order = [text.index(s) for s in ("1\\.3 Schedule", "3 Trial Objectives", "5\\.3 Exclusion",
                                     "6\\.4 Dose")]
    assert order == sorted(order)
    assert "| Consent form | Unchanged. |" in text


def test_changes_carry_section_and_substantial_flag() -> None:
    changes = compare_versions(load_study(SEED_V1), load_study(SEED)).changes
    by_path = {c.path: c for c in changes}
    assert by_path["eligibility.exclusion[E5]"].kind == "added"
    assert by_path["eligibility.exclusion[E5]"].section == "5.3"
    assert by_path["schedule.visits[D15].window.before"].old == "2"
    assert by_path["schedule.visits[D15].window.before"].new == "3"
    assert all(c.substantial for c in changes)
    assert not any(c.path.endswith((".source", ".note")) for c in changes)


def test_unchanged_study_gives_an_empty_summary_that_says_so(tmp_path: Path) -> None:
    same = load_study(SEED).document.data
    assert diff_studies(same, same) == []
    copy = Path(shutil.copytree(SEED, tmp_path / "v21", ignore=shutil.ignore_patterns("history")))
    edit(copy / "study.yaml", 'number: "2.0"\n  date: 2027-02-15',
         'number: "2.1"\n  date: 2027-02-15')
    text = (copy / "study.yaml").read_text()
    text = text.replace("    impact_data: false\n", "    impact_data: false\n  - {version: '2.1', "
                        "date: 2027-02-15, summary: Re-issue., rationale: Test., "
                        "substantial: false}\n", 1)
    (copy / "study.yaml").write_text(text)
    am = compare_versions(load_study(SEED), load_study(copy))
    assert am.changes == ()
    files = write_amendment_documents(am, tmp_path / "out", RenderOptions(TEMPLATES, ("md",)))
    summary = next(p for p in files if "summary-of-changes" in p.name).read_text()
    assert "No differences were found between version 2\\.0 and version 2\\.1." in summary


def test_a_moved_criterion_is_reported_as_moved(seed_copy: Path) -> None:
    old = load_study(seed_copy).document.data
    new = load_study(seed_copy).document.data
    exclusion = new["eligibility"]["exclusion"]
    exclusion.insert(0, exclusion.pop(2))
    changes = diff_studies(old, new)
    assert [(c.kind, c.path) for c in changes] == [("moved", "eligibility.exclusion[E3]")]
    assert changes[0].old == "E3 at position 3" and changes[0].new == "E3 at position 1"


def test_word_level_change_inside_text() -> None:
    changes = compare_versions(load_study(SEED_V1), load_study(SEED)).changes
    objective = next(c for c in changes if c.path == "objectives[OBJ-1].text")
    assert ("-", "efficacy") in objective.words and ("+", "objective response rate") in \
        objective.words


@pytest.mark.parametrize(("old", "new", "message"), [
    (SEED, SEED_V1, "NEW (version 1.0) is not later than OLD (version 2.0)"),
    (SEED_V1, RESILIENT, "OLD and NEW are different studies (IRI-APA-SCLC-01 vs "
                         "RESILIENT-EX-01)"),
])
def test_bad_pairs(old: Path, new: Path, message: str) -> None:
    with pytest.raises(ProtocolgenError, match=re.escape(message)):
        compare_versions(load_study(old), load_study(new))


def test_cli_bad_inputs_write_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    out = tmp_path / "out"
    unknown = CliRunner().invoke(main, ["diff", "no-such-rev-v9", str(SEED), "-o", str(out)])
    assert unknown.exit_code == 1
    assert "'no-such-rev-v9' is neither a study folder nor a git revision" in unknown.output
    not_study = CliRunner().invoke(main, ["diff", str(tmp_path), str(SEED), "-o", str(out)])
    assert not_study.exit_code == 1 and "study.yaml: file not found" in not_study.output
    backwards = CliRunner().invoke(main, ["diff", str(SEED), str(SEED_V1), "-o", str(out)])
    assert backwards.exit_code == 1 and "is not later than OLD" in backwards.output
    assert not out.exists()


def test_git_revisions_are_read_without_touching_the_work_tree(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    repo = tmp_path / "repo"
    study = repo / "protocol" / "s"
    shutil.copytree(SEED_V1, study)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-c",
           "commit.gpgsign=false"]
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run([*git, "-C", str(repo), "add", "-A"], check=True)
    subprocess.run([*git, "-C", str(repo), "commit", "-qm", "v1"], check=True)
    for name in ("study.yaml", "schedule.yaml", "safety.yaml"):
        shutil.copy(SEED / name, study / name)
    subprocess.run([*git, "-C", str(repo), "commit", "-qam", "v2"], check=True)
    monkeypatch.chdir(repo)
    before = (study / "study.yaml").read_bytes()
    old = load_version("HEAD~1", Path("protocol/s"), tmp_path / "work")
    also = load_version("HEAD~1:protocol/s", Path("elsewhere"), tmp_path / "work2")
    assert old.study.version.number == also.study.version.number == "1.0"
    assert (study / "study.yaml").read_bytes() == before
    result = CliRunner().invoke(main, ["diff", "HEAD~1", "protocol/s", "--format", "md",
                                       "-o", str(tmp_path / "out"), "--templates",
                                       str(TEMPLATES)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("5 change(s) from v1.0 to v2.0")


def test_ethics_package(tmp_path: Path) -> None:
    am = compare_versions(load_study(SEED_V1), load_study(SEED))
    path = write_ethics_package(am, tmp_path, RenderOptions(TEMPLATES))
    assert path.name == "IRI-APA-SCLC-01_ethics-submission_v2.0.zip"
    with zipfile.ZipFile(path) as zf:
        names = zf.namelist()
        manifest = zf.read("SHA256SUMS").decode()
        for line in manifest.splitlines():
            digest, name = line.split("  ")
            assert hashlib.sha256(zf.read(name)).hexdigest() == digest
    for needed in ("IRI-APA-SCLC-01_protocol_v2.0.docx", "IRI-APA-SCLC-01_protocol_v2.0.pdf",
                   "IRI-APA-SCLC-01_protocol_v2.0_redline.docx",
                   "IRI-APA-SCLC-01_summary-of-changes_v2.0.pdf",
                   "IRI-APA-SCLC-01_consent_v1.0_en.docx",
                   "IRI-APA-SCLC-01_cover-letter_v2.0.docx"):
        assert needed in names, needed
    letter = docx.Document(str(tmp_path / "IRI-APA-SCLC-01_cover-letter_v2.0.docx"))
    text = "\n".join(p.text for p in letter.paragraphs)
    assert "amendment 2.0" in text and "Alignment with an analogous" in text
    again = write_ethics_package(am, tmp_path / "again", RenderOptions(TEMPLATES))
    assert again.read_bytes() == path.read_bytes()


def test_render_protocol_fills_amendment_details_from_history(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["render", "protocol", "--format", "md", "-o",
                                       str(tmp_path)])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "IRI-APA-SCLC-01_protocol_v2.0.md").read_text(encoding="utf-8")
    details = text.split("# Amendment details", 1)[1].split("# 1 Protocol Summary", 1)[0]
    assert ": Overview of changes in the current amendment" in details
    assert "| 5\\.3 Exclusion Criteria | Added: eligibility\\.exclusion\\[E5\\]" in details


def test_links_in_changed_markdown_are_written_out() -> None:
    from protocolgen.redline import redline_markdown

    out = redline_markdown("See the guide.\n", "See [the guide](https://example.org/g).\n",
                           author="A", date="D")
    assert out == ('See [the guide.]{.deletion author="A" date="D"} '
                   '[the guide (https://example\\.org/g).]{.insertion author="A" date="D"}\n')


def test_redline_spans_are_balanced_with_emphasis() -> None:
    from protocolgen.redline import redline_markdown

    out = redline_markdown("- **I1\\.** Age 18 to 75\n", "- **I1\\.** Age 18 to 80\n",
                           author="A", date="D")
    assert out == ('- **I1\\.** Age 18 to [75]{.deletion author="A" date="D"} '
                   '[80]{.insertion author="A" date="D"}\n')


def test_a_changed_consent_gets_its_own_redline_and_clean_version(tmp_path: Path) -> None:
    new = Path(shutil.copytree(SEED, tmp_path / "new", ignore=shutil.ignore_patterns("history")))
    edit(new / "study.yaml", "    payments: TBD\n",
         "    payments: You will not be paid. Travel costs are paid back.\n")
    am = compare_versions(load_study(SEED_V1), load_study(new))
    assert any(c.consent and c.path == "consent.elements.payments" for c in am.changes)
    files = write_amendment_documents(am, tmp_path / "out", RenderOptions(TEMPLATES, ("md",)))
    names = {p.name for p in files}
    assert {"IRI-APA-SCLC-01_consent_v1.0_en_redline.md",
            "IRI-APA-SCLC-01_consent_v1.0_en.md"} <= names
    redline = (tmp_path / "out" / "IRI-APA-SCLC-01_consent_v1.0_en_redline.md").read_text()
    assert '[You will not be paid\\. Travel costs are paid back\\.]{.insertion' in redline
    summary = next(p for p in files if "summary-of-changes" in p.name).read_text()
    assert "| Consent form | Changed: a tracked-changes and a clean version are included. |" \
        in summary
