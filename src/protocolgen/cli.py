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
    from .validate import check_site_holidays

    loaded = load_study(study)
    for problem in check_site_holidays(loaded.document):
        click.echo(str(problem), err=True)
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


FORMATS_OPT = click.option("--format", "formats", default="docx,pdf,html,md", show_default=True,
                           help="Comma-separated formats: docx, pdf, html, md.")


def _formats(text: str, allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Parse --format; a bad value is a usage error (exit 2)."""
    from .documents import FORMATS, parse_formats

    try:
        return parse_formats(text, allowed or FORMATS)
    except ProtocolgenError as exc:
        raise click.BadParameter(exc.message, param_hint="--format") from exc


TEMPLATES_OPT = click.option(
    "--templates", type=click.Path(path_type=Path), default=Path("templates"), show_default=True,
    help="Template folder: protocol/, consent/<locale>/, style/ (reference.docx, …).")


@render.command("protocol")
@STUDY_ARG
@FORMATS_OPT
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>].")
@TEMPLATES_OPT
def render_protocol_command(study: Path, formats: str, output: Path | None,
                            templates: Path) -> None:
    """Render the ICH M11-structured protocol as DOCX, PDF, HTML and markdown.

    Files are named <PROTOCOL-NO>_protocol_v<VERSION>.<format>. Section 6.7 states the
    allocation list's commitment from build/<study>/allocation/ when `allocate` made one.

    \b
    Example:
      protocolgen render protocol protocol/iri-apa-sclc --format docx,pdf -o build/out
    """
    from .allocation_output import read_commitment
    from .documents import RenderOptions, render_protocol
    from .study import load_study

    loaded = load_study(study)
    wanted = _formats(formats)
    out = output or Path("build") / loaded.slug
    allocation = Path("build") / loaded.slug / "allocation"
    sha = read_commitment(allocation, loaded.study)
    from .amendment import current_amendment_changes

    changes = current_amendment_changes(loaded)
    for path in render_protocol(loaded.study, out,
                                RenderOptions(templates, wanted, sha, changes)):
        click.echo(f"wrote {path}")
    if sha:
        click.echo(f"section 6.7 states the allocation commitment {sha} from {allocation}")


@render.command("consent")
@STUDY_ARG
@FORMATS_OPT
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
    from .documents import RenderOptions, render_consent
    from .study import load_study

    loaded = load_study(study)
    wanted = _formats(formats)
    out = output or Path("build") / loaded.slug
    files, warnings = render_consent(loaded.study, locale, out, RenderOptions(templates, wanted))
    for path in files:
        click.echo(f"wrote {path}")
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)


# --- allocate ------------------------------------------------------------------------------

_SUBCOMMAND = "protocolgen.allocate.subcommand"


class _AllocateGroup(click.Group):
    """``allocate [STUDY] …`` makes a list; ``allocate verify LIST …`` checks one. A first
    argument naming a subcommand goes to it (the optional STUDY must not swallow it)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] in self.commands:
            ctx.meta[_SUBCOMMAND] = args
            return super().parse_args(ctx, [])
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        args = ctx.meta.pop(_SUBCOMMAND, None)
        if args is None:
            return super().invoke(ctx)
        name, command, rest = self.resolve_command(ctx, args)
        assert name is not None and command is not None
        ctx.invoked_subcommand = name
        with ctx:
            click.Command.invoke(self, ctx)
            sub_ctx = command.make_context(name, rest, parent=ctx)
            with sub_ctx:
                return sub_ctx.command.invoke(sub_ctx)


class _StudyArgument(click.Argument):
    """STUDY of ``allocate``: left out of the usage line of ``allocate verify``."""

    def get_usage_pieces(self, ctx: click.Context) -> list[str]:
        # click asks with the subcommand's context when it builds the subcommand's usage line
        return super().get_usage_pieces(ctx) if isinstance(ctx.command, click.Group) else []


def _seed_from(seed: str | None, seed_file: Path | None) -> Any:
    from .allocation import SeedError, parse_seed
    from .allocation_output import read_seed_file

    if seed is not None and seed_file is not None:
        raise click.UsageError("give the seed once: --seed or --seed-file, not both")
    try:
        if seed is not None:
            return parse_seed(seed)
        return read_seed_file(seed_file) if seed_file is not None else None
    except SeedError as exc:
        raise click.BadParameter(exc.message,
                                 param_hint="--seed" if seed is not None else "--seed-file") \
            from exc


