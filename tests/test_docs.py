"""Docs that cannot drift: the study-format reference and the README."""

from __future__ import annotations

import re

from click.testing import CliRunner

from protocolgen.cli import main
from protocolgen.docs import render_study_format
from protocolgen.schema import iter_fields

from .conftest import ROOT


def test_every_schema_field_has_a_description() -> None:
    missing = [f.path for f in iter_fields() if not f.meta.get("description", "").strip()]
    assert missing == []


def test_study_format_doc_is_up_to_date() -> None:
    committed = (ROOT / "docs" / "study-format.md").read_text(encoding="utf-8")
    assert committed == render_study_format(), "run: make docs"


def test_every_field_is_in_the_doc() -> None:
    text = render_study_format()
    for field in iter_fields():
        assert f"`{field.path}`" in text, field.path


def test_schema_check_command(tmp_path) -> None:
    out = tmp_path / "format.md"
    assert CliRunner().invoke(main, ["schema", "--check", "-o", str(out)]).exit_code == 1
    assert CliRunner().invoke(main, ["schema", "-o", str(out)]).exit_code == 0
    assert CliRunner().invoke(main, ["schema", "--check", "-o", str(out)]).exit_code == 0
    assert CliRunner().invoke(main, ["schema", "--check"]).exit_code == 2


def test_readme_starts_with_the_two_commands() -> None:
    head = "\n".join((ROOT / "README.md").read_text(encoding="utf-8").splitlines()[:12])
    assert "make protocol" in head and "make test" in head


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in main.commands:
        assert re.search(rf"protocolgen {name}\b", readme), name


def test_ci_runs_make_test() -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
