"""One jinja2 environment for every document: strict, with markdown-escaping filters.

Plain text from the study is escaped before it reaches pandoc markdown (so ``*``, ``<script>``,
``|``, ``$x$``, ``@ref`` or ``![](/etc/passwd)`` print literally); fields the schema declares
as markdown pass through, and pandoc reads them with raw HTML/TeX disabled.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import jinja2

from .errors import ProtocolgenError

_PUNCT = re.compile(r"([\\`*_{}\[\]#+\-.!|<>$@~^\"'=&])")
_SPACES = re.compile(r"\s+")


def escape_markdown(value: Any) -> str:
    """Plain text → pandoc markdown that renders it literally, on one line."""
    if value is None:
        raise ProtocolgenError("a template printed a missing value (None)")
    text = _SPACES.sub(" ", str(value)).strip()
    return _PUNCT.sub(r"\\\1", text)


def markdown_block(value: Any) -> str:
    """A field the schema declares as markdown: passed through, trailing space trimmed."""
    return str(value).strip()


def format_date(value: dt.date) -> str:
    """ISO 8601 dates everywhere: unambiguous across countries."""
    return value.isoformat()


def format_number(value: Any) -> str:
    """70.0 → 70; TBD stays TBD."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def raise_missing(what: str) -> None:
    """Called by a template when required text is absent: an error, never a blank."""
    raise ProtocolgenError(f"{what} has no text; add it to the study (or write TBD)")


def make_environment(template_dir: Path) -> jinja2.Environment:
    """The environment: templates from ``template_dir``, StrictUndefined, our filters."""
    if not template_dir.is_dir():
        raise ProtocolgenError(f"{template_dir}: template folder not found")
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        comment_start_string="{##",  # "{#" starts pandoc attributes such as {#tbl:soa}
        comment_end_string="##}",
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(md=escape_markdown, mdblock=markdown_block, date=format_date,
                       num=format_number)
    env.globals["raise_missing"] = raise_missing
    return env


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render one template; a missing value or template error names the template and line."""
    try:
        return env.get_template(name).render(**context)
    except jinja2.TemplateNotFound as exc:
        raise ProtocolgenError(f"template {exc.name!r} not found") from exc
    except jinja2.UndefinedError as exc:
        where = _template_line(exc, name)
        raise ProtocolgenError(f"{where}: missing value: {exc.message}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise ProtocolgenError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: "
                               f"{exc.message}") from exc


def _template_line(exc: BaseException, name: str) -> str:
    tb = exc.__traceback__
    where = name
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_filename.endswith((".j2", ".md", ".typ", ".html")) or \
                frame.f_globals.get("__jinja_template__") is not None:
            template = frame.f_globals.get("__jinja_template__")
            lineno = template.get_corresponding_lineno(tb.tb_lineno) if template else tb.tb_lineno
            where = f"{frame.f_code.co_filename}:{lineno}"
        tb = tb.tb_next
    return where