SEED_OPT = click.option("--seed", default=None, metavar="SEED",
                        help="Seed of at least 128 bits: decimal, or hex (0x…).")
SEED_FILE_OPT = click.option("--seed-file", type=click.Path(path_type=Path), default=None,
                             help="Read the seed from this file (e.g. the sealed seed file).")


@main.group(cls=_AllocateGroup, invoke_without_command=True,
            context_settings={"allow_interspersed_args": True},
            subcommand_metavar="| allocate verify LIST --seed SEED [STUDY]")
@click.argument("study", cls=_StudyArgument, type=click.Path(path_type=Path),
                default="protocol/iri-apa-sclc", required=False)
@SEED_OPT
@SEED_FILE_OPT
@click.option("--size", type=click.IntRange(min=1), default=None,
              help="Participants the list is for [default: design.sample_size.planned].")
@click.option("--per-site", is_flag=True, help="Keep separate lists per site (also when the "
              "study's randomization.by_site is false).")
@click.option("--sequential", is_flag=True,
              help="Single-arm study: plain sequential treatment numbers per site.")
@click.option("--surplus", default=None, metavar="FRACTION",
              help="Extra entries per stratum, e.g. 0.2 [default: randomization.surplus].")
@click.option("--format", "formats", default="md,docx,pdf", show_default=True,
              help="Report formats: md, docx, pdf, html.")
@click.option("--force", is_flag=True,
              help="Replace existing files, keeping each old one under a new name.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>/allocation].")
@TEMPLATES_OPT
@click.pass_context
def allocate(ctx: click.Context, study: Path, seed: str | None, seed_file: Path | None,
             size: int | None, per_site: bool, sequential: bool, surplus: str | None,
             formats: str, force: bool, output: Path | None, templates: Path) -> None:
    """Make the sealed treatment allocation list, REDCap tables and randomization report.

    The list is reproducible from the seed (docs/randomization.md), written owner-only and
    never overwritten. Without --seed a 256-bit seed is drawn from the OS's secure source
    and written only to a sealed seed file beside the list. `allocate verify` re-derives a
    list from its seed and checks it byte for byte and against its commitment.

    \b
    Example:
      protocolgen allocate protocol/resilient \\
          --seed 0x9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
      protocolgen allocate verify build/resilient/allocation/RESILIENT-EX-01_allocation.csv \\
          --seed-file build/resilient/allocation/RESILIENT-EX-01_allocation_seed.txt
    """
    if ctx.invoked_subcommand is not None:
        return
    from .allocation import parse_surplus
    from .allocation_output import allocate_study, write_allocation_outputs
    from .study import load_study

    seed_value = _seed_from(seed, seed_file)
    wanted = _formats(formats)
    try:
        surplus = parse_surplus(surplus) if surplus is not None else None
    except ProtocolgenError as exc:
        raise click.BadParameter(exc.message, param_hint="--surplus") from exc
    loaded = load_study(study)
    outputs = allocate_study(loaded.study, seed=seed_value, size=size, per_site=per_site,
                             sequential=sequential, surplus=surplus, template_root=templates,
                             formats=wanted)
    out = output or Path("build") / loaded.slug / "allocation"
    written, kept = write_allocation_outputs(outputs, out, force=force)
    for old, new in kept:
        click.echo(f"kept the old {old} as {new}")
    for path in written:
        click.echo(f"wrote {path}")
    for warning in outputs.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"{outputs.entries} entries in {outputs.strata} list(s)"
               + (f"; commitment {outputs.commitment}" if outputs.commitment else ""))
    if any(f.role == "seed" for f in outputs.files):
        click.echo("the seed was drawn from the OS's secure source and is only in the seed "
                   "file above: seal it")


@allocate.command("verify")
@click.argument("list_file", metavar="LIST", type=click.Path(path_type=Path))
@click.argument("study", type=click.Path(path_type=Path), required=False)
@SEED_OPT
@SEED_FILE_OPT
@click.option("--commitment", default=None, metavar="SHA256",
              help="Also check against this commitment (e.g. the one in the protocol).")
