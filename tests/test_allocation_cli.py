"""`protocolgen allocate` and `allocate verify` end to end: files, modes, no overwriting,
tamper detection, bad input, the protocol's commitment, and a real subprocess."""

from __future__ import annotations

import json
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import docx
import pypdf
import pytest
from click.testing import CliRunner, Result

from protocolgen.cli import main

from .conftest import RESILIENT, ROOT, SEED, edit

CLI = shutil.which("protocolgen", path=str(Path(sys.executable).parent)) or "protocolgen"
KEY = "0x" + bytes(range(32)).hex()
TEMPLATES = str(ROOT / "templates")
STEM = "RESILIENT-EX-01_allocation"


def allocate(*args: str) -> Result:
    return CliRunner().invoke(main, ["allocate", *args, "--templates", TEMPLATES])


def run_allocate(out: Path, *extra: str, study: Path = RESILIENT) -> Result:
    result = allocate(str(study), "--seed", KEY, "--format", "md", "-o", str(out), *extra)
    return result


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The RESILIENT allocation, made once (markdown reports only)."""
    out = tmp_path_factory.mktemp("alloc") / "allocation"
    result = run_allocate(out)
    assert result.exit_code == 0, result.output
    return out


def test_files_modes_and_summary(made: Path) -> None:
    names = sorted(p.name for p in made.iterdir())
    assert names == sorted([f"{STEM}.csv", f"{STEM}_redcap_production.csv",
                            f"{STEM}_redcap_development.csv", f"{STEM}_manifest.json",
                            f"{STEM}_report_public.md", f"{STEM}_report_confidential.md"])
    for name in names:
        assert mode(made / name) == (0o644 if "public" in name else 0o600), name
    assert mode(made) == 0o700


def test_list_header_redcap_tables_and_manifest(made: Path) -> None:
    text = (made / f"{STEM}.csv").read_text(encoding="utf-8")
    assert KEY[2:] not in text and str(int(KEY, 16)) not in text  # never the seed
    assert "# algorithm: protocolgen-allocation-1" in text and "# tool: protocolgen " in text
    prod = (made / f"{STEM}_redcap_production.csv").read_text().splitlines()
    dev = (made / f"{STEM}_redcap_development.csv").read_text().splitlines()
    assert prod[0] == dev[0] == ("redcap_randomization_number,redcap_randomization_group,"
                                 "strat_region,strat_plat_sens")
    assert prod[1] == "NAM-SENSITIVE-001,2,1,1" and dev[1].startswith("DEV-NAM-SENSITIVE-001,")
    assert len(prod) == len(text.splitlines()) - 7
    manifest = json.loads((made / f"{STEM}_manifest.json").read_text())
    assert re.fullmatch(r"[0-9a-f]{64}", manifest["commitment"])
    assert manifest["files"]["list"]["commitment"] == manifest["commitment"]
    assert manifest["parameters"]["stratum_length"] == 540
    assert KEY[2:] not in json.dumps(manifest)


def test_public_report_conceals_block_sizes(made: Path) -> None:
    public = (made / f"{STEM}_report_public.md").read_text(encoding="utf-8")
    confidential = (made / f"{STEM}_report_confidential.md").read_text(encoding="utf-8")
    assert "block sizes are concealed" in public.lower()
    assert "Block sizes: 2, 4" not in public and "Largest running imbalance" not in public
    assert "72.2%" not in public  # predictability would reveal the blocks
    assert "Block sizes: 2, 4" in confidential and "72.2%" in confidential
    assert "| REGION\\=NAM/PLATSENS\\=SENSITIVE | 542 |" in confidential
    manifest = json.loads((made / f"{STEM}_manifest.json").read_text())
    for report in (public, confidential):
        assert manifest["commitment"] in report and KEY[2:] not in report


def test_verify_round_trip(made: Path) -> None:
    listed = made / f"{STEM}.csv"
    result = CliRunner().invoke(main, ["allocate", "verify", str(listed), "--seed", KEY,
                                       str(RESILIENT)])
    assert result.exit_code == 0, result.output
    assert "3244 entries in 6 strata, identical" in result.stdout
    assert "matches RESILIENT-EX-01_allocation_manifest.json" in result.stdout
    assert "redcap_development.csv: identical" in result.stdout
    assert result.stdout.endswith("verified\n")
    commitment = json.loads((made / f"{STEM}_manifest.json").read_text())["commitment"]
    given = CliRunner().invoke(main, ["allocate", "verify", str(listed), "--seed", KEY,
                                      "--commitment", commitment])
    assert given.exit_code == 0 and "matches the one given" in given.stdout


@pytest.mark.parametrize(("target", "old", "new", "needle"), [
    (f"{STEM}.csv", "NAM-SENSITIVE-003,,REGION=NAM/PLATSENS=SENSITIVE,NAM,SENSITIVE,1,4,3,1,"
     "Liposomal irinotecan", "NAM-SENSITIVE-003,,REGION=NAM/PLATSENS=SENSITIVE,NAM,SENSITIVE,"
     "1,4,3,2,Topotecan", "is NOT the list this seed gives: line 11: expected"),
    (f"{STEM}_redcap_production.csv", "NAM-SENSITIVE-001,2,1,1", "NAM-SENSITIVE-001,1,1,1",
     "redcap_production.csv is NOT the table this seed gives: line 2"),
    (f"{STEM}.csv", '"block_sizes":[2,4]', '"block_sizes":[2,4,6]',
     "is NOT the list this seed gives: line 9"),
])
def test_verify_detects_tampering(made: Path, tmp_path: Path, target: str, old: str, new: str,
                                  needle: str) -> None:
    copy = Path(shutil.copytree(made, tmp_path / "copy"))
    (copy / target).chmod(0o600)
    edit(copy / target, old, new)
    result = CliRunner().invoke(main, ["allocate", "verify", str(copy / f"{STEM}.csv"),
                                       "--seed", KEY])
    assert result.exit_code == 1, result.output
    assert needle in result.stderr and "Traceback" not in result.output


def test_verify_detects_a_changed_manifest(made: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(made, tmp_path / "copy"))
    path = copy / f"{STEM}_manifest.json"
    manifest = json.loads(path.read_text())
    manifest["commitment"] = "0" * 64
    path.write_text(json.dumps(manifest))
    result = CliRunner().invoke(main, ["allocate", "verify", str(copy / f"{STEM}.csv"),
                                       "--seed", KEY])
    assert result.exit_code == 1
    assert f"records commitment {'0' * 64}, but the list gives" in result.stderr
    wrong = CliRunner().invoke(main, ["allocate", "verify", str(made / f"{STEM}.csv"), "--seed",
                                      KEY, "--commitment", "ab" * 32])
    assert wrong.exit_code == 1 and "not the " + "ab" * 32 + " given" in wrong.stderr


def test_verify_wrong_seed_and_changed_study(made: Path, tmp_path: Path) -> None:
    listed = str(made / f"{STEM}.csv")
    wrong = CliRunner().invoke(main, ["allocate", "verify", listed, "--seed", "0x" + "ab" * 32])
    assert wrong.exit_code == 1 and "the seed does not match" in wrong.stderr
    missing = CliRunner().invoke(main, ["allocate", "verify", listed])
    assert missing.exit_code == 1 and "give its seed with --seed" in missing.stderr
    study = Path(shutil.copytree(RESILIENT, tmp_path / "study"))
    edit(study / "study.yaml", "{id: EUR, label: Europe, code: 2}",
         "{id: EU, label: Europe, code: 2}")
    changed = CliRunner().invoke(main, ["allocate", "verify", listed, "--seed", KEY, str(study)])
    assert changed.exit_code == 1
    assert "stratum level 'EUR' of factor REGION, which the study does not have" in \
        changed.stderr
    other = CliRunner().invoke(main, ["allocate", "verify", str(SEED / "study.yaml"), "--seed",
                                      KEY])
    assert other.exit_code == 1 and "not a protocolgen allocation list" in other.stderr


def test_never_overwrites_and_force_keeps_the_old_files(made: Path, tmp_path: Path) -> None:
    out = Path(shutil.copytree(made, tmp_path / "allocation"))
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    again = run_allocate(out, "--size", "100")
    assert again.exit_code == 1
    assert "already exists; an allocation list is never overwritten" in again.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # nothing written
    (out / f"{STEM}_report_public.pdf").write_bytes(b"an earlier run's PDF")
    forced = run_allocate(out, "--size", "100", "--force")
    assert forced.exit_code == 0, forced.output
    assert not (out / f"{STEM}_report_public.pdf").exists()  # nothing stale beside the list
    assert (out / f"{STEM}_report_public.old-1.pdf").read_bytes() == b"an earlier run's PDF"
    assert f"kept the old {out / f'{STEM}.csv'} as {out / f'{STEM}.old-1.csv'}" in forced.stdout
    assert (out / f"{STEM}.old-1.csv").read_bytes() == before[f"{STEM}.csv"]
    assert mode(out / f"{STEM}.old-1.csv") == 0o600
    assert (out / f"{STEM}.csv").read_bytes() != before[f"{STEM}.csv"]
    warned = (out / f"{STEM}_report_confidential.md").read_text()
    assert "fewer than the planned 450 participants: a stratum could run out" in warned


def test_drawn_seed_goes_only_to_a_sealed_file(tmp_path: Path) -> None:
    out = tmp_path / "alloc"
    result = allocate(str(RESILIENT), "--format", "md", "-o", str(out), "--size", "20")
    assert result.exit_code == 0, result.output
    seed_file = out / f"{STEM}_seed.txt"
    assert mode(seed_file) == 0o600
    seed = seed_file.read_text().splitlines()[-1]
    assert re.fullmatch(r"0x[0-9a-f]{64}", seed)
    assert seed[2:] not in result.output
    for path in out.iterdir():
        if path != seed_file:
            assert seed[2:] not in path.read_text(encoding="utf-8", errors="replace")
    verified = CliRunner().invoke(main, ["allocate", "verify", str(out / f"{STEM}.csv"),
                                         "--seed-file", str(seed_file)])
    assert verified.exit_code == 0, verified.output


def test_single_arm_needs_sequential(tmp_path: Path) -> None:
    out = tmp_path / "alloc"
    result = allocate(str(SEED), "--seed", KEY, "-o", str(out))
    assert result.exit_code == 1
    assert "is a single-arm study: there is nothing to randomize; use --sequential" in \
        result.stderr
    assert not out.exists()
    tbd = allocate(str(SEED), "--sequential", "-o", str(out))
    assert tbd.exit_code == 1 and "planned is TBD: give the number" in tbd.stderr
    done = allocate(str(SEED), "--sequential", "--size", "10", "--format", "md", "-o", str(out))
    assert done.exit_code == 0, done.output
    rows = (out / "IRI-APA-SCLC-01_allocation.csv").read_text().splitlines()
    assert rows[8] == "S01-001,S01,site=S01,,,,1,Liposomal irinotecan + apatinib"
    assert len(rows) == 8 + 12
    assert not list(out.glob("*_seed.txt")) and not list(out.glob("*redcap*"))
    verified = CliRunner().invoke(main, ["allocate", "verify",
                                         str(out / "IRI-APA-SCLC-01_allocation.csv")])
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize(("args", "code", "needle"), [
    (["--seed", "xyz"], 2, "the seed is not a decimal number or a hex string (character 2 "
     "is 'y')"),
    (["--seed", "12345"], 2, "seed is too short"),
    (["--seed", KEY, "--size", "0"], 2, "--size"),
    (["--seed", KEY, "--surplus", "a lot"], 2, "must be a decimal number from 0 to 5"),
    (["--seed", KEY, "--seed-file", "x"], 2, "--seed or --seed-file, not both"),
    (["--seed", KEY, "--format", "odt"], 2, "unknown format 'odt'"),
])
def test_bad_input_writes_nothing(tmp_path: Path, args: list[str], code: int,
                                  needle: str) -> None:
    out = tmp_path / "alloc"
    result = allocate(str(RESILIENT), *args, "-o", str(out))
    assert result.exit_code == code, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not out.exists()


def test_ratio_and_block_sizes_that_do_not_fit(tmp_path: Path) -> None:
    study = Path(shutil.copytree(RESILIENT, tmp_path / "study"))
    edit(study / "study.yaml", "block_sizes: [2, 4]", "block_sizes: [2, 3]")
    out = tmp_path / "alloc"
    result = allocate(str(study), "--seed", KEY, "-o", str(out))
    assert result.exit_code == 1
    assert "randomization.block_sizes[1]: block size 3 is not a multiple of the ratio sum 2" \
        in result.stderr
    assert not out.exists()


def test_protocol_states_the_commitment_from_the_manifest(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = allocate(str(RESILIENT), "--seed", KEY, "--format", "md", "--size", "20")
    assert made.exit_code == 0, made.output
    folder = tmp_path / "build" / "resilient" / "allocation"
    commitment = json.loads((folder / f"{STEM}_manifest.json").read_text())["commitment"]
    rendered = CliRunner().invoke(main, ["render", "protocol", str(RESILIENT), "--format", "md",
                                         "--templates", TEMPLATES])
    assert rendered.exit_code == 0, rendered.output
    text = (tmp_path / "build" / "resilient" / "RESILIENT-EX-01_protocol_v1.0.md").read_text()
    section = text.split("## 6.7", 1)[1].split("## 6.8", 1)[0]
    assert f"commitment is `{commitment}`" in section
    assert "Block sizes: 2" not in section and KEY[2:] not in text


def test_reports_in_docx_and_pdf(tmp_path: Path) -> None:
    out = tmp_path / "alloc"
    result = allocate(str(RESILIENT), "--seed", KEY, "--size", "20", "--format", "docx,pdf",
                      "-o", str(out))
    assert result.exit_code == 0, result.output
    public = docx.Document(str(out / f"{STEM}_report_public.docx"))
    text = "\n".join(p.text for p in public.paragraphs)
    assert "block sizes are concealed" in text and "Block sizes: 2, 4" not in text
    pdf = pypdf.PdfReader(str(out / f"{STEM}_report_confidential.pdf"))
    pages = "\n".join(page.extract_text() for page in pdf.pages)
    assert "CONFIDENTIAL" in pages and "Block sizes: 2, 4" in pages
    assert mode(out / f"{STEM}_report_confidential.pdf") == 0o600


def test_help_for_both_forms_has_an_example() -> None:
    for args in (["allocate", "--help"], ["allocate", "verify", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0 and "Example:" in result.output


def test_subprocess_allocate_then_verify(tmp_path: Path) -> None:
    out = tmp_path / "alloc"
    made = subprocess.run([CLI, "allocate", "protocol/resilient", "--seed", KEY, "--size", "30",
                           "--per-site", "--format", "md", "-o", str(out)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    assert "have no REDCap data access group id (dag)" in made.stderr
    done = subprocess.run([CLI, "allocate", "verify", str(out / f"{STEM}.csv"), "--seed", KEY,
                           "protocol/resilient"], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "in 24 strata, identical" in done.stdout
