"""Render documents: model → markdown (jinja2) → DOCX, HTML, PDF (pandoc, typst).

``write_document`` is shared by every document (protocol, consent, reports); the styles live in
``templates/style/`` (reference.docx, document.html, document.typ).
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ProtocolgenError
from .figures import render_trial_schema_svg
from .glossary import collect_abbreviations
from .model import Study
from .protocol import build_protocol_context
from .render import escape_markdown, make_environment, render_template
from .writers import write_atomic

FORMATS = ("md", "docx", "html", "pdf")
FIGURE = "@@FIGURE:{name}@@"
_GLOSSARY = "@@GLOSSARY@@"


@dataclass(frozen=True)
class RenderOptions:
    """Where templates live (protocol/, consent/<locale>/, style/) and what to render."""

    template_root: Path
    formats: tuple[str, ...] = FORMATS
    allocation_sha256: str | None = None
    changes: tuple[Any, ...] | None = None  # diff.Change from the previous version


@dataclass(frozen=True)
class Document:
    """A rendered markdown document, ready to convert."""

    markdown: str  # figures referenced as FIGURE.format(name=…)
    stem: str  # file name without extension
    title: str
    header_left: str
    header_right: str
    footer: str
    date: dt.date
    figures: dict[str, bytes] = field(default_factory=dict)  # name → SVG bytes
    lang: str = "en"
    redline: bool = False  # tracked changes: unique ids, Track Changes on in Word


def file_stem(study: Study, kind: str, version: str | None = None, suffix: str = "") -> str:
    """``<PROTOCOL-NO>_<kind>_v<version>[_suffix]``, safe for any file system."""
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", study.identification.protocol_number)
    tail = f"_{suffix}" if suffix else ""
    return f"{number}_{kind}_v{version or study.version.number}{tail}"


def epoch_of(day: dt.date) -> int:
    """A date as a Unix time: every timestamp in the outputs comes from the study."""
    return int(dt.datetime.combine(day, dt.time(), dt.UTC).timestamp())


def parse_formats(text: str, allowed: tuple[str, ...] = FORMATS) -> tuple[str, ...]:
    """``"pdf, docx"`` → ``("pdf", "docx")``; an unknown format is an error naming the choices."""
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in allowed]
    if unknown or not formats:
        raise ProtocolgenError(f"unknown format {', '.join(unknown) or text!r}; "
                               f"choose from {','.join(allowed)}")
    return formats


def _with_figures(markdown: str, refs: dict[str, str]) -> str:
    for name, ref in refs.items():
        markdown = markdown.replace(FIGURE.format(name=name), ref)
    return markdown


def write_document(doc: Document, out_dir: Path, template_root: Path,
                   formats: tuple[str, ...]) -> list[Path]:
    """Write ``doc`` in each format (the slow ones side by side); return the files written."""
    from .pandoc import compile_typst, run_pandoc  # heavy: only when rendering

    style = template_root / "style"
    epoch = epoch_of(doc.date)
    files = {f"{doc.stem}_{name}.svg": data for name, data in doc.figures.items()}
    inline = _with_figures(doc.markdown, {
        name: "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
        for name, data in doc.figures.items()})
    meta = ["-M", f"pagetitle={doc.title}", "-M", f"lang={doc.lang}", "--wrap=none"]

    def docx() -> bytes:
        from .docx_finish import finish_docx
        from .pandoc import svg_to_png

        with_png = _with_figures(doc.markdown, {
            name: "data:image/png;base64," + base64.b64encode(svg_to_png(data)).decode("ascii")
            for name, data in doc.figures.items()})
        raw = run_pandoc(with_png, "docx", [*meta, "--reference-doc",
                                            str(style / "reference.docx")], epoch=epoch)
        return finish_docx(raw, header=f"{doc.header_left} · {doc.header_right}",
                           footer=doc.footer, epoch_date=doc.date.timetuple()[:6],
                           track_changes=doc.redline)

    def html() -> bytes:
        return run_pandoc(inline, "html5", [*meta, "--standalone", "--embed-resources", "--toc",
                                            "--toc-depth=3", "--template",
                                            str(style / "document.html")], epoch=epoch)

    def pdf() -> bytes:
        source = _with_figures(doc.markdown, {name: f"{name}.svg" for name in doc.figures})
        typ = run_pandoc(source, "typst", [*meta, "--template", str(style / "document.typ"),
                                           "-M", f"header-left={doc.header_left}",
                                           "-M", f"header-right={doc.header_right}",
                                           "-M", f"footer-left={doc.footer}"], epoch=epoch)
        return compile_typst(typ.decode("utf-8"),
                             {f"{name}.svg": data for name, data in doc.figures.items()},
                             epoch=epoch)

    jobs = {"docx": docx, "html": html, "pdf": pdf}
    written: list[Path] = []
    if "md" in formats:
        written.append(write_atomic(out_dir / f"{doc.stem}.md", _with_figures(
            doc.markdown, {name: f"{doc.stem}_{name}.svg" for name in doc.figures})))
        written += [write_atomic(out_dir / name, data) for name, data in files.items()]
    wanted = [f for f in formats if f in jobs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {f: pool.submit(jobs[f]) for f in wanted}
        for fmt in wanted:
            written.append(write_atomic(out_dir / f"{doc.stem}.{fmt}", results[fmt].result()))
    return written


def render_protocol_markdown(study: Study, options: RenderOptions) -> str:
    """The protocol as pandoc markdown; the schema figure is a placeholder."""
    env = make_environment(options.template_root / "protocol")
    context = build_protocol_context(study, figure=FIGURE.format(name="schema"),
                                     allocation_sha256=options.allocation_sha256,
                                     changes=options.changes)
    text = render_template(env, "protocol.md.j2", context)
    terms = collect_abbreviations(text, study.glossary)
    rows = "\n".join(f"| {escape_markdown(t)} | {escape_markdown(d)} |" for t, d in terms)
    glossary = ("| Abbreviation or term | Meaning |\n|---|---|\n" + rows +
                "\n\n: Abbreviations and terms\n") if terms else "None."
    return text.replace(_GLOSSARY, glossary)


def protocol_document(study: Study, options: RenderOptions) -> Document:
    """The protocol, ready to write."""
    ident, version = study.identification, study.version
    return Document(
        markdown=render_protocol_markdown(study, options),
        stem=file_stem(study, "protocol"),
        title=f"{ident.protocol_number} protocol v{version.number}",
        header_left=ident.protocol_number, header_right=ident.short_title,
        footer=f"Version {version.number} ({version.status}) · {version.date.isoformat()}",
        date=version.date,
        figures={"schema": render_trial_schema_svg(study).encode("utf-8")})


def render_protocol(study: Study, out_dir: Path, options: RenderOptions) -> list[Path]:
    """Write the protocol in each requested format; return the files written."""
    return write_document(protocol_document(study, options), out_dir, options.template_root,
                          options.formats)


def render_consent_markdown(study: Study, locale: str, options: RenderOptions) -> str:
    """The consent form for ``locale`` as pandoc markdown."""
    from .consent import build_consent_context

    folder = options.template_root / "consent" / locale
    if not folder.is_dir():
        raise ProtocolgenError(f"no consent templates for locale {locale!r} "
                               f"(expected {folder}/consent.md.j2)")
    return render_template(make_environment(folder), "consent.md.j2",
                           build_consent_context(study, locale))


def consent_document(study: Study, locale: str, options: RenderOptions) -> Document:
    """The consent form, ready to write."""
    ident, version = study.identification, study.consent.version
    return Document(
        markdown=render_consent_markdown(study, locale, options),
        stem=file_stem(study, "consent", version, locale),
        title=f"{ident.protocol_number} consent v{version} ({locale})",
        header_left=ident.protocol_number, header_right="Participant information and consent",
        footer=f"Consent version {version} · protocol {study.version.number} · "
               f"{study.version.date.isoformat()}",
        date=study.version.date, lang=locale)


def readability_report(doc: Document, max_grade: float) -> tuple[str, list[str]]:
    """A markdown readability report of the consent, and a warning per hard section."""
    from .readability import score_sections

    scores = score_sections(doc.markdown)
    warnings = []
    lines = [f"# Readability of {escape_markdown(doc.stem)}", "",
             f"Flesch–Kincaid grade per section; the study's maximum is {max_grade:g}.", "",
             "| Section | Grade | Words per sentence | Sentences | Within limit |",
             "|---|---|---|---|---|"]
    for s in scores:
        ok = s.grade <= max_grade
        lines.append(f"| {escape_markdown(s.title)} | {s.grade:.1f} | "
                     f"{s.words_per_sentence:.1f} | {s.sentences} | {'yes' if ok else 'NO'} |")
        if not ok:
            hardest = "; ".join(f"{sentence!r} (grade {grade:.1f})"
                                for grade, sentence in s.hardest[:2])
            warnings.append(f"{doc.stem}: section {s.title!r} has Flesch-Kincaid grade "
                            f"{s.grade:.1f} (maximum {max_grade:g}); hardest: {hardest}")
    lines += ["", "## Warnings", ""] + ([f"- {escape_markdown(w)}" for w in warnings]
                                        or ["None."])
    return "\n".join(lines) + "\n", warnings


def render_consent(study: Study, locale: str, out_dir: Path,
                   options: RenderOptions) -> tuple[list[Path], list[str]]:
    """Write the consent form and its readability report; return files and warnings."""
    doc = consent_document(study, locale, options)
    written = write_document(doc, out_dir, options.template_root, options.formats)
    warnings: list[str] = []
    if locale.split("-")[0] == "en":
        report, warnings = readability_report(doc, study.consent.max_grade)
        written.append(write_atomic(out_dir / f"{doc.stem}_readability.md", report))
    return written, warnings