def allocate_verify(list_file: Path, study: Path | None, seed: str | None,
                    seed_file: Path | None, commitment: str | None) -> None:
    """Re-derive an allocation list from its seed and check it byte for byte.

    Also checks the salted commitment recorded in the manifest beside the list, the REDCap
    tables named there, and, given STUDY, that the study still gives the list's parameters.
    Exit 1 on any difference.

    \b
    Example:
      protocolgen allocate verify build/resilient/allocation/RESILIENT-EX-01_allocation.csv \\
          --seed-file sealed/RESILIENT-EX-01_allocation_seed.txt protocol/resilient
    """
    from .allocation_output import verify_allocation
    from .study import load_study

    seed_value = _seed_from(seed, seed_file)
    loaded = load_study(study).study if study is not None else None
    result = verify_allocation(list_file, seed_value, study=loaded,
                               expected_commitment=commitment)
    for line in result.lines:
        click.echo(line)
    click.echo("verified")


def _load_pair(old: str, new: str) -> tuple[Any, Any]:
    """Load OLD and NEW (folders, history versions or git revisions) and compare them."""
    from .amendment import compare_versions
    from .study import DEFAULT_STUDY
    from .versions import load_version, previous_version, temporary_workdir

    with temporary_workdir() as tmp:
        study = Path(new) if Path(new).exists() else DEFAULT_STUDY
        new_loaded = load_version(new, study, Path(tmp))
        if old == "previous":
            old = str(previous_version(Path(new), new_loaded.study.version.number)) \
                if Path(new).exists() else old
        old_loaded = load_version(old, study, Path(tmp))
    return compare_versions(old_loaded, new_loaded), new_loaded


@main.command("diff")
@click.argument("old")
@click.argument("new", default="protocol/iri-apa-sclc")
@FORMATS_OPT
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>/diff].")
@TEMPLATES_OPT
def diff_command(old: str, new: str, formats: str, output: Path | None,
                 templates: Path) -> None:
    """Compare two versions: summary of changes, tracked-changes redline, clean version.

    OLD and NEW are study folders, git revisions (v1.0, HEAD~1, or REV:path/to/study, read
    with git show without touching the work tree), or OLD=previous for the latest version
    kept under NEW's history/ folder.

    \b
    Example:
      protocolgen diff protocol/iri-apa-sclc/history/1.0 protocol/iri-apa-sclc
      protocolgen diff previous protocol/iri-apa-sclc --format docx,pdf
    """
    from .amendment import write_amendment_documents
    from .documents import RenderOptions

    wanted = _formats(formats)
    amendment, loaded = _load_pair(old, new)
    out = output or Path("build") / loaded.slug / "diff"
    click.echo(f"{len(amendment.changes)} change(s) from v{amendment.old.study.version.number} "
               f"to v{amendment.new.study.version.number}")
    for path in write_amendment_documents(amendment, out, RenderOptions(templates, wanted)):
        click.echo(f"wrote {path}")


@main.command("package")
@STUDY_ARG
@click.option("--from", "old", default="previous", show_default=True,
              help="The version amended: a folder, a git revision or 'previous'.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>/ethics].")
@TEMPLATES_OPT
def package_command(study: Path, old: str, output: Path | None, templates: Path) -> None:
    """Build the ethics-committee submission zip for the study's current amendment.

    The zip holds the clean protocol, its redline and the summary of changes (DOCX and PDF),
    the consent documents, a cover-letter draft and SHA256SUMS for every file.

    \b
    Example:
      protocolgen package protocol/iri-apa-sclc --from protocol/iri-apa-sclc/history/1.0
    """
    from .amendment import require_changes_known, write_ethics_package
    from .documents import RenderOptions

    amendment, loaded = _load_pair(old, str(study))
    require_changes_known(amendment)
    out = output or Path("build") / loaded.slug / "ethics"
    path = write_ethics_package(amendment, out, RenderOptions(templates))
    click.echo(f"wrote {path}")


