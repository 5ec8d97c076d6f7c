"""The lean ICS writer, read back by ``icalendar`` and by an independent strict parser written
here from RFC 5545 (unfolding, content lines, TEXT escapes), never by the code that wrote it."""

from __future__ import annotations

import datetime as dt
import re

import icalendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocolgen.ics import PRODID, Event, escape_text, fold, render_ics

STAMP = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
_NAME = re.compile(r"[A-Za-z0-9-]+")
_ESCAPES = {"\\\\": "\\", "\\;": ";", "\\,": ",", "\\n": "\n", "\\N": "\n"}


class StrictParseError(AssertionError):
    pass


def parse_strict(data: bytes) -> list[dict[str, list[tuple[dict[str, str], str]]]]:
    """RFC 5545 the strict way: CRLF only, physical lines ≤ 75 octets, valid UTF-8 on every
    physical line, BEGIN/END balanced; returns each VEVENT (and the VCALENDAR first) as
    name → [(params, raw value)]."""
    if not data.endswith(b"\r\n"):
        raise StrictParseError("the last line does not end with CRLF")
    physical = data[:-2].split(b"\r\n")
    logical: list[bytes] = []
    for raw in physical:
        if b"\r" in raw or b"\n" in raw:
            raise StrictParseError(f"bare CR or LF in {raw!r}")
        if len(raw) > 75:
            raise StrictParseError(f"{len(raw)} octets: {raw!r}")
        raw.decode("utf-8")  # a multi-byte character split across a fold fails here
        if raw[:1] in (b" ", b"\t"):
            if not logical:
                raise StrictParseError("continuation before any line")
            logical[-1] += raw[1:]
        else:
            logical.append(raw)
    components: list[dict[str, list[tuple[dict[str, str], str]]]] = []
    stack: list[str] = []
    current: dict[str, list[tuple[dict[str, str], str]]] = {}
    for line in (b.decode("utf-8") for b in logical):
        name, params, value = _content_line(line)
        if name == "BEGIN":
            stack.append(value)
            current = {}
            components.append(current)
        elif name == "END":
            if not stack or stack.pop() != value:
                raise StrictParseError(f"END:{value} does not close the open component")
        else:
            if not stack:
                raise StrictParseError(f"{name} outside any component")
            current.setdefault(name, []).append((params, value))
    if stack:
        raise StrictParseError(f"unclosed {stack}")
    return components


def _content_line(line: str) -> tuple[str, dict[str, str], str]:
    """``name *(";" param) ":" value``, with quoted parameter values."""
    i = 0
    while i < len(line) and line[i] not in ";:":
        i += 1
    name = line[:i]
    if not _NAME.fullmatch(name):
        raise StrictParseError(f"bad property name in {line!r}")
    params: dict[str, str] = {}
    while i < len(line) and line[i] == ";":
        j = line.index("=", i)
        key = line[i + 1:j]
        i = j + 1
        if line[i:i + 1] == '"':
            end = line.index('"', i + 1)
            params[key] = line[i + 1:end]
            i = end + 1
        else:
            start = i
            while i < len(line) and line[i] not in ";:":
                i += 1
            params[key] = line[start:i]
    if line[i:i + 1] != ":":
        raise StrictParseError(f"no ':' in {line!r}")
    return name.upper(), params, line[i + 1:]


def unescape_strict(value: str) -> str:
    """A TEXT value: only the four escapes RFC 5545 allows; bare ``;`` ``,`` are errors."""
    out, i = [], 0
    while i < len(value):
        c = value[i]
        if c == "\\":
            pair = value[i:i + 2]
            if pair not in _ESCAPES:
                raise StrictParseError(f"bad escape {pair!r} in {value!r}")
            out.append(_ESCAPES[pair])
            i += 2
            continue
        if c in ";,":
            raise StrictParseError(f"unescaped {c!r} in {value!r}")
        out.append(c)
        i += 1
    return "".join(out)


def one(component: dict[str, list[tuple[dict[str, str], str]]], name: str) -> str:
    values = component.get(name, [])
    assert len(values) == 1, (name, values)
    return values[0][1]


# --- unit checks --------------------------------------------------------------------------

def test_escape_text() -> None:
    assert escape_text('a\\b;c,d\ne\r\nf\x07g"') == 'a\\\\b\\;c\\,d\\ne\\nf g"'


def test_fold_keeps_utf8_characters_whole() -> None:
    line = "DESCRIPTION:" + "±" * 60
    folded = fold(line).encode("utf-8").split(b"\r\n")
    assert all(len(p) <= 75 for p in folded) and folded[0].decode("utf-8")
    assert len(folded[0]) == 74  # 12 + 31 × 2 would be 74; a 32nd "±" would overflow
    assert b"".join(p[1:] if i else p for i, p in enumerate(folded)).decode() == line


