"""The only place pandoc and typst run. Their failures become one clear error.

pandoc comes from pypandoc-binary (no system pandoc) and always runs with ``--sandbox``; PDF
goes pandoc → typst markup → the ``typst`` package. Both are imported only when rendering.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import ProtocolgenError

# Raw HTML/TeX/attributes and citations are off: study text can never inject markup.
INPUT_FORMAT = "markdown-raw_html-raw_tex-raw_attribute-citations"


class RenderError(ProtocolgenError):
    """pandoc or typst failed."""


@cache
def pandoc_path() -> str:
    import pypandoc  # heavy-ish, only when rendering

    return str(pypandoc.get_pandoc_path())


def _filter_path() -> str:
    return str(resources.files(__package__).joinpath("filters", "layout.lua"))


def run_pandoc(markdown: str, to: str, args: list[str], *, epoch: int) -> bytes:
    """Convert ``markdown`` to format ``to``; ``epoch`` fixes every timestamp pandoc writes."""
    cmd = [pandoc_path(), "--sandbox", "-f", INPUT_FORMAT, "-t", to,
           "--lua-filter", _filter_path(), *args, "-o", "-"]
    env = {**os.environ, "SOURCE_DATE_EPOCH": str(epoch)}
    try:
        done = subprocess.run(cmd, input=markdown.encode("utf-8"), capture_output=True,
                              env=env, check=False, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RenderError(f"pandoc could not run: {exc}") from exc
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise RenderError(f"pandoc failed converting to {to}: "
                          f"{message[0] if message else 'exit ' + str(done.returncode)}")
    return done.stdout


def svg_to_png(svg: bytes, *, ppi: int = 160) -> bytes:
    """Rasterize an SVG figure with typst (Word and LibreOffice need a PNG in DOCX)."""
    return compile_typst('#set page(width: auto, height: auto, margin: 0pt)\n'
                         '#image("figure.svg")\n', {"figure.svg": svg}, epoch=0,
                         output_format="png", ppi=ppi)


def compile_typst(source: str, files: dict[str, bytes], *, epoch: int,
                  output_format: str = "pdf", ppi: int | None = None) -> bytes:
    """Compile typst markup to PDF with only the bundled fonts, so output is reproducible."""
    import datetime as dt

    import typst

    with tempfile.TemporaryDirectory(prefix="protocolgen-typst-") as tmp:
        root = Path(tmp)
        for name, data in files.items():
            (root / name).write_bytes(data)
        main = root / "main.typ"
        main.write_text(source, encoding="utf-8")
        try:
            pdf = typst.compile(  # type: ignore[call-overload]  # format is a plain str
                str(main), root=str(root), font_paths=[], ignore_system_fonts=True,
                format=output_format, ppi=ppi,
                timestamp=dt.datetime.fromtimestamp(epoch, dt.UTC))
        except Exception as exc:  # typst raises its own error types
            first = str(exc).strip().splitlines()
            raise RenderError(f"typst failed: {first[0] if first else exc}") from exc
    if not isinstance(pdf, bytes):
        raise RenderError(f"typst returned no {output_format.upper()}")
    return pdf
