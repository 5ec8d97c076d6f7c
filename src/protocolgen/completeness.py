"""Which ICH M11 sections, SPIRIT 2025 items and consent elements a study leaves empty or TBD."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

TBD = "TBD"


@dataclass(frozen=True)
class ItemStatus:
    """One checklist item and what the study gives for it."""

    checklist: str  # "ICH M11", "SPIRIT 2025" or "Consent (ICH E6(R3))"
    id: str
    title: str
    status: str  # "complete", "TBD", "empty" or "not applicable"
    fields: tuple[str, ...]  # "path: empty" or "path: TBD" for each incomplete field
    often_missing: bool

    @property
    def ok(self) -> bool:
        return self.status in ("complete", "not applicable")


@cache
def load_checklists() -> dict[str, list[dict[str, Any]]]:
    text = resources.files(__package__).joinpath("completeness.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def _values(data: Any, path: str) -> list[Any]:
    """Values at a dotted path; ``*`` fans out over a list. Missing → ``[None]``."""
    current = [data]
    for part in path.split("."):
        nxt: list[Any] = []
        for item in current:
            if part == "*":
                nxt.extend(item if isinstance(item, list) and item else [None])
            else:
                nxt.append(item.get(part) if isinstance(item, dict) else None)
        current = nxt
    return current


def _state(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "empty"
    if value == TBD:
        return "TBD"
    if isinstance(value, dict) and any(v == TBD for v in value.values()):
        return "TBD"
    return "complete"


def check_completeness(data: dict[str, Any], *, randomized: bool) -> list[ItemStatus]:
    """Evaluate every M11 and SPIRIT item against validated study data."""
    out = []
    for key, name in (("m11", "ICH M11"), ("spirit", "SPIRIT 2025"),
                      ("consent", "Consent (ICH E6(R3))")):
        for item in load_checklists()[key]:
            if item.get("when") == "randomized" and not randomized:
                out.append(ItemStatus(name, item["id"], item["title"], "not applicable", (),
                                      bool(item.get("often_missing"))))
                continue
            bad: dict[str, str] = {}
            for path in item["fields"]:
                for value in _values(data, path):
                    state = _state(value)
                    if state != "complete":
                        bad[path] = "empty" if "empty" in (state, bad.get(path)) else state
            status = "complete" if not bad else ("empty" if "empty" in bad.values() else "TBD")
            out.append(ItemStatus(name, str(item["id"]), item["title"], status,
                                  tuple(f"{path}: {state}" for path, state in bad.items()),
                                  bool(item.get("often_missing"))))
    return out
