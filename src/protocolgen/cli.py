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
        except Exception as exc:  # noqa: BLE001 - the last line of defence
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
