"""The CLI through click's CliRunner and through a real subprocess of the installed command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from protocolgen import study as study_module
from protocolgen.cli import main

from .conftest import ROOT, SEED, edit

CLI = shutil.which("protocolgen", path=str(Path(sys.executable).parent)) or "protocolgen"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=ROOT, capture_output=True, text=True, check=False)


def test_validate_default_study_prints_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    result = CliRunner().invoke(main, ["validate"])
    assert result.exit_code == 0, result.output
    assert "IRI-APA-SCLC-01 v2.0 (draft, 2027-02-15)" in result.stdout
    assert "  inclusion criteria       4" in result.stdout
    assert "more warning(s); --warnings lists them all" in result.stderr
    assert result.stdout.rstrip().endswith("valid with warnings")


def test_validate_lists_every_warning_on_request() -> None:
    result = CliRunner().invoke(main, ["validate", str(SEED), "--warnings"])
    assert result.exit_code == 0
    assert result.stderr.count("warning:") == int(
        next(line.split()[-1] for line in result.stdout.splitlines() if "warnings" in line))


def test_validate_quiet_prints_nothing() -> None:
    result = CliRunner().invoke(main, ["validate", "-q", str(SEED / "study.yaml")])
    assert (result.exit_code, result.output) == (0, "")


def test_strict_fails_on_warnings() -> None:
    result = CliRunner().invoke(main, ["validate", "--strict", str(SEED)])
    assert result.exit_code == 1
    assert "study.yaml:14:10: identification.phase: is TBD: still to be decided" in result.stderr
    assert "nothing was written" in result.stderr


def test_bad_input_exit_1_one_line_per_problem(seed_copy: Path) -> None:
    edit(seed_copy / "study.yaml", "  short_title:", "  shrt_title:")
    result = CliRunner().invoke(main, ["validate", str(seed_copy)])
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{seed_copy / 'study.yaml'}:")
    assert lines[0].endswith("identification.shrt_title: unknown field 'shrt_title': did you "
                             "mean 'short_title'? (that field is required and missing)")
    assert lines[-1].startswith("Error: 1 error(s) and ") and "warning(s); nothing" in lines[-1]
    assert "Traceback" not in result.output


def test_usage_error_exit_2() -> None:
    result = CliRunner().invoke(main, ["validate", "--no-such-option"])
    assert result.exit_code == 2


def test_internal_error_is_one_line_with_debug_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("kaput")

    monkeypatch.setattr(study_module, "load_study", boom)
    result = CliRunner().invoke(main, ["validate", str(SEED)])
    assert result.exit_code == 70
    assert result.stderr == ("Internal error: RuntimeError: kaput "
                             "(run again with --debug to see the traceback)\n")
    debug = CliRunner().invoke(main, ["--debug", "validate", str(SEED)])
    assert isinstance(debug.exception, RuntimeError)


def test_every_command_has_help_with_an_example() -> None:
    for name, command in main.commands.items():
        result = CliRunner().invoke(main, [name, "--help"])
        assert result.exit_code == 0
        assert "Example:" in result.output, name
        assert command.help


# --- a real subprocess of the installed console script --------------------------------

def test_subprocess_validate_seed() -> None:
    done = run("validate", "protocol/iri-apa-sclc")
    assert done.returncode == 0, done.stderr
    assert "valid with warnings" in done.stdout


def test_subprocess_help_and_version() -> None:
    assert run("--help").returncode == 0
    assert run("--version").stdout.startswith("protocolgen, version ")


@pytest.mark.parametrize(("old", "new", "needle"), [
    ("  indication:", "  phase: \"2\"\n  indication:",
     "study.yaml:15:3: identification.phase: duplicate key 'phase' (first defined at line 14)"),
    ("version:\n", "versoin:\n", "study.yaml:34:1: versoin: unknown field 'versoin': "
     "did you mean 'version'? (that field is required and missing)"),
    ("  number: \"1.0\"", "  number: !!python/object/apply:os.system [\"true\"]",
     "study.yaml:35:11: version.number: tag '!!python/object/apply:os.system' is not allowed"),
    ("  phase: TBD", "  phase: TBD\n  acronym: [x", "study.yaml:"),
], ids=["duplicate-key", "unknown-key", "python-tag", "syntax-error"])
def test_subprocess_bad_copies_exit_1_with_positions(seed_copy: Path, old: str, new: str,
                                                     needle: str) -> None:
    edit(seed_copy / "study.yaml", old, new)
    done = run("validate", str(seed_copy))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert needle in done.stderr, done.stderr
    first = done.stderr.splitlines()[0]
    file, line, column = first.split(":")[:3]
    assert file.endswith("study.yaml") and line.isdigit() and column.isdigit()
