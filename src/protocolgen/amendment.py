"""Amendments for ethics committees: summary of changes, redlines, clean documents, package.

``compare_versions`` checks the two versions belong together and computes the changes (pure);
the ``write_*`` functions render and write the documents.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .diff import Change, diff_studies
from .documents import (
    Document,
    RenderOptions,
    consent_document,
    file_stem,
    protocol_document,
    render_consent_markdown,
    write_document,
)
from .errors import ProtocolgenError
from .model import StudyAmendment
from .redline import redline_markdown
from .render import make_environment, render_template
from .study import LoadedStudy
from .versions import version_key
from .writers import write_atomic

CONSENT_LOCALE = "en"


@dataclass(frozen=True)
class Amendment:
    """Two versions of one study and what changed between them."""

    old: LoadedStudy
    new: LoadedStudy
    entry: StudyAmendment
    changes: tuple[Change, ...]

    @property
    def author(self) -> str:
        return self.entry.author or f"{self.new.study.identification.sponsor.name} (sponsor)"

    @property
    def date(self) -> str:
        return f"{self.entry.date.isoformat()}T00:00:00Z"


def compare_versions(old: LoadedStudy, new: LoadedStudy) -> Amendment:
    """Check that NEW amends OLD, then compare them by stable ids."""
    a, b = old.study, new.study
    if a.identification.protocol_number != b.identification.protocol_number:
        raise ProtocolgenError(f"OLD and NEW are different studies "
                               f"({a.identification.protocol_number} vs "
                               f"{b.identification.protocol_number})")
    if version_key(b.version.number) <= version_key(a.version.number):
        raise ProtocolgenError(f"NEW (version {b.version.number}) is not later than OLD "
                               f"(version {a.version.number}); give the older version first")
    entry = next((e for e in b.amendments if e.version == b.version.number), None)
    if entry is None:
        raise ProtocolgenError(f"version {b.version.number} has no entry in the study's "
                               "amendments (its summary, rationale and author are needed)")
    return Amendment(old, new, entry, tuple(diff_studies(old.document.data, new.document.data)))


def _protocol_docs(am: Amendment, options: RenderOptions) -> tuple[Document, Document]:
    """The clean new protocol (with its change table) and its redline against the old."""
    opts = dataclasses.replace(options, changes=am.changes)
    clean = protocol_document(am.new.study, opts)
    old = protocol_document(am.old.study, dataclasses.replace(options, changes=None))
    redline = dataclasses.replace(
        clean, markdown=redline_markdown(old.markdown, clean.markdown, author=am.author,
                                         date=am.date),
        stem=clean.stem + "_redline", title=clean.title + " (tracked changes)",
        header_right=f"{clean.header_right} · tracked changes from v{am.old.study.version.number}",
        redline=True)
    return clean, redline


def _consent_docs(am: Amendment, options: RenderOptions) -> tuple[Document, Document] | None:
    """Clean and redline consent when its text changed, else None."""
    old_md = render_consent_markdown(am.old.study, CONSENT_LOCALE, options)
    clean = consent_document(am.new.study, CONSENT_LOCALE, options)
    if old_md == clean.markdown:
        return None
    redline = dataclasses.replace(
        clean, markdown=redline_markdown(old_md, clean.markdown, author=am.author, date=am.date),
        stem=clean.stem + "_redline", title=clean.title + " (tracked changes)", redline=True)
    return clean, redline


def _amendment_document(am: Amendment, options: RenderOptions, template: str, kind: str,
                        title: str, header: str, **extra: object) -> Document:
    """A document about the amendment, from ``templates/amendment/<template>``."""
    study = am.new.study
    env = make_environment(options.template_root / "amendment")
    markdown = render_template(env, template, {
        "s": study, "old": am.old.study, "entry": am.entry, "changes": am.changes, **extra})
    return Document(
        markdown=markdown, stem=file_stem(study, kind),
        title=f"{study.identification.protocol_number} {title}",
        header_left=study.identification.protocol_number, header_right=header,
        footer=f"Amendment {am.entry.version} · {am.entry.date.isoformat()}",
        date=study.version.date)


def summary_document(am: Amendment, options: RenderOptions, consent_changed: bool) -> Document:
    """The summary of changes, in document order, with the amendment's reasons."""
    return _amendment_document(am, options, "summary.md.j2", "summary-of-changes",
                               f"summary of changes v{am.new.study.version.number}",
                               "Summary of changes", consent_changed=consent_changed)


def cover_letter_document(am: Amendment, options: RenderOptions, files: list[str]) -> Document:
    """A draft cover letter naming the amendment's reasons, impact and enclosed files."""
    return _amendment_document(am, options, "cover_letter.md.j2", "cover-letter",
                               f"amendment {am.entry.version} cover letter",
                               "Cover letter (draft)", files=files)


def write_amendment_documents(am: Amendment, out_dir: Path,
                              options: RenderOptions) -> list[Path]:
    """Summary of changes, protocol redline and clean version, consent likewise if changed."""
    clean, redline = _protocol_docs(am, options)
    consent = _consent_docs(am, options)
    docs = [summary_document(am, options, consent is not None), redline, clean]
    if consent:
        docs += [consent[1], consent[0]]
    written: list[Path] = []
    for doc in docs:
        written += write_document(doc, out_dir, options.template_root, options.formats)
    return written


def write_ethics_package(am: Amendment, out_dir: Path, options: RenderOptions) -> Path:
    """One zip for the ethics committee: every document, a cover letter and a manifest."""
    opts = dataclasses.replace(options, formats=("docx", "pdf"))
    files = write_amendment_documents(am, out_dir, opts)
    if not any("_consent_" in p.name for p in files):  # unchanged: the current one still goes
        consent = consent_document(am.new.study, CONSENT_LOCALE, opts)
        files += write_document(consent, out_dir, opts.template_root, opts.formats)
    letter = cover_letter_document(am, opts, sorted(p.name for p in files))
    files += write_document(letter, out_dir, opts.template_root, opts.formats)
    names = sorted({p.name: p for p in files if p.suffix in (".docx", ".pdf")}.items())
    manifest = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {name}\n"
                       for name, p in names)
    stamp = am.new.study.version.date.timetuple()[:6]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in [*names, ("SHA256SUMS", None)]:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, manifest if path is None else path.read_bytes())
    study = am.new.study
    zip_name = f"{file_stem(study, 'ethics-submission')}.zip"
    write_atomic(out_dir / "SHA256SUMS", manifest)
    return write_atomic(out_dir / zip_name, buffer.getvalue())


def require_changes_known(am: Amendment) -> None:
    """An amendment must change something."""
    if not am.changes:
        raise ProtocolgenError("the two versions have the same content: nothing to submit")


def current_amendment_changes(loaded: LoadedStudy) -> tuple[Change, ...] | None:
    """For a study whose version is an amendment, the changes from the previous version kept
    under ``history/`` (to fill the protocol's Amendment details); None when not known."""
    from .study import load_study
    from .versions import previous_version

    study = loaded.study
    if not any(e.version == study.version.number for e in study.amendments):
        return None
    try:
        old = load_study(previous_version(loaded.folder, study.version.number))
    except ProtocolgenError:
        return None
    return compare_versions(old, loaded).changes
