"""Finish a pandoc DOCX: page header and "Page X of Y" footer on every section, repeating
table header rows, and fixed zip timestamps so the same study gives the same bytes."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import docx
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from docx.text.paragraph import Paragraph


def _field(paragraph: Paragraph, code: str, placeholder: str) -> None:
    def fld(kind: str) -> Any:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    run = paragraph.add_run()
    run._r.append(fld("begin"))
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {code} "
    run._r.append(instr)
    run._r.append(fld("separate"))
    paragraph.add_run(placeholder)
    end = paragraph.add_run()
    end._r.append(fld("end"))


def _style_small(paragraph: Paragraph) -> None:
    for run in paragraph.runs:
        run.font.size = Pt(8.5)


def _unique_revision_ids(document: docx.document.Document) -> int:
    """pandoc numbers insertions and deletions from 1 each; Word needs one id per revision."""
    body = document.element.body
    revisions = [el for el in body.iter(qn("w:ins"), qn("w:del"))]
    for number, el in enumerate(revisions, start=1):
        el.set(qn("w:id"), str(number))
    return len(revisions)


def finish_docx(data: bytes, *, header: str, footer: str, epoch_date: tuple[int, ...],
                track_changes: bool = False) -> bytes:
    """Add header/footer text and page fields; mark first table rows as repeating headers.

    With ``track_changes`` (a redline), revision ids are made unique and Word opens the
    document with Track Changes on.
    """
    document = docx.Document(io.BytesIO(data))
    if track_changes:
        _unique_revision_ids(document)
        document.settings.element.append(OxmlElement("w:trackRevisions"))
    for index, section in enumerate(document.sections):
        if index:
            section.header.is_linked_to_previous = True
            section.footer.is_linked_to_previous = True
            continue
        head = section.header.paragraphs[0]
        head.text = header
        _style_small(head)
        foot = section.footer.paragraphs[0]
        foot.text = f"{footer}    Page "
        _field(foot, "PAGE", "1")
        foot.add_run(" of ")
        _field(foot, "NUMPAGES", "1")
        _style_small(foot)
    for table in document.tables:
        if table.rows:
            tr_pr = table.rows[0]._tr.get_or_add_trPr()
            if tr_pr.find(qn("w:tblHeader")) is None:  # pandoc marks most header rows itself
                flag = OxmlElement("w:tblHeader")
                flag.set(qn("w:val"), "true")
                tr_pr.append(flag)
            if tr_pr.find(qn("w:cantSplit")) is None:
                tr_pr.append(OxmlElement("w:cantSplit"))
    update = OxmlElement("w:updateFields")  # Word fills the TOC and page count on opening
    update.set(qn("w:val"), "true")
    document.settings.element.append(update)
    buffer = io.BytesIO()
    document.save(buffer)
    return _fix_zip_times(buffer.getvalue(), epoch_date)


def _fix_zip_times(data: bytes, date_time: tuple[int, ...]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=date_time[:6])  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename))
    return out.getvalue()
