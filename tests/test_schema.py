"""The schema itself is a valid cerberus schema (at run time it is trusted, for speed)."""

from __future__ import annotations

from typing import Any

import cerberus
import pytest

from protocolgen.schema import load_schema, rule_at
from protocolgen.validate import _StudyValidator


class _CheckingValidator(_StudyValidator):
    _valid_schemas: set[Any] = set()  # noqa: RUF012 - a fresh cache: really check


def test_schema_is_valid_for_cerberus() -> None:
    _CheckingValidator(load_schema())


def test_a_broken_schema_would_be_caught() -> None:
    with pytest.raises(cerberus.SchemaError):
        _CheckingValidator({"x": {"type": "no-such-type"}})


def test_tbd_fields_accept_tbd_and_others_do_not() -> None:
    assert rule_at(("identification", "phase"))["meta"]["tbd"] is True
    assert "TBD" in rule_at(("identification", "phase"))["allowed"]
    assert "tbd" not in rule_at(("version", "number")).get("meta", {})


def test_rule_at_follows_lists_and_mappings() -> None:
    assert rule_at(("design", "arms", 3, "ratio"))["type"] == "integer"
    assert rule_at(("safety", "terms", 0, "grades", 2))["type"] == "string"
    assert rule_at(("no", "such")) is None
