"""Check a loaded study: the schema, then every cross-reference and rule beyond it.

Every problem is collected with its position; nothing fails early.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import zoneinfo
from collections.abc import Iterable, Iterator
from typing import Any

import cerberus

from .errors import Problem
from .loader import Document, Path_, format_path
from .schema import load_schema, rule_at

TBD = "TBD"


class _TrustedSchemas(set[Any]):
    """Tells cerberus every schema is already checked: re-checking the schema on each run
    costs ~0.4 s of start-up. ``tests/test_schema.py`` checks it with cerberus instead."""

    def __contains__(self, item: object) -> bool:
        return True


class _StudyValidator(cerberus.Validator):
    """Cerberus with the ``tbd`` type: the literal text ``TBD``."""

    _valid_schemas = _TrustedSchemas()

    # YAML's true/false are Python ints and a date with a time is a date: refuse both.
    types_mapping = {**cerberus.Validator.types_mapping,  # noqa: RUF012 - cerberus API
                     "tbd": cerberus.TypeDefinition("tbd", (), ()),
                     "integer": cerberus.TypeDefinition("integer", (int,), (bool,)),
                     "float": cerberus.TypeDefinition("float", (float, int), (bool,)),
                     "date": cerberus.TypeDefinition("date", (dt.date,), (dt.datetime,))}

    def _validate_type(self, data_type: Any, field: Any, value: Any) -> None:
        """{'type': ['string', 'list'], 'check_with': 'type'}"""
        if value == TBD and "tbd" in (data_type if isinstance(data_type, list) else [data_type]):
            return
        super()._validate_type(data_type, field, value)

    def _validate_regex(self, pattern: str, field: Any, value: Any) -> None:
        """{'type': 'string'}"""
        # cerberus appends '$', which also matches before a final newline
        if isinstance(value, str) and not re.fullmatch(pattern, value):
            self._error(field, cerberus.errors.REGEX_MISMATCH)


def _show(value: Any, limit: int = 60) -> str:
    text = value.isoformat() if isinstance(value, dt.date) else repr(value)
    return text if len(text) <= limit else text[: limit - 4] + "…" + text[-3:]


def _type_name(types: Any) -> str:
    names = {"tbd": "TBD", "dict": "a mapping (key: value)", "list": "a list",
             "string": "text", "integer": "a whole number", "float": "a number",
             "number": "a number", "boolean": "true or false", "date": "a date (YYYY-MM-DD)"}
    types = types if isinstance(types, list) else [types]
    return " or ".join(names.get(t, t) for t in types)


def _suggest(word: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), [str(o) for o in options], n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flatten(errors: Iterable[cerberus.errors.ValidationError]) -> Iterator[Any]:
    for error in errors:
        if error.is_group_error:
            yield from _flatten(error.child_errors)
        else:
            yield error


def _schema_message(error: Any) -> tuple[str, bool]:
    """Describe one cerberus error; the flag says whether to point at the key."""
    path: Path_ = tuple(error.document_path)
    value, constraint = error.value, error.constraint
    if error.code == cerberus.errors.UNKNOWN_FIELD.code:
        parent = rule_at(path[:-1]) or {}
        allowed = sorted(parent.get("schema", {})) if isinstance(parent.get("schema"), dict) else []
        return (f"unknown field {path[-1]!r}{_suggest(str(path[-1]), allowed)}; allowed here: "
                f"{', '.join(allowed)}" if allowed else f"unknown field {path[-1]!r}"), True
    if error.rule == "required":
        return f"required field {path[-1]!r} is missing", False
    if error.rule == "type":
        return f"must be {_type_name(constraint)}, got {_show(value)}", False
    if error.rule == "allowed":
        options = [o for o in constraint if o != TBD]
        tbd = " or TBD" if TBD in constraint else ""
        shown = ", ".join(str(o) for o in options)
        hint = _suggest(value, options)
        return f"{_show(value)} is not allowed{hint}; use one of: {shown}{tbd}", False
    if error.rule == "min":
        return f"{_show(value)} is too small; the minimum is {constraint}", False
    if error.rule == "max":
        return f"{_show(value)} is too large; the maximum is {constraint}", False
    if error.rule == "minlength":
        return f"needs at least {constraint} item(s), has {len(value)}", False
    if error.rule == "empty":
        return "must not be empty", False
    if error.rule == "regex":
        return f"{_show(value)} does not have the required form ({constraint})", False
    if error.rule == "nullable":
        return "has no value; give one (or remove the key)", False
    return f"{_show(value)} is invalid ({error.rule}: {constraint})", False


def validate_schema(doc: Document) -> tuple[dict[str, Any], list[Problem]]:
    """Validate against the schema; return the normalized data (defaults filled)."""
    validator = _StudyValidator(load_schema())
    if validator.validate(doc.data):
        return validator.document, []
    errors = list(_flatten(validator._errors))
    # A misspelt required key gives "unknown field" and "required field missing": say it once.
    unknown = {tuple(e.document_path) for e in errors
               if e.code == cerberus.errors.UNKNOWN_FIELD.code}
    typo_of: dict[Path_, str] = {}
    for e in errors:
        path = tuple(e.document_path)
        if e.rule != "required":
            continue
        siblings = [str(u[-1]) for u in unknown if u[:-1] == path[:-1]]
        close = difflib.get_close_matches(str(path[-1]), siblings, n=1, cutoff=0.6)
        if close:
            typo_of[path[:-1] + (close[0],)] = str(path[-1])
    said_by_typo = {p[:-1] + (typo_of[p],) for p in typo_of}
    problems = []
    for error in errors:
        path = tuple(error.document_path)
        if error.rule == "required" and path in said_by_typo:
            continue
        message, at_key = _schema_message(error)
        if path in typo_of:
            message = (f"unknown field {path[-1]!r}: did you mean {typo_of[path]!r}? "
                       "(that field is required and missing)")
        if at_key or error.rule != "required":
            pos = doc.where(path, key=at_key)
        else:
            pos = doc.where(path[:-1])
        problems.append(Problem(pos.file, pos.line, pos.column, format_path(path), message))
    return validator.document or doc.data, problems


def _walk(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, path + (index,))


def check_tbd(doc: Document) -> list[Problem]:
    """``TBD`` is a warning where the schema allows it and an error elsewhere; numbers must
    be finite (YAML's ``.nan`` and ``.inf`` are never a dose)."""
    problems = []
    for path, value in _walk(doc.data):
        if isinstance(value, float) and not math.isfinite(value):
            pos = doc.where(path)
            problems.append(Problem(pos.file, pos.line, pos.column, format_path(path),
                                    f"{value!r} is not a finite number"))
            continue
        if value != TBD or not path:
            continue
        rule = rule_at(path) or {}
        pos = doc.where(path)
        if rule.get("meta", {}).get("tbd"):
            problems.append(Problem(pos.file, pos.line, pos.column, format_path(path),
                                    "is TBD: still to be decided", "warning"))
        elif rule:
            problems.append(Problem(pos.file, pos.line, pos.column, format_path(path),
                                    "TBD is not allowed here; give the value"))
    return problems


class _Checker:
    """Cross-reference and consistency checks on schema-valid data."""

    def __init__(self, doc: Document, data: dict[str, Any]) -> None:
        self.doc, self.data = doc, data
        self.problems: list[Problem] = []

    def report(self, path: Path_, message: str, severity: str = "error") -> None:
        pos = self.doc.where(path)
        self.problems.append(Problem(pos.file, pos.line, pos.column, format_path(path),
                                     message, severity))

    def unique_ids(self, path: Path_, items: list[dict[str, Any]], key: str = "id") -> set[str]:
        seen: dict[Any, int] = {}
        for index, item in enumerate(items):
            value = item.get(key)
            if value in seen:
                self.report(path + (index, key),
                            f"duplicate id {value!r} "
                            f"(also at {format_path(path + (seen[value],))})")
            else:
                seen[value] = index
        return set(seen)

    def refs(self, path: Path_, values: list[Any], known: set[str], what: str) -> None:
        for index, value in enumerate(values):
            if value not in known:
                self.report(path + (index,), f"unknown {what} {value!r}{_suggest(value, known)}; "
                            f"known: {', '.join(sorted(map(str, known))) or 'none'}")

    def ref(self, path: Path_, value: Any, known: set[str], what: str, hint: str = "") -> None:
        if value not in known:
            self.report(path, f"unknown {what} {value!r}{_suggest(value, known)}; "
                        f"known: {', '.join(sorted(map(str, known))) or 'none'}{hint}")

    def run(self) -> list[Problem]:
        self.check_objectives()
        arms = self.check_design()
        self.check_randomization(arms)
        self.check_eligibility()
        self.check_interventions()
        self.check_schedule()
        self.check_safety()
        self.check_amendments()
        self.check_sites()
        self.check_consent()
        self.check_others()
        return self.problems

    def check_objectives(self) -> None:
        d = self.data
        endpoints = self.unique_ids(("endpoints",), d["endpoints"])
        self.unique_ids(("objectives",), d["objectives"])
        used: set[str] = set()
        for i, objective in enumerate(d["objectives"]):
            self.refs(("objectives", i, "endpoints"), objective["endpoints"], endpoints, "endpoint")
            used.update(objective["endpoints"])
        if not any(o["level"] == "primary" for o in d["objectives"]):
            self.report(("objectives",), "no primary objective; mark one with level: primary")
        for i, endpoint in enumerate(d["endpoints"]):
            if endpoint["id"] not in used:
                self.report(("endpoints", i, "id"),
                            f"endpoint {endpoint['id']!r} is not linked from any objective",
                            "warning")

    def check_design(self) -> list[dict[str, Any]]:
        design = self.data["design"]
        arms = design["arms"]
        self.unique_ids(("design", "arms"), arms)
        self.unique_ids(("design", "epochs"), design["epochs"])
        interventions = {i["id"] for i in self.data["interventions"]}
        for i, arm in enumerate(arms):
            self.refs(("design", "arms", i, "interventions"), arm["interventions"], interventions,
                      "intervention")
        codes = [arm.get("code", i + 1) for i, arm in enumerate(arms)]
        if len(set(map(str, codes))) != len(codes):
            self.report(("design", "arms"), "arm codes must be unique")
        randomized = design["type"].startswith("randomized") or design["type"] == "factorial"
        if design["type"] == "single-arm" and len(arms) != 1:
            self.report(("design", "arms"),
                        f"a single-arm design has exactly 1 arm, not {len(arms)}")
        if randomized and len(arms) < 2:
            self.report(("design", "arms"), "a randomized design needs at least 2 arms")
        if randomized and "randomization" not in self.data:
            self.report(("design", "type"), "a randomized design needs a randomization section")
        if not randomized and "randomization" in self.data:
            self.report(("randomization",), f"a {design['type']} design is not randomized; "
                        "remove the randomization section or change design.type")
        return arms

    def check_randomization(self, arms: list[dict[str, Any]]) -> None:
        rand = self.data.get("randomization")
        if not rand:
            return
        ratio_sum = sum(arm["ratio"] for arm in arms)
        for i, size in enumerate(rand.get("block_sizes", [])):
            if size % ratio_sum:
                self.report(("randomization", "block_sizes", i),
                            f"block size {size} is not a multiple of the ratio sum {ratio_sum} "
                            f"({':'.join(str(a['ratio']) for a in arms)})")
        if rand["method"] == "permuted-block" and not rand.get("block_sizes"):
            self.report(("randomization",), "permuted-block randomization needs block_sizes")
        factors = rand.get("stratification_factors", [])
        self.unique_ids(("randomization", "stratification_factors"), factors)
        for i, factor in enumerate(factors):
            path = ("randomization", "stratification_factors", i, "levels")
            self.unique_ids(path, factor["levels"])
            codes = [lv.get("code", j + 1) for j, lv in enumerate(factor["levels"])]
            if len(set(map(str, codes))) != len(codes):
                self.report(path, "level codes must be unique within a factor")

    def check_eligibility(self) -> None:
        elig = self.data["eligibility"]
        criteria = [("inclusion", i, c) for i, c in enumerate(elig["inclusion"])]
        criteria += [("exclusion", i, c) for i, c in enumerate(elig["exclusion"])]
        seen: dict[str, str] = {}
        for kind, i, criterion in criteria:
            path = ("eligibility", kind, i)
            if criterion["id"] in seen:
                self.report(path + ("id",), f"duplicate id {criterion['id']!r} "
                            f"(also used in {seen[criterion['id']]})")
            seen[criterion["id"]] = kind
            for name, bounds in criterion.get("check", {}).items():
                if isinstance(bounds, dict) and bounds.get("min", 0) > bounds.get("max", 10**6):
                    self.report(path + ("check", name),
                                f"min {bounds['min']} is greater than max {bounds['max']}")

    def check_interventions(self) -> None:
        items = self.data["interventions"]
        self.unique_ids(("interventions",), items)
        for i, item in enumerate(items):
            levels = item.get("dose_levels", [])
            path = ("interventions", i, "dose_levels")
            for j, level in enumerate(levels):
                if level["level"] != -j:
                    self.report(path + (j, "level"), f"dose levels must run 0, -1, -2, … in order; "
                                f"expected {-j}, got {level['level']}")
            for j in range(1, len(levels)):
                before, now = levels[j - 1]["amount"], levels[j]["amount"]
                if TBD in (before, now):
                    continue
                if "frequency" in levels[j] and levels[j].get("frequency") != levels[j - 1].get(
                        "frequency", item["frequency"]):
                    ok = now <= before
                else:
                    ok = now < before
                if not ok:
                    self.report(path + (j, "amount"), f"dose levels must decrease: level "
                                f"{levels[j]['level']} ({now}) is not below level "
                                f"{levels[j - 1]['level']} ({before})")
            if levels and TBD not in (levels[0]["amount"], item["dose"]["amount"]) and \
                    levels[0]["amount"] != item["dose"]["amount"]:
                self.report(path + (0, "amount"), f"level 0 ({levels[0]['amount']}) must equal "
                            f"the starting dose ({item['dose']['amount']})")
            cycle = item.get("cycle_length_days")
            for j, day in enumerate(item.get("days", [])):
                if isinstance(cycle, int) and day > cycle:
                    self.report(("interventions", i, "days", j),
                                f"day {day} is beyond the cycle length ({cycle} days)")

    def check_schedule(self) -> None:
        sched = self.data["schedule"]
        visits = self.unique_ids(("schedule", "visits"), sched["visits"])
        activities = self.unique_ids(("schedule", "activities"), sched["activities"])
        epochs = {e["id"] for e in self.data["design"]["epochs"]}
        arms = {a["id"] for a in self.data["design"]["arms"]}
        for i, visit in enumerate(sched["visits"]):
            path = ("schedule", "visits", i)
            self.ref(path + ("epoch",), visit["epoch"], epochs, "epoch")
            self.refs(path + ("arms",), visit.get("arms", []), arms, "arm")
            for side in ("before", "after"):
                if visit["window"][side] < 0:
                    self.report(path + ("window", side),
                                f"window {side} must not be negative, got {visit['window'][side]}")
            if visit["day"] == 0 and visit["anchor"] != "end_of_treatment":
                self.report(path + ("day",), "there is no day 0: day 1 is the anchor date, "
                            "day -1 the day before")
            repeat = visit.get("repeat", {})
            if repeat.get("every_cycle") and visit["anchor"] != "cycle_day_1":
                self.report(path + ("repeat", "every_cycle"),
                            "every_cycle needs anchor: cycle_day_1")
            if visit["anchor"] == "cycle_day_1" and visit["day"] > sched["cycle_length_days"]:
                self.report(path + ("day",), f"day {visit['day']} is beyond the cycle length "
                            f"({sched['cycle_length_days']} days)")
            if repeat.get("every_cycle") and repeat.get("every_days"):
                self.report(path + ("repeat",), "give every_cycle or every_days, not both")
        seen_activities: set[str] = set()
        for activity, visit_ids in sched["matrix"].items():
            path = ("schedule", "matrix", activity)
            self.ref(path, activity, activities, "activity")
            self.refs(path, visit_ids, visits, "visit")
            seen_activities.add(activity)
        for i, activity in enumerate(sched["activities"]):
            if activity["id"] not in seen_activities:
                self.report(("schedule", "activities", i, "id"),
                            f"activity {activity['id']!r} is not scheduled at any visit", "warning")
        self.unique_ids(("schedule", "footnotes"), sched.get("footnotes", []))
        for i, note in enumerate(sched.get("footnotes", [])):
            self.refs(("schedule", "footnotes", i, "activities"), note.get("activities", []),
                      activities, "activity")
            self.refs(("schedule", "footnotes", i, "visits"), note.get("visits", []), visits,
                      "visit")
        ta = self.data["tumour_assessment"]
        self.ref(("tumour_assessment", "visit"), ta["visit"], visits, "visit")

    def check_safety(self) -> None:
        safety = self.data["safety"]
        terms: dict[str, dict[str, Any]] = {}
        for i, term in enumerate(safety["terms"]):
            if term["term"] in terms:
                self.report(("safety", "terms", i, "term"),
                            f"term {term['term']!r} is listed twice")
            terms[term["term"]] = term
        interventions = {i["id"]: i for i in self.data["interventions"]}
        self.unique_ids(("safety", "dose_modifications"), safety.get("dose_modifications", []))
        for i, rule in enumerate(safety.get("dose_modifications", [])):
            path = ("safety", "dose_modifications", i)
            self.ref(path + ("intervention",), rule["intervention"], set(interventions),
                     "intervention")
            self.ref(path + ("term",), rule["term"], set(terms), "CTCAE term",
                     " (or add it to safety.terms)")
            term = terms.get(rule["term"])
            if term:
                for j, grade in enumerate(rule["grades"]):
                    if grade not in term["grades"]:
                        self.report(path + ("grades", j), f"CTCAE {rule['term']!r} has no grade "
                                    f"{grade}; defined: {sorted(term['grades'])}")
            action = rule["action"]
            if action in ("hold", "reduce") and "hold_until_grade" not in rule:
                self.report(path + ("action",), f"action {action!r} needs hold_until_grade")
            if "hold_until_grade" in rule and rule["hold_until_grade"] >= min(rule["grades"]):
                self.report(path + ("hold_until_grade",), f"hold_until_grade "
                            f"{rule['hold_until_grade']} must be below the rule's lowest grade "
                            f"({min(rule['grades'])})")
            if action != "reduce" and "reduce_levels" in rule:
                self.report(path + ("reduce_levels",),
                            "reduce_levels only applies to action: reduce")
            drug = interventions.get(rule["intervention"])
            if action == "reduce" and drug is not None:
                below = len(drug.get("dose_levels", [])) - 1
                step = rule.get("reduce_levels", 1)
                if step > below:
                    self.report(path + ("action",), f"cannot reduce {step} level(s): "
                                f"{rule['intervention']!r} has {max(below, 0)} level(s) below 0 "
                                "(add dose_levels)")

    def check_amendments(self) -> None:
        amendments = self.data.get("amendments", [])
        current = _version_key(self.data["version"]["number"])
        for i in range(len(amendments)):
            path = ("amendments", i)
            version = _version_key(amendments[i]["version"])
            if version > current:
                self.report(path + ("version",), f"version {amendments[i]['version']} is later "
                            f"than the study's version {self.data['version']['number']}")
            if i == 0:
                continue
            if version <= _version_key(amendments[i - 1]["version"]):
                self.report(path + ("version",), f"versions must increase: "
                            f"{amendments[i]['version']} follows {amendments[i - 1]['version']}")
            if amendments[i]["date"] < amendments[i - 1]["date"]:
                self.report(path + ("date",), f"dates must not go backwards: "
                            f"{amendments[i]['date']} is before {amendments[i - 1]['date']}")
        if amendments and amendments[-1]["date"] > self.data["version"]["date"]:
            self.report(("amendments", len(amendments) - 1, "date"),
                        f"{amendments[-1]['date']} is later than the version date "
                        f"{self.data['version']['date']}")

    def check_sites(self) -> None:
        sites = self.data["sites"]
        self.unique_ids(("sites",), sites)
        for i, site in enumerate(sites):
            try:
                zoneinfo.ZoneInfo(site["timezone"])
            except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
                self.report(("sites", i, "timezone"), f"unknown time zone {site['timezone']!r}; "
                            "use an IANA name such as Asia/Shanghai")

    def check_consent(self) -> None:
        from .consent import REQUIRED_ELEMENTS

        consent = self.data.get("consent", {})
        elements = consent.get("elements", {})
        where = ("consent", "elements") if "elements" in consent else ("consent",)
        for key in REQUIRED_ELEMENTS:
            if key not in elements:
                self.report(where, f"required consent element {key!r} has no text; add "
                            f"consent.elements.{key} (or write TBD)", "warning")
        risks = consent.get("risks", [])
        risk_ids = self.unique_ids(("consent", "risks"), risks)
        interventions = {i["id"] for i in self.data["interventions"]}
        terms = {t["term"] for t in self.data["safety"]["terms"]}
        for i, risk in enumerate(risks):
            path = ("consent", "risks", i)
            self.ref(path + ("intervention",), risk["intervention"], interventions,
                     "intervention")
            if "term" in risk:
                self.ref(path + ("term",), risk["term"], terms, "CTCAE term")
        names = interventions | {a["id"] for a in self.data["design"]["arms"]} | {
            a["id"] for a in self.data["schedule"]["activities"]}
        for locale, parts in consent.get("locales", {}).items():
            path = ("consent", "locales", locale)
            for key in parts.get("elements", {}):
                self.ref(path + ("elements", key), key, set(REQUIRED_ELEMENTS) | {"specimens"},
                         "consent element")
            for key in parts.get("risks", {}):
                self.ref(path + ("risks", key), key, risk_ids, "risk id")
            for key in parts.get("names", {}):
                self.ref(path + ("names", key), key, names, "id")

    def check_others(self) -> None:
        self.unique_ids(("statistics", "analysis_sets"), self.data["statistics"]["analysis_sets"])
        self.unique_ids(("references",), self.data.get("references", []))


def check_site_holidays(doc: Document) -> list[Problem]:
    """Warnings for sites whose country (or subdivision) has no public-holiday calendar in the
    ``holidays`` package: patient calendars cannot be made for them. Kept out of
    ``validate_document`` because importing ``holidays`` costs ~50 ms of start-up."""
    import holidays

    supported = holidays.list_supported_countries()
    checker = _Checker(doc, doc.data)
    for i, site in enumerate(doc.data.get("sites", [])):
        country, subdivision = site["country"], site.get("subdivision")
        if country not in supported:
            checker.report(("sites", i, "country"), f"no public-holiday calendar for country "
                           f"{country!r}{_suggest(country, supported)}; protocolgen calendar "
                           "cannot schedule this site", "warning")
        elif subdivision and subdivision not in supported[country]:
            known = ", ".join(supported[country][:12]) or "none"
            checker.report(("sites", i, "subdivision"), f"unknown subdivision {subdivision!r} "
                           f"of {country}{_suggest(subdivision, supported[country])}; known: "
                           f"{known}{' …' if len(supported[country]) > 12 else ''}", "warning")
    return checker.problems


def _version_key(number: str) -> tuple[tuple[int, str], ...]:
    """Sort key for ``MAJOR.MINOR``: numeric, without int() (which caps at 4300 digits)."""
    parts = (part.lstrip("0") for part in number.split("."))
    return tuple((len(part), part) for part in parts)


def validate_document(doc: Document) -> tuple[dict[str, Any], list[Problem]]:
    """Run every check on ``doc``; return normalized data and all problems found."""
    data, problems = validate_schema(doc)
    reported = {p.field for p in problems}
    problems += [p for p in check_tbd(doc) if p.field not in reported]
    if not any(p.severity == "error" for p in problems):
        problems += _Checker(doc, data).run()
    return data, sorted(problems)
