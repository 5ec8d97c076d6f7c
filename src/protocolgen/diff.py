"""What changed between two versions of a study: pure, by stable ids.

Lists of items with ids are matched by id, so a reordered item is *moved*, not deleted and
re-added; text fields also get a word-level difference. Each change is placed in the protocol
section (ICH M11 numbering) that prints it, so the summary reads in document order.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

Path_ = tuple[str | int, ...]

# (path prefix, section number, section title, substantial?) — longest prefix wins.
SECTIONS: tuple[tuple[str, str, str, bool], ...] = (
    ("identification", "Title page", "Title page", False),
    ("objectives", "3", "Trial Objectives and Associated Estimands", True),
    ("endpoints", "3", "Trial Objectives and Associated Estimands", True),
    ("design.arms", "4.1", "Description of Trial Design", True),
    ("design.epochs", "4.1", "Description of Trial Design", False),
    ("design.description", "4.1", "Description of Trial Design", False),
    ("design.stopping_rules", "4.3", "Trial Stopping Rules", True),
    ("design.end_of_trial", "4.4", "Start of Trial and End of Trial", False),
    ("design.sample_size", "10.7", "Sample Size Determination", True),
    ("design", "1.1.2", "Overall Design", True),
    ("background", "2.1", "Purpose of Trial", False),
    ("benefit_risk", "2.2", "Assessment of Risks and Benefits", True),
    ("rationale", "4.2", "Rationale for Trial Design", False),
    ("eligibility.inclusion", "5.2", "Inclusion Criteria", True),
    ("eligibility.exclusion", "5.3", "Exclusion Criteria", True),
    ("eligibility", "5", "Trial Population", True),
    ("interventions", "6.1", "Description of Trial Intervention", True),
    ("safety.dose_modifications", "6.4", "Dose Modification", True),
    ("safety.terms", "6.4", "Dose Modification", True),
    ("randomization", "6.7", "Participant Assignment, Randomisation and Blinding", True),
    ("concomitant_therapy", "6.10", "Concomitant Therapy", True),
    ("discontinuation", "7", "Participant Discontinuation and Withdrawal", True),
    ("schedule", "1.3", "Schedule of Activities", True),
    ("tumour_assessment", "8.3", "Efficacy Assessments", True),
    ("safety", "9.2", "Timing and Procedures for Collection and Reporting", True),
    ("statistics", "10", "Statistical Considerations", True),
    ("oversight", "11", "Trial Oversight and Other General Considerations", False),
    ("glossary", "13", "Glossary", False),
    ("references", "14", "References", False),
    ("consent", "Consent", "Participant information and consent form", True),
    ("sites", "Sites", "Trial sites", False),
)
_IGNORED = ("version", "amendments", "schema_version")
_NOT_PROTOCOL_TEXT = ("source", "note")  # documentation for the study team, not printed
_ORDER = ["Title page", "1.1.2", "1.3", "2.1", "2.2", "3", "4.1", "4.2", "4.3", "4.4", "5",
          "5.2", "5.3", "6.1", "6.4", "6.7", "6.10", "7", "8.3", "9.2", "10", "10.7", "11",
          "13", "14", "Sites", "Consent"]


@dataclass(frozen=True)
class Change:
    """One difference. ``kind``: added, removed, changed or moved."""

    kind: str
    path: str
    section: str
    section_title: str
    old: str
    new: str
    substantial: bool
    words: tuple[tuple[str, str], ...] = ()  # word diff: ("=", "-", "+"), text

    @property
    def consent(self) -> bool:
        return self.path.startswith("consent")


def _show(value: Any) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_show(v)}" for k, v in value.items()
                         if k not in _NOT_PROTOCOL_TEXT)
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _key(item: Any) -> str | None:
    if isinstance(item, dict):
        for name in ("id", "term", "registry"):
            if isinstance(item.get(name), str):
                return item[name]
    return None


def _dotted(path: Path_) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) or part.startswith("["):
            out += f"[{part}]" if isinstance(part, int) else part
        else:
            out += f".{part}" if out else part
    return out


def _section(path: str) -> tuple[str, str, bool]:
    plain = path.split("[", 1)[0]
    best = max((p for p in SECTIONS if plain == p[0] or plain.startswith(p[0] + ".")),
               key=lambda p: len(p[0]), default=("", "Other", "Other", True))
    return best[1], best[2], best[3]


def word_diff(old: str, new: str) -> tuple[tuple[str, str], ...]:
    """Word-level difference: runs tagged "=" (same), "-" (deleted) or "+" (inserted)."""
    a, b = old.split(), new.split()
    out: list[tuple[str, str]] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(("=", " ".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(("-", " ".join(a[i1:i2])))
        if j2 > j1:
            out.append(("+", " ".join(b[j1:j2])))
    return tuple(out)


def _change(kind: str, path: Path_, old: Any, new: Any) -> Change:
    dotted = _dotted(path)
    number, title, substantial = _section(dotted)
    words = word_diff(old, new) if isinstance(old, str) and isinstance(new, str) else ()
    return Change(kind, dotted, number, title, "" if old is None else _show(old),
                  "" if new is None else _show(new), substantial, words)


def _diff(old: Any, new: Any, path: Path_) -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in [*old, *(k for k in new if k not in old)]:
            if (not path and key in _IGNORED) or key in _NOT_PROTOCOL_TEXT:
                continue
            if key not in new:
                yield _change("removed", path + (key,), old[key], None)
            elif key not in old:
                yield _change("added", path + (key,), None, new[key])
            else:
                yield from _diff(old[key], new[key], path + (key,))
        return
    if isinstance(old, list) and isinstance(new, list) and old and new and all(
            _key(i) for i in old + new):
        yield from _diff_by_id(old, new, path)
        return
    if old != new:
        yield _change("changed", path, old, new)


def _diff_by_id(old: list[Any], new: list[Any], path: Path_) -> Iterator[Change]:
    old_ids = [_key(i) for i in old]
    new_ids = [_key(i) for i in new]
    common = [i for i in old_ids if i in new_ids]
    order_new = [i for i in new_ids if i in old_ids]
    matcher = difflib.SequenceMatcher(a=common, b=order_new, autojunk=False)
    stayed = {common[i] for block in matcher.get_matching_blocks()
              for i in range(block.a, block.a + block.size)}
    for index, item in enumerate(new):
        ident = new_ids[index]
        where = path + (f"[{ident}]",)
        if ident not in old_ids:
            yield _change("added", where, None, item)
            continue
        before = old[old_ids.index(ident)]
        if ident not in stayed:
            yield Change("moved", _dotted(where), *_section(_dotted(where))[:2],
                         f"{ident} at position {old_ids.index(ident) + 1}",
                         f"{ident} at position {index + 1}", False)
        yield from _diff(before, item, where)
    for index, ident in enumerate(old_ids):
        if ident not in new_ids:
            yield _change("removed", path + (f"[{ident}]",), old[index], None)


def diff_studies(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every change from ``old`` to ``new`` (validated study data), in document order."""
    changes = list(_diff(old, new, ()))
    rank = {number: i for i, number in enumerate(_ORDER)}
    return sorted(changes, key=lambda c: rank.get(c.section, len(rank)))