def test_fold_ascii_exactly_at_the_limit() -> None:
    assert fold("X" * 75) == "X" * 75
    assert fold("X" * 76) == "X" * 75 + "\r\n X"
    assert fold("X" * 149) == "X" * 75 + "\r\n " + "X" * 74


def test_calendar_structure_and_all_day_events() -> None:
    text = render_ics("Cal", [Event("a/1@x", dt.date(2026, 12, 31), "S", "D", "more",
                                    "Site 1", "TENTATIVE", "Visit")], stamp=STAMP, sequence=3)
    cal, event = parse_strict(text.encode("utf-8"))
    assert (one(cal, "VERSION"), one(cal, "PRODID")) == ("2.0", PRODID)
    assert one(event, "DTSTART") == "20261231" and event["DTSTART"][0][0] == {"VALUE": "DATE"}
    assert one(event, "DTEND") == "20270101"  # exclusive: the next day
    assert one(event, "DTSTAMP") == "20261120T000000Z"
    assert (one(event, "SEQUENCE"), one(event, "TRANSP"), one(event, "STATUS")) == (
        "3", "TRANSPARENT", "TENTATIVE")
    assert unescape_strict(one(event, "DESCRIPTION")) == "D\nmore"
    assert "\n" not in text.replace("\r\n", "")


# --- properties: anything written reads back the same, both ways --------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"),
               max_size=400) | st.sampled_from([
                   "Blood counts, liver; kidney \\ function — ≤ grade 1 ±3 d 中文 🎉",
                   "A" * 300, "é" * 200, "🎉" * 80, "a\nb\n\nc", "",
                   "a\x85b\u2028c\x1cd\x0be\tf"])


def _clean(text: str) -> str:
    """What a TEXT value can carry: control characters other than newline become spaces."""
    return re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", text)


@settings(max_examples=150, deadline=None)
@given(TEXT, TEXT, TEXT, TEXT, st.dates(dt.date(1990, 1, 1), dt.date(2090, 12, 31)))
def test_round_trip_strict_and_icalendar(summary: str, description: str, details: str,
                                         name: str, day: dt.date) -> None:
    events = [Event("IRI/1001/D1.3@protocolgen", day, summary, description, details, "Site S01")]
    data = render_ics(name, events, stamp=STAMP).encode("utf-8")
    full = _clean(description) + ("\n" + _clean(details) if details else "")

    cal, event = parse_strict(data)  # the independent reader
    assert unescape_strict(one(cal, "X-WR-CALNAME")) == _clean(name)
    assert unescape_strict(one(event, "SUMMARY")) == _clean(summary)
    assert unescape_strict(one(event, "DESCRIPTION")) == full
    assert one(event, "DTSTART") == day.strftime("%Y%m%d")

    parsed = icalendar.Calendar.from_ical(data)  # the common library
    (ev,) = parsed.walk("VEVENT")
    assert str(ev["SUMMARY"]) == _clean(summary)
    assert str(ev["DESCRIPTION"]) == full
    assert ev.decoded("DTSTART") == day and ev.decoded("DTEND") == day + dt.timedelta(days=1)
    assert ev["UID"] == "IRI/1001/D1.3@protocolgen"


@settings(max_examples=100, deadline=None)
@given(TEXT)
def test_escaped_mode_equals_escaping_first(text: str) -> None:
    plain = render_ics("n", [Event("u", dt.date(2026, 1, 1), text, text, text, text)],
                       stamp=STAMP)
    pre = render_ics("n", [Event(escape_text("u"), dt.date(2026, 1, 1), escape_text(text),
                                 escape_text(text), escape_text(text), escape_text(text))],
                     stamp=STAMP, escaped=True)
    assert plain == pre


@pytest.mark.parametrize("bad", [
    b"BEGIN:VCALENDAR\nEND:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nX:" + b"a" * 80 + b"\r\nEND:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nX:" + "é".encode()[:1] + b"\r\n " + "é".encode()[1:] + b"\r\n"
    b"END:VCALENDAR\r\n",
    b"BEGIN:VCALENDAR\r\nEND:VEVENT\r\n",
])
def test_the_strict_parser_is_strict(bad: bytes) -> None:
    with pytest.raises((StrictParseError, UnicodeDecodeError)):
        parse_strict(bad)
    with pytest.raises(StrictParseError):
        unescape_strict("a;b")
