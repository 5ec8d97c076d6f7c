"""Regenerate templates/style/reference.docx: pandoc's default styles, in house style.

Run: .venv/bin/python tools/make_reference_docx.py. A company swaps in its own reference.docx
(same style names) to restyle every DOCX without touching code.
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import docx
from docx.enum.style import WD_STYLE_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

from protocolgen.pandoc import pandoc_path
from protocolgen.writers import write_atomic

OUT = Path(__file__).resolve().parent.parent / "templates" / "style" / "reference.docx"
NAVY = RGBColor(0x1F, 0x3B, 0x5C)


def _borders(style: docx.styles.style._TableStyle) -> None:
    tbl_pr = style.element.find(qn("w:tblPr"))
    if tbl_pr is None:
        tbl_pr = OxmlElement("w:tblPr")
        style.element.append(tbl_pr)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        for key, value in (("val", "single"), ("sz", "4"), ("space", "0"), ("color", "7A8899")):
            el.set(qn(f"w:{key}"), value)
        borders.append(el)
    tbl_pr.append(borders)


def main() -> None:
    raw = subprocess.run([pandoc_path(), "--print-default-data-file", "reference.docx"],
                         capture_output=True, check=True).stdout
    document = docx.Document(io.BytesIO(raw))
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    styles = document.styles
    for name in ("Normal", "Body Text", "First Paragraph", "Compact"):
        styles[name].font.name = "Calibri"
        styles[name].font.size = Pt(10.5)
    for level, size in ((1, 15), (2, 12.5), (3, 11), (4, 10.5)):
        style = styles[f"Heading {level}"]
        style.font.name, style.font.size, style.font.bold = "Calibri", Pt(size), True
        style.font.color.rgb = NAVY
        style.paragraph_format.keep_with_next = True
    styles["Heading 1"].paragraph_format.page_break_before = True
    for name in ("Table Caption", "Image Caption"):
        styles[name].font.bold, styles[name].font.italic = True, False
        styles[name].font.size = Pt(9.5)
        styles[name].font.color.rgb = NAVY
    styles["TOC Heading"].font.color.rgb = NAVY
    table = styles["Table"]
    _borders(table)
    table.font.size = Pt(9)
    if "Compact" in [s.name for s in styles if s.type == WD_STYLE_TYPE.PARAGRAPH]:
        styles["Compact"].paragraph_format.space_after = Pt(1)
    buffer = io.BytesIO()
    document.save(buffer)
    write_atomic(OUT, buffer.getvalue())
    print(f"wrote {OUT.relative_to(Path.cwd())}")


if __name__ == "__main__":
    main()
