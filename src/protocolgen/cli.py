"""The ``protocolgen`` command: a thin layer over the library."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .errors import ProtocolgenError

STUDY_ARG = click.argument("study", type=click.Path(path_type=Path),
                           default="protocol/iri-apa-sclc", required=False)
SHOWN_WARNINGS = 8
CTCAE_OPT = click.option(
    "--ctcae", type=click.Path(path_type=Path), default=None,
    help="NCI's CTCAE v5.0 workbook (.xlsx) to check terms against "
         "[env: PROTOCOLGEN_CTCAE].")


class _Group(click.Group):
    """Turns an unexpected exception into one line (``--debug`` shows the traceback)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # the last line of defence
            if ctx.meta.get("debug") or "--debug" in sys.argv:
                raise
            click.echo(f"Internal error: {type(exc).__name__}: {exc} "
                       "(run again with --debug to see the traceback)", err=True)
            ctx.exit(70)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="protocolgen")
@click.option("--debug", is_flag=True, help="Show a traceback for internal errors.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """Protocol-as-code for clinical trials: validate and render a study.

    A study is a folder under protocol/ with a study.yaml; STUDY defaults to
    protocol/iri-apa-sclc.

    \b
    Example:
      protocolgen validate protocol/resilient
    """
    ctx.meta["debug"] = debug


@main.command()
@STUDY_ARG
@CTCAE_OPT
@click.option("--strict", is_flag=True, help="Treat warnings (e.g. TBD values) as errors.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing when the study is valid.")
@click.option("--warnings", "-w", "all_warnings", is_flag=True,
              help=f"List every warning (by default the first {SHOWN_WARNINGS}).")
def validate(study: Path, ctcae: Path | None, strict: bool, quiet: bool,
             all_warnings: bool) -> None:
    """Check a study (folder or study.yaml) and print a summary.

    Every problem is printed as FILE:LINE:COL: field: message; exit 1 when
    there are errors.

    \b
    Example:
      protocolgen validate protocol/iri-apa-sclc --ctcae CTCAE_v5.0.xlsx
    """
    from .study import load_study, summarize

    loaded = load_study(study, ctcae=ctcae, strict=strict)
    if quiet:
        return
    shown = loaded.warnings if all_warnings else loaded.warnings[:SHOWN_WARNINGS]
    for warning in shown:
        click.echo(str(warning), err=True)
    if len(shown) < len(loaded.warnings):
        click.echo(f"… and {len(loaded.warnings) - len(shown)} more warning(s); "
                   "--warnings lists them all", err=True)
    s = loaded.study
    ident = s.identification
    click.echo(f"{ident.protocol_number} v{s.version.number} ({s.version.status}, "
               f"{s.version.date.isoformat()}): {ident.short_title}")
    counts = summarize(loaded)
    width = max(map(len, counts))
    for name, count in counts.items():
        click.echo(f"  {name:<{width}}  {count}")
    checked = "checked against the NCI workbook" if loaded.ctcae_checked else \
        "not checked (no --ctcae workbook)"
    click.echo(f"  CTCAE terms {checked}")
    click.echo(f"valid{' with warnings' if loaded.warnings else ''}")


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Write to this file (atomically) instead of printing.")
@click.option("--check", is_flag=True, help="Exit 1 if OUTPUT is not up to date.")
def schema(output: Path | None, check: bool) -> None:
    """Print the study-format reference generated from the schema.

    \b
    Example:
      protocolgen schema -o docs/study-format.md
    """
    from .docs import render_study_format
    from .writers import write_atomic

    text = render_study_format()
    if check:
        if output is None:
            raise click.UsageError("--check needs -o FILE")
        current = output.read_text(encoding="utf-8") if output.is_file() else ""
        if current != text:
            raise ProtocolgenError(f"{output} is out of date; run: protocolgen schema -o {output}")
        return
    if output is None:
        click.echo(text, nl=False)
    else:
        write_atomic(output, text)
        click.echo(f"wrote {output}")


@main.command()
@STUDY_ARG
@click.option("--strict", is_flag=True, help="Exit 1 when any item is empty or TBD.")
@click.option("--all", "show_all", is_flag=True, help="List complete items too.")
def check(study: Path, strict: bool, show_all: bool) -> None:
    """Report which ICH M11 sections, SPIRIT 2025 items and consent elements are empty or TBD.

    Items that protocol reviewers most often find missing are marked with *.

    \b
    Example:
      protocolgen check protocol/iri-apa-sclc --strict
    """
    from .completeness import check_completeness
    from .study import load_study

    loaded = load_study(study)
    items = check_completeness(loaded.document.data, randomized=loaded.study.design.randomized)
    for checklist in ("ICH M11", "SPIRIT 2025", "Consent (ICH E6(R3))"):
        group = [i for i in items if i.checklist == checklist]
        done = sum(i.ok for i in group)
        click.echo(f"{checklist}: {done}/{len(group)} complete or not applicable")
        for item in group:
            if item.ok and not show_all:
                continue
            mark = "*" if item.often_missing else " "
            detail = f" ({'; '.join(item.fields)})" if item.fields else ""
            click.echo(f"  {mark} {item.id:<9} {item.title:<46} {item.status}{detail}")
    missing = [i for i in items if not i.ok]
    if missing and strict:
        raise ProtocolgenError(f"{len(missing)} checklist item(s) are empty or TBD")


@main.group()
def render() -> None:
    """Render documents from a study.

    \b
    Example:
      protocolgen render protocol protocol/resilient --format docx,pdf
    """


TEMPLATES_OPT = click.option(
    "--templates", type=click.Path(path_type=Path), default=Path("templates"), show_default=True,
    help="Template folder: protocol/, consent/<locale>/, style/ (reference.docx, …).")


@render.command("protocol")
@STUDY_ARG
@click.option("--format", "formats", default="docx,pdf,html,md", show_default=True,
              help="Comma-separated formats: docx, pdf, html, md.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>].")
@TEMPLATES_OPT
def render_protocol_command(study: Path, formats: str, output: Path | None,
                            templates: Path) -> None:
    """Render the ICH M11-structured protocol as DOCX, PDF, HTML and markdown.

    Files are named <PROTOCOL-NO>_protocol_v<VERSION>.<format>.

    \b
    Example:
      protocolgen render protocol protocol/iri-apa-sclc --format docx,pdf -o build/out
    """
    from .documents import RenderOptions, parse_formats, render_protocol
    from .study import load_study

    loaded = load_study(study)
    try:
        wanted = parse_formats(formats)
    except ProtocolgenError as exc:
        raise click.BadParameter(exc.message, param_hint="--format") from exc
    out = output or Path("build") / loaded.slug
    for path in render_protocol(loaded.study, out, RenderOptions(templates, wanted)):
        click.echo(f"wrote {path}")


@render.command("consent")
@STUDY_ARG
@click.option("--format", "formats", default="docx,pdf,html,md", show_default=True,
              help="Comma-separated formats: docx, pdf, html, md.")
@click.option("--locale", default="en", show_default=True,
              help="Language: templates/consent/<locale>/ and the study's consent.locales.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>].")
@TEMPLATES_OPT
def render_consent_command(study: Path, formats: str, locale: str, output: Path | None,
                           templates: Path) -> None:
    """Render the participant information and consent form, and its readability report.

    Files are named <PROTOCOL-NO>_consent_v<CONSENT-VERSION>_<locale>.<format>. Sections
    harder to read than the study's consent.max_grade (Flesch-Kincaid) are warned about.

    \b
    Example:
      protocolgen render consent protocol/iri-apa-sclc --format pdf,docx --locale en
    """
    from .documents import RenderOptions, parse_formats, render_consent
    from .study import load_study

    loaded = load_study(study)
    try:
        wanted = parse_formats(formats)
    except ProtocolgenError as exc:
        raise click.BadParameter(exc.message, param_hint="--format") from exc
    out = output or Path("build") / loaded.slug
    files, warnings = render_consent(loaded.study, locale, out, RenderOptions(templates, wanted))
    for path in files:
        click.echo(f"wrote {path}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