class _IsoDate(click.ParamType):
    """A ``YYYY-MM-DD`` date, and nothing else."""

    name = "YYYY-MM-DD"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> Any:
        from .calendars import parse_date

        try:
            return parse_date(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@main.command("calendar")
@click.argument("subject_id", required=False)
@click.argument("study", type=click.Path(path_type=Path), required=False)
@click.option("--anchor-date", type=_IsoDate(), help="Study day 1 (the first dose).")
@click.option("--site", help="Site id; needed when the study has more than one site.")
@click.option("--arm", help="Arm id; needed when the study has more than one arm.")
@click.option("--format", "formats", default="ics,csv,html,pdf", show_default=True,
              help="Comma-separated formats: ics, csv, html, pdf.")
@click.option("--cycles", type=click.IntRange(1, 500),
              help="Treatment cycles to project [default: the study's default_cycles].")
@click.option("--until", type=_IsoDate(), help="Project the cycles that start by this date.")
@click.option("--actual", type=click.Path(path_type=Path),
              help="CSV of the dates visits really happened (columns visit,date).")
@click.option("--roster", type=click.Path(path_type=Path),
              help="CSV of patients (subject,site,anchor_date[,arm][,actual]): one calendar each.")
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Output folder [default: build/<study>/calendars].")
@TEMPLATES_OPT
def calendar_command(subject_id: str | None, study: Path | None, anchor_date: Any,
                     site: str | None, arm: str | None, formats: str, cycles: int | None,
                     until: Any, actual: Path | None, roster: Path | None,
                     output: Path | None, templates: Path) -> None:
    """Write a patient's visit calendar: each visit's date, window and activities.

    Cycle visits follow each cycle's day 1, tumour assessments keep a fixed calendar from
    study day 1, follow-up counts from the end of treatment; --actual dates re-anchor the
    later visits. A date on a weekend or public holiday at the site moves to the nearest
    working day in its window (flagged when there is none). With --roster, one calendar per
    row; bad rows are reported and the others still written (exit 1 if any failed).

    \b
    Example:
      protocolgen calendar 1001 --anchor-date 2026-03-02 protocol/iri-apa-sclc
      protocolgen calendar R-007 --anchor-date 2026-03-04 protocol/resilient \\
          --site S02 --arm ARM-TOPO --actual actual-R-007.csv --format ics,pdf
      protocolgen calendar --roster roster.csv protocol/resilient --format ics,csv
    """
    import contextlib

    from .calendars import FORMATS as CALENDAR_FORMATS
    from .calendars import CalendarMaker, count_rows
    from .study import load_study
    from .visits import Horizon

    if cycles is not None and until is not None:
        raise click.UsageError("give --cycles or --until, not both")
    if roster is not None:
        if subject_id is not None and study is not None:
            raise click.UsageError("with --roster, give no SUBJECT_ID: the roster lists them")
        study = study or (Path(subject_id) if subject_id else None)
        given = [n for n, v in (("--anchor-date", anchor_date), ("--site", site),
                                ("--arm", arm), ("--actual", actual)) if v is not None]
        if given:
            raise click.UsageError(f"with --roster, the roster gives each patient's site, "
                                   f"anchor date, arm and actual dates: drop {', '.join(given)}")
    elif subject_id is None or anchor_date is None:
        raise click.UsageError("give SUBJECT_ID and --anchor-date (or --roster FILE)")
    elif until is not None and until < anchor_date:
        raise click.BadParameter(f"{until} is before the anchor date {anchor_date}",
                                 param_hint="--until")
    wanted = _formats(formats, CALENDAR_FORMATS)
    loaded = load_study(study or Path("protocol/iri-apa-sclc"))
    out = output or Path("build") / loaded.slug / "calendars"
    maker = CalendarMaker(loaded, out, formats=wanted, horizon=Horizon(cycles, until),
                          template_dir=templates)
    if roster is None:
        for value, hint, check in ((site, "--site", maker.site), (arm, "--arm", maker.arm)):
            try:
                check(value)
            except ProtocolgenError as exc:
                if value is None:
                    raise click.UsageError(f"{hint} is needed: {exc.message}") from exc
                raise click.BadParameter(exc.message, param_hint=hint) from exc
        for path in maker.make(str(subject_id), site, arm, anchor_date, actual):
            click.echo(f"wrote {path}")
        return
    results = maker.run_roster(roster)
    bar = click.progressbar(results, length=count_rows(roster), label="calendars",
                            file=sys.stderr) if sys.stderr.isatty() else \
        contextlib.nullcontext(results)
    problems: list[Any] = []
    done, failed = 0, 0
    with bar as rows:
        for result in rows:
            problems.extend(result.problems)
            done, failed = done + (not result.problems), failed + bool(result.problems)
    for problem in dict.fromkeys(problems):
        click.echo(str(problem), err=True)
    summary = f"wrote calendars for {done} of {done + failed} patient(s) to {out}"
    if failed:
        raise ProtocolgenError(f"{summary}; {failed} roster row(s) had errors (listed above)")
    click.echo(summary)
