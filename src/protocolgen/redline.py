"""A tracked-changes redline of two rendered markdown documents.

Blocks are compared line by line (the templates write one paragraph, list item or table row per
line); changed lines are compared word by word, table rows cell by cell. Every change is an
inline pandoc span, ``[text]{.insertion author=… date=…}`` or ``{.deletion …}``: pandoc's DOCX
writer turns those into real Word tracked changes (it does not track whole blocks), and our
layout filter styles them for HTML and PDF.
"""

from __future__ import annotations

import difflib
import re

from .render import escape_markdown

_STRUCTURAL = re.compile(r"^\s*$|^\|[-:| ]+\|\s*$|^:::|^!\[")  # blank, table rule, div, figure
_PREFIX = re.compile(r"^(#{1,6} |\s*[-+] |\s*\d+\. |\^[a-z]+\^ )")
_ATTRS = re.compile(r"(\s*\{[#.][^}]*\})\s*$")
_CELL_SPLIT = re.compile(r"(?<!\\)\|")
_LINK = re.compile(r"(?<![\\!])\[([^\]]*)\]\(([^)\s]+)\)")


class Marker:
    """Makes insertion and deletion spans with a fixed author and date."""

    def __init__(self, author: str, date: str) -> None:
        clean = re.sub(r'["\\{}]', "", author).strip() or "protocolgen"
        self.attrs = f'author="{clean}" date="{date}"'

    def span(self, kind: str, text: str) -> str:
        """A tracked-change span. A link inside one would break in Word (pandoc #4609), so a
        changed link is written out as its text followed by its address."""
        text = _LINK.sub(lambda m: f"{m.group(1)} ({escape_markdown(m.group(2))})", text.strip())
        return f"[{text}]{{.{kind} {self.attrs}}}" if text else ""


def _balanced(text: str) -> bool:
    plain = re.sub(r"\\.", "", text)
    return plain.count("*") % 2 == 0 and plain.count("[") == plain.count("]") and \
        plain.count("^") % 2 == 0


def _mark_inline(text: str, kind: str, m: Marker) -> str:
    attrs = _ATTRS.search(text)
    body, tail = (text[: attrs.start()], attrs.group(1)) if attrs else (text, "")
    return m.span(kind, body) + tail


def _split_prefix(line: str) -> tuple[str, str]:
    found = _PREFIX.match(line)
    return (found.group(1), line[found.end():]) if found else ("", line)


def mark_line(line: str, kind: str, m: Marker) -> str:
    """A whole line inserted or deleted, its structure kept (table rules, blank lines and
    figures as they are; a table caption's text marked)."""
    if line.startswith(": "):
        return ": " + _mark_inline(line[2:], kind, m)
    if _STRUCTURAL.match(line):
        return line
    if line.startswith("|"):
        cells = _CELL_SPLIT.split(line)[1:-1]
        return "|" + "|".join(f" {_mark_inline(c, kind, m)} " if c.strip() else c
                              for c in cells) + "|"
    prefix, rest = _split_prefix(line)
    return prefix + _mark_inline(rest, kind, m)


def _words(old: str, new: str, m: Marker) -> str:
    """Word-level redline of one run of inline markdown."""
    a, b = old.split(), new.split()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        gone, came = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        if op == "equal":
            out.append(came)
            continue
        if not (_balanced(gone) and _balanced(came)):
            return " ".join(x for x in (m.span("deletion", old), m.span("insertion", new)) if x)
        out.extend(x for x in (m.span("deletion", gone), m.span("insertion", came)) if x)
    return " ".join(out)


def redline_line(old: str, new: str, m: Marker) -> str:
    """One changed line: cell by cell for table rows, else word by word after its marker."""
    if old.startswith("|") and new.startswith("|"):
        a, b = _CELL_SPLIT.split(old)[1:-1], _CELL_SPLIT.split(new)[1:-1]
        if len(a) == len(b):
            return "|" + "|".join(f" {_words(x.strip(), y.strip(), m)} " if x != y else y
                                  for x, y in zip(a, b, strict=True)) + "|"
    (pa, ra), (pb, rb) = _split_prefix(old), _split_prefix(new)
    if pa.strip() == pb.strip() and not _STRUCTURAL.match(old) and not _STRUCTURAL.match(new):
        attrs = _ATTRS.search(rb)
        if attrs:
            rb, tail = rb[: attrs.start()], attrs.group(1)
            ra = _ATTRS.sub("", ra)
        else:
            tail = ""
        return pb + _words(ra, rb, m) + tail
    return "\n".join(x for x in (mark_line(old, "deletion", m), mark_line(new, "insertion", m))
                     if x)


def redline_markdown(old: str, new: str, *, author: str, date: str) -> str:
    """The new document with every difference from the old one marked as a tracked change."""
    m = Marker(author, date)
    a, b = old.splitlines(), new.splitlines()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=True).get_opcodes():
        if op == "equal":
            out.extend(b[j1:j2])
        elif op == "insert":
            out.extend(mark_line(line, "insertion", m) for line in b[j1:j2])
        elif op == "delete":  # deleted blocks stay in place, struck through
            out.extend(mark_line(line, "deletion", m) for line in a[i1:i2])
        else:
            olds, news = a[i1:i2], b[j1:j2]
            for k in range(max(len(olds), len(news))):
                if k < len(olds) and k < len(news):
                    out.append(redline_line(olds[k], news[k], m))
                elif k < len(news):
                    out.append(mark_line(news[k], "insertion", m))
                else:
                    out.append(mark_line(olds[k], "deletion", m))
    return "\n".join(out) + ("\n" if new.endswith("\n") else "")
