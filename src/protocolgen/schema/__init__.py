"""The study schema: kept as data in ``study.yaml``, expanded here for cerberus."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

_META_KEYS = ("description", "tbd", "markdown")


@cache
def load_schema_data() -> dict[str, Any]:
    """The schema file as written (with ``definitions`` and ``ref``)."""
    text = resources.files(__package__).joinpath("study.yaml").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _expand(rule: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    rule = dict(rule)
    if "ref" in rule:
        base = copy.deepcopy(definitions[rule.pop("ref")])
        base.update(rule)
        rule = base
    meta = {key: rule.pop(key) for key in _META_KEYS if key in rule}
    if meta:
        rule["meta"] = meta
    if meta.get("tbd"):
        types = rule.get("type", "string")
        rule["type"] = [*(types if isinstance(types, list) else [types]), "tbd"]
        if "allowed" in rule:
            rule["allowed"] = [*rule["allowed"], "TBD"]
    for key in ("keysrules", "valuesrules"):
        if key in rule:
            rule[key] = _expand(rule[key], definitions)
    if "schema" in rule:
        if rule.get("type") == "list":
            rule["schema"] = _expand(rule["schema"], definitions)
        else:
            rule["schema"] = {k: _expand(v, definitions) for k, v in rule["schema"].items()}
    return rule


@cache
def load_schema() -> dict[str, Any]:
    """The cerberus schema: refs expanded, descriptions moved under ``meta``."""
    data = dict(load_schema_data())
    definitions = data.pop("definitions", {})
    return {name: _expand(rule, definitions) for name, rule in data.items()}


@dataclass(frozen=True)
class Field:
    """One documented field: its dotted path (``[]`` marks list items) and its rule."""

    path: str
    rule: dict[str, Any]

    @property
    def meta(self) -> dict[str, Any]:
        return self.rule.get("meta", {})


def iter_fields(schema: dict[str, Any] | None = None, prefix: str = "") -> Iterator[Field]:
    """Every named field of the schema, depth first, in the order written."""
    for name, rule in (schema if schema is not None else load_schema()).items():
        path = f"{prefix}.{name}" if prefix else name
        yield Field(path, rule)
        yield from _iter_children(rule, path)


def _iter_children(rule: dict[str, Any], path: str) -> Iterator[Field]:
    sub = rule.get("schema")
    if sub is None:
        return
    if rule.get("type") == "list":
        yield from _iter_children(sub, path + "[]")
    else:
        yield from iter_fields(sub, path)


def rule_at(path: tuple[str | int, ...]) -> dict[str, Any] | None:
    """The rule that governs the value at ``path`` in a study document, if any."""
    rules: dict[str, Any] | None = {"type": "dict", "schema": load_schema()}
    for part in path:
        if rules is None:
            return None
        sub = rules.get("schema")
        if rules.get("type") == "list":
            rules = sub if isinstance(part, int) else None
        elif isinstance(sub, dict) and part in sub:
            rules = sub[part]
        else:
            rules = rules.get("valuesrules")
    return rules
