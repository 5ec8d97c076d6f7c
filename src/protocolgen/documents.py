"""Render the protocol document: model → markdown (jinja2) → DOCX, HTML, PDF (pandoc, typst)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .errors import ProtocolgenError
from .figures import render_trial_schema_svg
from .glossary import collect_abbreviations
from .model import Study
from .protocol import build_protocol_context
from .render import escape_markdown, make_environment, render_template
from .writers import write_atomic

FORMATS = ("md", "docx", "html", "pdf")
_FIGURE = "@@FIGURE@@"
_GLOSSARY = "@@GLOSSARY@@"


@dataclass(frozen=True)
class RenderOptions:
    """Where templates live and what to render."""

    template_dir: Path
    formats: tuple[str, ...] = FORMATS
    allocation_sha256: str | None = None


def file_stem(study: Study, kind: str) -> str:
    """``<PROTOCOL-NO>_<kind>_v<version>``, safe for any file system."""
    number = re.sub(r"[^A-Za-z0-9._-]+", "-", study.identification.protocol_number)
    return f"{number}_{kind}_v{study.version.number}"


def epoch_of(study: Study) -> int:
    """The version date as a Unix time: every timestamp in the outputs comes from it."""
    return int(dt.datetime.combine(study.version.date, dt.time(), dt.UTC).timestamp())


def parse_formats(text: str) -> tuple[str, ...]:
    formats = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise ProtocolgenError(f"unknown format {', '.join(unknown) or text!r}; "
                               f"choose from {','.join(FORMATS)}")
    return formats


def render_protocol_markdown(study: Study, options: RenderOptions) -> str:
    """The protocol as pandoc markdown; the figure reference is a placeholder."""
    env = make_environment(options.template_dir)
    context = build_protocol_context(study, figure=_FIGURE,
                                     allocation_sha256=options.allocation_sha256)
    text = render_template(env, "protocol.md.j2", context)
    terms = collect_abbreviations(text, study.glossary)
    rows = "\n".join(f"| {escape_markdown(t)} | {escape_markdown(d)} |" for t, d in terms)
    glossary = ("| Abbreviation or term | Meaning |\n|---|---|\n" + rows +
                "\n\n: Abbreviations and terms\n") if terms else "None."
    return text.replace(_GLOSSARY, glossary)


def render_protocol(study: Study, out_dir: Path, options: RenderOptions) -> list[Path]:
    """Write the protocol in each requested format; return the files written."""
    from .pandoc import compile_typst, run_pandoc  # heavy: only when rendering

    stem = file_stem(study, "protocol")
    markdown = render_protocol_markdown(study, options)
    svg = render_trial_schema_svg(study).encode("utf-8")
    svg_name = f"{stem}_schema.svg"
    data_uri = "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")
    inline = markdown.replace(_FIGURE, data_uri)
    epoch = epoch_of(study)
    ident, version = study.identification, study.version
    title = f"{ident.protocol_number} protocol v{version.number}"
    header = f"{ident.protocol_number} · {ident.short_title}"
    footer = f"Version {version.number} ({version.status}) · {version.date.isoformat()}"
    templates = options.template_dir
    meta = ["-M", f"pagetitle={title}", "-M", "lang=en", "--wrap=none"]

    def docx() -> bytes:
        from .docx_finish import finish_docx

        raw = run_pandoc(inline, "docx", [*meta, "--reference-doc",
                                          str(templates / "reference.docx")], epoch=epoch)
        return finish_docx(raw, header=header, footer=footer,
                           epoch_date=study.version.date.timetuple()[:6])

    def html() -> bytes:
        return run_pandoc(inline, "html5", [*meta, "--standalone", "--embed-resources",
                                            "--toc", "--toc-depth=3",
                                            "--template", str(templates / "protocol.html")],
                          epoch=epoch)

    def pdf() -> bytes:
        typ = run_pandoc(markdown.replace(_FIGURE, "schema.svg"), "typst",
                         [*meta, "--template", str(templates / "protocol.typ"),
                          "-M", f"header-left={ident.protocol_number}",
                          "-M", f"header-right={ident.short_title}",
                          "-M", f"footer-left={footer}"], epoch=epoch)
        return compile_typst(typ.decode("utf-8"), {"schema.svg": svg}, epoch=epoch)

    jobs = {"docx": docx, "html": html, "pdf": pdf}
    written: list[Path] = []
    if "md" in options.formats:
        written.append(write_atomic(out_dir / f"{stem}.md", markdown.replace(_FIGURE, svg_name)))
        written.append(write_atomic(out_dir / svg_name, svg))
    wanted = [f for f in options.formats if f in jobs]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = {f: pool.submit(jobs[f]) for f in wanted}
        for fmt in wanted:
            written.append(write_atomic(out_dir / f"{stem}.{fmt}", results[fmt].result()))
    return written
