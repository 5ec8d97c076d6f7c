"""Invalid study documents: each is reported as one exact, positioned problem.

Every case copies the seed study, changes one thing (an exact snippet of one file,
or a whole file), loads it, and checks the error's file, line, column, field path
and message word for word.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from protocolgen.errors import InputError, Problem
from protocolgen.study import load_study

# The frozen version 1.0 of the seed study: its line numbers are asserted below.
SEED = Path(__file__).resolve().parent.parent / "protocol" / "iri-apa-sclc" / "history" / "1.0"

Change = Callable[[Path], None]


def replace(file: str, old: str | bytes, new: str | bytes) -> Change:
    """Replace the one occurrence of ``old`` in ``file`` (fails loudly if the seed changed)."""

    def apply(folder: Path) -> None:
        path = folder / file
        raw = path.read_bytes()
        before = old.encode() if isinstance(old, str) else old
        after = new.encode() if isinstance(new, str) else new
        assert raw.count(before) == 1, f"{file}: snippet {old!r} is not in the seed exactly once"
        path.write_bytes(raw.replace(before, after))

    return apply


def write(file: str, content: str | bytes) -> Change:
    def apply(folder: Path) -> None:
        (folder / file).write_bytes(content.encode() if isinstance(content, str) else content)

    return apply


def remove(file: str) -> Change:
    def apply(folder: Path) -> None:
        (folder / file).unlink()

    return apply


def make_dir(file: str) -> Change:
    def apply(folder: Path) -> None:
        (folder / file).unlink()
        (folder / file).mkdir()

    return apply


@dataclass(frozen=True)
class Expect:
    """The first error reported; ``{folder}`` in the message is the study folder."""

    file: str
    line: int
    column: int
    field: str
    message: str
    errors: int = 1  # how many errors the document has in all


def case(case_id: str, changes: Change | list[Change], expect: Expect) -> object:
    changes = changes if isinstance(changes, list) else [changes]
    return pytest.param(changes, expect, id=case_id)


def errors_of(folder: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        load_study(folder)
    problems = info.value.problems
    assert problems == sorted(problems)
    return [p for p in problems if p.severity == "error"]


@pytest.fixture
def study(tmp_path: Path) -> Path:
    folder = tmp_path / "study"
    shutil.copytree(SEED, folder)
    return folder


# Snippets reused by several cases.
SECOND_ARM = """      interventions: [IRI-LIPO, APATINIB]
    - id: ARM-B
      name: Apatinib
      type: active-comparator
      description: Apatinib alone.
      ratio: 2
      interventions: [APATINIB]
"""
ONE_ARM = "      interventions: [IRI-LIPO, APATINIB]\n"
RANDOMIZED = replace("study.yaml", "  type: single-arm\n", "  type: randomized-parallel\n")


def randomization(block_sizes: str) -> Change:
    section = f"randomization:\n  method: permuted-block\n  block_sizes: {block_sizes}\n\n"
    return replace("study.yaml", "eligibility:\n", section + "eligibility:\n")


def amendments(first: tuple[str, str], second: tuple[str, str]) -> Change:
    entries = "".join(
        f'  - version: "{version}"\n    date: {date}\n    summary: Changed.\n'
        "    rationale: Because.\n    substantial: false\n"
        for version, date in (first, second))
    return replace("study.yaml", "background: |\n", f"amendments:\n{entries}\nbackground: |\n")


ALIAS_BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True))
ALIAS_BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + ALIAS_BOMB

KNOWN_VISITS = "D1, D15, EOT, OSFU, SCR, SFU, TA"
ALLOWED_TOP = (
    "amendments, background, benefit_risk, concomitant_therapy, consent, design, "
    "discontinuation, eligibility, endpoints, glossary, identification, interventions, "
    "objectives, oversight, randomization, rationale, references, safety, schedule, "
    "schema_version, sites, statistics, tumour_assessment, version")
DUPLICATE = "YAML would silently keep only the last one — remove or rename one"
PLAIN_ONLY = "only plain YAML values (text, numbers, dates, lists, mappings)"
ID_FORM = "does not have the required form ([A-Za-z][A-Za-z0-9_.-]{0,39})"
TERMS = ("Anaphylaxis, Diarrhea, Febrile neutropenia, Hypertension, Neutrophil count decreased, "
         "Palmar-plantar erythrodysesthesia syndrome, Platelet count decreased, Pneumonitis, "
         "Proteinuria")

CASES = [
    # --- reading and parsing ------------------------------------------------------------
    case("yaml-syntax-unclosed-flow-list",
         replace("study.yaml", "  status: draft\n", "  status: [draft\n"),
         Expect("study.yaml", 39, 11, "", "YAML syntax error: while parsing a flow sequence "
                "that began at line 37, expected ',' or ']', but got ':'")),
    case("yaml-syntax-colon-in-plain-value",
         replace("study.yaml", "  status: draft\n", "  status: draft: final\n"),
         Expect("study.yaml", 37, 16, "",
                "YAML syntax error: mapping values are not allowed here")),
    case("yaml-two-documents",
         replace("study.yaml", "concomitant_therapy: TBD\n", "concomitant_therapy: TBD\n---\n"),
         Expect("study.yaml", 282, 1, "", "YAML syntax error: expected a single document in the "
                "stream, but found another document")),
    case("tab-indentation",
         replace("study.yaml", "  status: draft\n", "\tstatus: draft\n"),
         Expect("study.yaml", 37, 1, "",
                "YAML syntax error: a tab character here; YAML indents with spaces only")),
    case("tab-indentation-in-included-file",
         replace("schedule.yaml", "  default_cycles: 6\n", "\tdefault_cycles: 6\n"),
         Expect("schedule.yaml", 6, 1, "",
                "YAML syntax error: a tab character here; YAML indents with spaces only")),
    case("duplicate-key-top-level",
         replace("study.yaml", "concomitant_therapy: TBD\n",
                 "concomitant_therapy: TBD\nconcomitant_therapy: None.\n"),
         Expect("study.yaml", 282, 1, "concomitant_therapy", "duplicate key "
                f"'concomitant_therapy' (first defined at line 281); {DUPLICATE}")),
    case("duplicate-key-nested",
         replace("study.yaml", "  status: draft\n", "  status: draft\n  status: final\n"),
         Expect("study.yaml", 38, 3, "version.status",
                f"duplicate key 'status' (first defined at line 37); {DUPLICATE}")),
    case("duplicate-key-in-flow-mapping",
         replace("study.yaml", "    dose: {amount: 70, unit: mg/m2}\n",
                 "    dose: {amount: 70, unit: mg/m2, amount: 80}\n"),
         Expect("study.yaml", 210, 37, "interventions[0].dose.amount",
                f"duplicate key 'amount' (first defined at line 210); {DUPLICATE}")),
    case("tag-python-object-apply",
         replace("study.yaml", "concomitant_therapy: TBD\n",
                 "concomitant_therapy: !!python/object/apply:os.system ['echo pwned']\n"),
         Expect("study.yaml", 281, 22, "concomitant_therapy",
                f"tag '!!python/object/apply:os.system' is not allowed; {PLAIN_ONLY}")),
    case("tag-python-name",
         replace("study.yaml", "concomitant_therapy: TBD\n",
                 "concomitant_therapy: !!python/name:os.system\n"),
         Expect("study.yaml", 281, 22, "concomitant_therapy",
                f"tag '!!python/name:os.system' is not allowed; {PLAIN_ONLY}")),
    case("tag-custom-local",
         replace("schedule.yaml", "  default_cycles: 6\n", "  default_cycles: !cycles 6\n"),
         Expect("schedule.yaml", 6, 19, "schedule.default_cycles",
                f"tag '!cycles' is not allowed; {PLAIN_ONLY}")),
    case("alias-bomb",
         write("study.yaml", ALIAS_BOMB),
         Expect("study.yaml", 1, 43, "f[0][3][3][7][1][5]", "the document expands to more than "
                "100,000 values (an alias bomb?); refusing to load it")),
    case("recursive-alias-list",
         replace("study.yaml", "concomitant_therapy: TBD\n",
                 "concomitant_therapy: &loop [*loop]\n"),
         Expect("study.yaml", 281, 22, "concomitant_therapy[0]",
                "recursive alias: this anchored value contains an alias to itself")),
    case("recursive-alias-mapping",
         replace("study.yaml", "  status: draft\n", "  status: &s {again: *s}\n"),
         Expect("study.yaml", 37, 11, "version.status.again",
                "recursive alias: this anchored value contains an alias to itself")),
    case("merge-key-of-a-number",
         replace("study.yaml", "  status: draft\n", "  status: draft\n  <<: 3\n"),
         Expect("study.yaml", 38, 7, "version",
                "a '<<' merge needs a mapping or list of mappings")),
    case("merge-key-keeps-the-local-value-and-its-line",
         replace("study.yaml", "  status: draft\n", "  status: drafts\n  <<: {status: final}\n"),
         Expect("study.yaml", 37, 11, "version.status",
                "'drafts' is not allowed (did you mean 'draft'?); use one of: draft, final")),
    case("mapping-as-a-key",
         replace("study.yaml", "  status: draft\n", "  status: draft\n  ? {a: 1}\n  : 2\n"),
         Expect("study.yaml", 38, 5, "version",
                "a mapping key must be plain text, not a list or mapping")),
    case("invalid-utf8-byte",
         replace("study.yaml", b"  status: draft\n", b"  status: dr\xe9ft\n"),
         Expect("study.yaml", 37, 13, "",
                "not valid UTF-8 text (byte 0xe9); save the file as UTF-8")),
    case("invalid-utf8-after-multibyte-characters",
         replace("study.yaml", "Expected survival period ≥ 12 weeks;",
                 "Expected survival period ≥ 12 weeks;\udcff".encode(errors="surrogateescape")),
         Expect("study.yaml", 180, 49, "",
                "not valid UTF-8 text (byte 0xff); save the file as UTF-8")),
    case("nul-byte",
         replace("schedule.yaml", b"  default_cycles: 6\n", b"  default_cycles: 6\x00\n"),
         Expect("schedule.yaml", 6, 20, "", "contains a NUL byte: is this a binary file?")),
    case("control-character",
         replace("study.yaml", "  status: draft\n", "  status: dr\x07aft\n"),
         Expect("study.yaml", 37, 13, "",
                "character '\\x07' (#x0007) is not allowed in YAML; remove it")),
    case("empty-file",
         write("study.yaml", ""),
         Expect("study.yaml", 1, 1, "", "file is empty")),
    case("comments-only-file",
         write("study.yaml", "# A study\n\n   # still to be written\n"),
         Expect("study.yaml", 1, 1, "", "file is empty")),
    case("empty-included-file",
         write("safety.yaml", "\n"),
         Expect("safety.yaml", 1, 1, "", "file is empty")),
    case("folder-instead-of-study-yaml",
         make_dir("study.yaml"),
         Expect("study.yaml", 0, 0, "", "is a folder, expected a YAML file")),
    case("missing-study-yaml",
         remove("study.yaml"),
         Expect("study.yaml", 0, 0, "", "file not found")),
    case("top-level-is-a-list",
         write("study.yaml", "- schema_version: 1\n- version: {}\n"),
         Expect("study.yaml", 1, 1, "",
                "the study file must be a mapping of sections (key: value)")),
    case("included-file-is-a-list",
         write("safety.yaml", "- ctcae_version: '5.0'\n"),
         Expect("safety.yaml", 1, 1, "", "an included file must be a mapping of sections")),
    # --- include ------------------------------------------------------------------------
    case("include-missing-file",
         replace("study.yaml", "include: [schedule.yaml, safety.yaml]",
                 "include: [schedule.yaml, safety.yaml, sites.yaml]"),
         Expect("study.yaml", 6, 39, "include[2]",
                "included file 'sites.yaml' not found next to study.yaml")),
    case("include-parent-folder",
         replace("study.yaml", "include: [schedule.yaml, safety.yaml]",
                 "include: [schedule.yaml, safety.yaml, ../x.yaml]"),
         Expect("study.yaml", 6, 39, "include[2]",
                "'../x.yaml': only files in the same folder as study.yaml can be included")),
    case("include-listed-twice",
         replace("study.yaml", "include: [schedule.yaml, safety.yaml]",
                 "include: [schedule.yaml, safety.yaml, schedule.yaml]"),
         Expect("study.yaml", 6, 39, "include[2]", "'schedule.yaml' is already part of the "
                "study (listed twice, or the study file itself)")),
    case("include-not-a-list",
         replace("study.yaml", "include: [schedule.yaml, safety.yaml]",
                 "include: {schedule: schedule.yaml}"),
         Expect("study.yaml", 6, 10, "include", "must be a list of sibling file names, "
                "e.g. [schedule.yaml, safety.yaml]")),
    case("include-entry-not-text",
         replace("study.yaml", "include: [schedule.yaml, safety.yaml]",
                 "include: [schedule.yaml, 3]"),
         Expect("study.yaml", 6, 26, "include[1]", "must be a file name, got 3")),
    case("section-in-two-files",
         replace("safety.yaml", "safety:\n", "concomitant_therapy: None.\nsafety:\n"),
         Expect("safety.yaml", 5, 1, "concomitant_therapy", "section 'concomitant_therapy' "
                "is already defined in {folder}/study.yaml at line 281")),
    # --- schema ---------------------------------------------------------------------------
    case("unknown-key-top-level",
         replace("study.yaml", "concomitant_therapy: TBD\n",
                 "concomitant_therapy: TBD\nconcomitent_therapy: None.\n"),
         Expect("study.yaml", 282, 1, "concomitent_therapy", "unknown field "
                "'concomitent_therapy' (did you mean 'concomitant_therapy'?); allowed here: "
                + ALLOWED_TOP)),
    case("unknown-key-nested",
         replace("study.yaml", "  status: draft\n", "  status: draft\n  stauts: final\n"),
         Expect("study.yaml", 38, 3, "version.stauts", "unknown field 'stauts' "
                "(did you mean 'status'?); allowed here: date, number, status")),
    case("unknown-key-with-a-line-break",
         replace("study.yaml", "  status: draft\n", '  status: draft\n  "sta\\ntus": final\n'),
         Expect("study.yaml", 38, 3, "version.sta\\ntus", "unknown field 'sta\\ntus' "
                "(did you mean 'status'?); allowed here: date, number, status")),
    case("unknown-key-in-list-item",
         replace("schedule.yaml", "      repeat: {every_days: 42, until: progression}\n",
                 "      repeat: {every_day: 42, until: progression}\n"),
         Expect("schedule.yaml", 38, 16, "schedule.visits[3].repeat.every_day", "unknown field "
                "'every_day' (did you mean 'every_days'?); allowed here: every_cycle, "
                "every_days, max, until")),
    case("missing-required-field",
         replace("study.yaml", "  status: draft\n", ""),
         Expect("study.yaml", 35, 3, "version.status", "required field 'status' is missing")),
    case("missing-required-section",
         replace("study.yaml", "schema_version: 1\n", ""),
         Expect("study.yaml", 5, 1, "schema_version",
                "required field 'schema_version' is missing")),
    case("string-for-integer",
         replace("schedule.yaml", "  cycle_length_days: 28\n",
                 "  cycle_length_days: twenty-eight\n"),
         Expect("schedule.yaml", 5, 22, "schedule.cycle_length_days",
                "must be a whole number, got 'twenty-eight'")),
    case("boolean-for-integer",
         replace("schedule.yaml", "  cycle_length_days: 28\n", "  cycle_length_days: true\n"),
         Expect("schedule.yaml", 5, 22, "schedule.cycle_length_days",
                "must be a whole number, got True")),
    case("list-for-mapping",
         replace("schedule.yaml", "      window: {before: 7, after: 7}\n",
                 "      window: [7, 7]\n"),
         Expect("schedule.yaml", 37, 15, "schedule.visits[3].window",
                "must be a mapping (key: value), got [7, 7]")),
    case("value-not-allowed-with-suggestion",
         replace("study.yaml", "  status: draft\n", "  status: drafts\n"),
         Expect("study.yaml", 37, 11, "version.status",
                "'drafts' is not allowed (did you mean 'draft'?); use one of: draft, final")),
    case("value-not-allowed-tbd-ok",
         replace("study.yaml", "  phase: TBD\n", "  phase: II\n"),
         Expect("study.yaml", 14, 10, "identification.phase", "'II' is not allowed; use one of: "
                "early phase 1, 1, 1/2, 2, 2/3, 3, 4 or TBD")),
    case("version-number-without-minor",
         replace("study.yaml", '  number: "1.0"\n', '  number: "1"\n'),
         Expect("study.yaml", 35, 11, "version.number",
                "'1' does not have the required form ([0-9]+\\.[0-9]+)")),
    case("version-number-unquoted",
         replace("study.yaml", '  number: "1.0"\n', "  number: 1.0\n"),
         Expect("study.yaml", 35, 11, "version.number", "must be text, got 1.0")),
    case("id-with-a-space",
         replace("study.yaml", "  - id: OBJ-3\n", "  - id: OBJ 3\n"),
         Expect("study.yaml", 118, 9, "objectives[2].id", f"'OBJ 3' {ID_FORM}")),
    case("id-with-a-final-newline",
         replace("study.yaml", "  - id: OBJ-3\n", '  - id: "OBJ-3\\n"\n'),
         Expect("study.yaml", 118, 9, "objectives[2].id", f"'OBJ-3\\n' {ID_FORM}")),
    case("above-maximum",
         replace("study.yaml", "check: {age: {min: 18, max: 75}}",
                 "check: {age: {min: 18, max: 150}}"),
         Expect("study.yaml", 178, 35, "eligibility.inclusion[0].check.age.max",
                "150 is too large; the maximum is 120")),
    case("below-minimum",
         replace("study.yaml", "check: {life_expectancy_weeks: {min: 12}}",
                 "check: {life_expectancy_weeks: {min: -12}}"),
         Expect("study.yaml", 181, 44, "eligibility.inclusion[1].check.life_expectancy_weeks.min",
                "-12 is too small; the minimum is 0")),
    case("empty-list-needs-one-item",
         replace("study.yaml", "    endpoints: [EP-SAF]\n", "    endpoints: []\n"),
         Expect("study.yaml", 121, 16, "objectives[2].endpoints",
                "needs at least 1 item(s), has 0")),
    case("empty-value",
         replace("study.yaml", "  short_title: Liposomal Irinotecan and Apatinib in ES-SCLC\n",
                 "  short_title:\n"),
         Expect("study.yaml", 13, 15, "identification.short_title",
                "has no value; give one (or remove the key)")),
    case("invalid-date",
         replace("study.yaml", "  date: 2026-11-20\n", "  date: 2026-02-30\n"),
         Expect("study.yaml", 36, 9, "version.date",
                "'2026-02-30' is not a valid date: day is out of range for month")),
    case("date-in-wrong-order",
         replace("study.yaml", "  date: 2026-11-20\n", "  date: 20-11-2026\n"),
         Expect("study.yaml", 36, 9, "version.date",
                "must be a date (YYYY-MM-DD), got '20-11-2026'")),
    case("date-with-a-time",
         replace("study.yaml", "  date: 2026-11-20\n", "  date: 2026-11-20 09:30:00\n"),
         Expect("study.yaml", 36, 9, "version.date",
                "must be a date (YYYY-MM-DD), got 2026-11-20T09:30:00")),
    case("tbd-in-text-field",
         replace("study.yaml", "  protocol_number: IRI-APA-SCLC-01\n", "  protocol_number: TBD\n"),
         Expect("study.yaml", 9, 20, "identification.protocol_number",
                "TBD is not allowed here; give the value")),
    case("tbd-in-number-field-reported-once",
         replace("schedule.yaml", "  cycle_length_days: 28\n", "  cycle_length_days: TBD\n"),
         Expect("schedule.yaml", 5, 22, "schedule.cycle_length_days",
                "must be a whole number, got 'TBD'")),
    # --- cross-references and rules -------------------------------------------------------
    case("duplicate-objective-id",
         replace("study.yaml", "  - id: OBJ-3\n", "  - id: OBJ-2\n"),
         Expect("study.yaml", 118, 9, "objectives[2].id",
                "duplicate id 'OBJ-2' (also at objectives[1])")),
    case("duplicate-visit-id",
         replace("schedule.yaml", "    - id: EOT\n", "    - id: TA\n      label: Extra scan\n"
                 "      epoch: TREATMENT\n      anchor: study_day_1\n      day: 85\n"
                 "      window: {before: 7, after: 7}\n    - id: EOT\n"),
         Expect("schedule.yaml", 40, 11, "schedule.visits[4].id",
                "duplicate id 'TA' (also at schedule.visits[3])")),
    case("duplicate-criterion-across-inclusion-and-exclusion",
         replace("study.yaml", "    - id: E4\n", "    - id: I4\n"),
         Expect("study.yaml", 200, 11, "eligibility.exclusion[3].id",
                "duplicate id 'I4' (also used in inclusion)")),
    case("objective-with-unknown-endpoint",
         replace("study.yaml", "    endpoints: [EP-SAF]\n", "    endpoints: [EP-SAFE]\n"),
         Expect("study.yaml", 121, 17, "objectives[2].endpoints[0]",
                "unknown endpoint 'EP-SAFE' (did you mean 'EP-SAF'?); known: EP-BIO, EP-DCR, "
                "EP-DOR, EP-ORR, EP-OS, EP-PFS, EP-SAF")),
    case("no-primary-objective",
         replace("study.yaml", "    level: primary\n", "    level: secondary\n"),
         Expect("study.yaml", 100, 3, "objectives",
                "no primary objective; mark one with level: primary")),
    case("arm-with-unknown-intervention",
         replace("study.yaml", ONE_ARM, "      interventions: [IRI-LIPO, APATINIP]\n"),
         Expect("study.yaml", 141, 33, "design.arms[0].interventions[1]",
                "unknown intervention 'APATINIP' (did you mean 'APATINIB'?); "
                "known: APATINIB, IRI-LIPO")),
    case("visit-with-unknown-epoch",
         replace("schedule.yaml", "      epoch: SCREENING\n", "      epoch: SCREEN\n"),
         Expect("schedule.yaml", 11, 14, "schedule.visits[0].epoch",
                "unknown epoch 'SCREEN' (did you mean 'SCREENING'?); "
                "known: FOLLOW-UP, SCREENING, TREATMENT")),
    case("negative-window",
         replace("schedule.yaml", "      window: {before: 2, after: 2}\n",
                 "      window: {before: -2, after: 2}\n"),
         Expect("schedule.yaml", 29, 24, "schedule.visits[2].window.before",
                "window before must not be negative, got -2")),
    case("day-0-on-study-day-1-visit",
         replace("schedule.yaml", "      day: 43\n", "      day: 0\n"),
         Expect("schedule.yaml", 36, 12, "schedule.visits[3].day",
                "there is no day 0: day 1 is the anchor date, day -1 the day before")),
    case("matrix-unknown-activity",
         replace("schedule.yaml", "    SURV: [OSFU]\n", "    SURV: [OSFU]\n    SURVIVAL: [OSFU]\n"),
         Expect("schedule.yaml", 98, 15, "schedule.matrix.SURVIVAL",
                "unknown activity 'SURVIVAL' (did you mean 'SURV'?); known: AE, APA, CHEM, "
                "CONMED, CONSENT, CT, ECG, ECOG, ELIG, HEM, HISTORY, IRI, PE, PREG, SURV, URINE, "
                "VITALS")),
    case("matrix-unknown-visit",
         replace("schedule.yaml", "    SURV: [OSFU]\n", "    SURV: [OSFU, D30]\n"),
         Expect("schedule.yaml", 97, 18, "schedule.matrix.SURV[1]",
                f"unknown visit 'D30'; known: {KNOWN_VISITS}")),
    case("footnote-unknown-visit",
         replace("schedule.yaml", "      visits: [TA]\n", "      visits: [TA2]\n"),
         Expect("schedule.yaml", 113, 16, "schedule.footnotes[4].visits[0]",
                f"unknown visit 'TA2' (did you mean 'TA'?); known: {KNOWN_VISITS}")),
    case("tumour-assessment-unknown-visit",
         replace("study.yaml", "  visit: TA\n", "  visit: CT\n"),
         Expect("study.yaml", 246, 10, "tumour_assessment.visit",
                f"unknown visit 'CT'; known: {KNOWN_VISITS}")),
    case("min-greater-than-max",
         replace("study.yaml", "check: {age: {min: 18, max: 75}}",
                 "check: {age: {min: 80, max: 75}}"),
         Expect("study.yaml", 178, 20, "eligibility.inclusion[0].check.age",
                "min 80 is greater than max 75")),
    case("dose-levels-not-decreasing",
         replace("study.yaml", "      - {level: -2, amount: 43}\n",
                 "      - {level: -2, amount: 55}\n"),
         Expect("study.yaml", 217, 29, "interventions[0].dose_levels[2].amount",
                "dose levels must decrease: level -2 (55) is not below level -1 (50)")),
    case("dose-levels-skip-a-level",
         replace("study.yaml", "      - {level: -1, amount: 50}\n      - {level: -2, amount: 43}\n",
                 "      - {level: -2, amount: 43}\n"),
         Expect("study.yaml", 216, 17, "interventions[0].dose_levels[1].level",
                "dose levels must run 0, -1, -2, … in order; expected -1, got -2")),
    case("dose-level-0-differs-from-starting-dose",
         replace("study.yaml", "      - {level: 0, amount: 250}\n",
                 "      - {level: 0, amount: 500}\n"),
         Expect("study.yaml", 235, 28, "interventions[1].dose_levels[0].amount",
                "level 0 (500) must equal the starting dose (250)")),
    case("dose-modification-unknown-intervention",
         replace("safety.yaml", "    - id: APA-HTN-4\n      intervention: APATINIB\n",
                 "    - id: APA-HTN-4\n      intervention: APATINIBB\n"),
         Expect("safety.yaml", 169, 21, "safety.dose_modifications[9].intervention",
                "unknown intervention 'APATINIBB' (did you mean 'APATINIB'?); "
                "known: APATINIB, IRI-LIPO")),
    case("dose-modification-unknown-term",
         replace("safety.yaml", "      term: Anaphylaxis\n      grades: [3, 4]\n",
                 "      term: Anaphylactic reaction\n      grades: [3, 4]\n"),
         Expect("safety.yaml", 155, 13, "safety.dose_modifications[7].term",
                f"unknown CTCAE term 'Anaphylactic reaction'; known: {TERMS} "
                "(or add it to safety.terms)")),
    case("dose-modification-undefined-grade",
         replace("safety.yaml", "      term: Anaphylaxis\n      grades: [3, 4]\n",
                 "      term: Anaphylaxis\n      grades: [2, 3, 4]\n"),
         Expect("safety.yaml", 156, 16, "safety.dose_modifications[7].grades[0]",
                "CTCAE 'Anaphylaxis' has no grade 2; defined: [3, 4, 5]")),
    case("dose-modification-hold-without-hold-until-grade",
         replace("safety.yaml", "      action: hold\n      hold_until_grade: 1\n      restart: Lop",
                 "      action: hold\n      restart: Lop"),
         Expect("safety.yaml", 103, 15, "safety.dose_modifications[0].action",
                "action 'hold' needs hold_until_grade")),
    case("dose-modification-hold-until-grade-not-below",
         replace("safety.yaml", "occurrence: 1\n      action: hold\n      hold_until_grade: 1",
                 "occurrence: 1\n      action: hold\n      hold_until_grade: 2"),
         Expect("safety.yaml", 195, 25, "safety.dose_modifications[12].hold_until_grade",
                "hold_until_grade 2 must be below the rule's lowest grade (2)")),
    case("dose-modification-reduce-below-lowest-level",
         replace("safety.yaml", "      hold_until_grade: 1\n      restart: Blood",
                 "      hold_until_grade: 1\n      reduce_levels: 2\n      restart: Blood"),
         Expect("safety.yaml", 164, 15, "safety.dose_modifications[8].action",
                "cannot reduce 2 level(s): 'APATINIB' has 1 level(s) below 0 (add dose_levels)")),
    case("dose-modification-reduce-without-dose-levels",
         replace("study.yaml", "      - {level: -1, amount: 250, frequency: Every other day}\n",
                 ""),
         Expect("safety.yaml", 164, 15, "safety.dose_modifications[8].action",
                "cannot reduce 1 level(s): 'APATINIB' has 0 level(s) below 0 (add dose_levels)",
                errors=4)),
    case("single-arm-design-with-two-arms",
         replace("study.yaml", ONE_ARM, SECOND_ARM),
         Expect("study.yaml", 137, 5, "design.arms",
                "a single-arm design has exactly 1 arm, not 2")),
    case("randomized-design-without-randomization",
         [RANDOMIZED, replace("study.yaml", ONE_ARM, SECOND_ARM)],
         Expect("study.yaml", 128, 9, "design.type",
                "a randomized design needs a randomization section")),
    case("randomized-design-with-one-arm",
         [RANDOMIZED, randomization("[2, 4]")],
         Expect("study.yaml", 137, 5, "design.arms",
                "a randomized design needs at least 2 arms")),
    case("randomization-in-single-arm-design",
         randomization("[2, 4]"),
         Expect("study.yaml", 175, 3, "randomization", "a single-arm design is not randomized; "
                "remove the randomization section or change design.type")),
    case("block-size-not-multiple-of-ratio-sum",
         [RANDOMIZED, replace("study.yaml", ONE_ARM, SECOND_ARM), randomization("[3, 4, 6]")],
         Expect("study.yaml", 182, 20, "randomization.block_sizes[1]",
                "block size 4 is not a multiple of the ratio sum 3 (1:2)")),
    case("ratio-0",
         [RANDOMIZED, replace("study.yaml", ONE_ARM, SECOND_ARM.replace("ratio: 2", "ratio: 0")),
          randomization("[2, 4]")],
         Expect("study.yaml", 146, 14, "design.arms[1].ratio",
                "0 is too small; the minimum is 1")),
    case("amendment-versions-not-increasing",
         amendments(("0.9", "2026-09-01"), ("0.8", "2026-10-01")),
         Expect("study.yaml", 45, 14, "amendments[1].version",
                "versions must increase: 0.8 follows 0.9")),
    case("amendment-versions-compared-as-numbers",
         amendments(("0.10", "2026-09-01"), ("0.9", "2026-10-01")),
         Expect("study.yaml", 45, 14, "amendments[1].version",
                "versions must increase: 0.9 follows 0.10")),
    case("amendment-dates-going-backwards",
         amendments(("0.8", "2026-10-01"), ("0.9", "2026-09-01")),
         Expect("study.yaml", 46, 11, "amendments[1].date",
                "dates must not go backwards: 2026-09-01 is before 2026-10-01")),
    case("amendment-after-version-date",
         amendments(("0.9", "2026-10-01"), ("1.0", "2026-12-01")),
         Expect("study.yaml", 46, 11, "amendments[1].date",
                "2026-12-01 is later than the version date 2026-11-20")),
    case("amendment-version-after-study-version",
         amendments(("0.9", "2026-10-01"), ("1.1", "2026-11-01")),
         Expect("study.yaml", 45, 14, "amendments[1].version",
                "version 1.1 is later than the study's version 1.0")),
    case("unknown-time-zone",
         replace("study.yaml", "    timezone: Asia/Shanghai\n", "    timezone: Asia/Beijing\n"),
         Expect("study.yaml", 395, 15, "sites[0].timezone",
                "unknown time zone 'Asia/Beijing'; use an IANA name such as Asia/Shanghai")),
    case("time-zone-longer-than-a-file-name",
         replace("study.yaml", "    timezone: Asia/Shanghai\n",
                 "    timezone: " + "Z" * 300 + "\n"),
         Expect("study.yaml", 395, 15, "sites[0].timezone",
                f"unknown time zone '{'Z' * 300}'; use an IANA name such as Asia/Shanghai")),
]


@pytest.mark.parametrize(("changes", "expect"), CASES)
def test_invalid_document(study: Path, changes: list[Change], expect: Expect) -> None:
    for change in changes:
        change(study)
    errors = errors_of(study)
    assert len(errors) == expect.errors, "\n".join(map(str, errors))
    first = errors[0]
    assert Path(first.file).name == expect.file
    assert first.file == str(study / expect.file)
    assert (first.line, first.column) == (expect.line, expect.column)
    assert first.field == expect.field
    assert first.message == expect.message.replace("{folder}", str(study))
    # The printed form: FILE:LINE:COL: field: message (no position for a missing file).
    where = f"{study / expect.file}:{expect.line}:{expect.column}:" if expect.line else \
        f"{study / expect.file}:"
    field = f" {expect.field}:" if expect.field else ""
    assert str(first) == f"{where}{field} {first.message}"


def test_case_ids_are_unique() -> None:
    ids = [param.id for param in CASES]  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)) >= 45


def test_alias_bomb_fails_fast(study: Path) -> None:
    write("study.yaml", ALIAS_BOMB)(study)
    start = time.perf_counter()
    with pytest.raises(InputError, match="alias bomb"):
        load_study(study)
    assert time.perf_counter() - start < 2.0


def test_study_yaml_path_and_text_path_work_too(study: Path) -> None:
    replace("study.yaml", "  status: draft\n", "  status: drafts\n")(study)
    for given in (study / "study.yaml", str(study)):
        errors = errors_of(given)  # type: ignore[arg-type]
        assert [str(e) for e in errors] == [
            f"{study / 'study.yaml'}:37:11: version.status: 'drafts' is not allowed "
            "(did you mean 'draft'?); use one of: draft, final"]


def test_several_problems_are_all_reported_sorted(study: Path) -> None:
    replace("study.yaml", "  status: draft\n", "  status: drafts\n")(study)
    replace("study.yaml", "    endpoints: [EP-SAF]\n", "    endpoints: []\n")(study)
    replace("schedule.yaml", "  cycle_length_days: 28\n", "  cycle_length_days: '28'\n")(study)
    replace("safety.yaml", "      meddra_code: 10016288\n", "      meddra_code: 10016288x\n")(study)
    replace("safety.yaml", "  ctcae_version: \"5.0\"\n", "  ctcae_version: \"4.03\"\n")(study)
    errors = errors_of(study)
    assert [(Path(e.file).name, e.line, e.column, e.field, e.message) for e in errors] == [
        ("safety.yaml", 6, 18, "safety.ctcae_version", "'4.03' is not allowed; use one of: 5.0"),
        ("safety.yaml", 43, 20, "safety.terms[2].meddra_code",
         "must be a whole number, got '10016288x'"),
        ("schedule.yaml", 5, 22, "schedule.cycle_length_days", "must be a whole number, got '28'"),
        ("study.yaml", 37, 11, "version.status",
         "'drafts' is not allowed (did you mean 'draft'?); use one of: draft, final"),
        ("study.yaml", 121, 16, "objectives[2].endpoints", "needs at least 1 item(s), has 0"),
    ]


def test_schema_errors_hold_back_cross_reference_checks(study: Path) -> None:
    """A schema error stops the checks that assume valid data, so they cannot crash."""
    replace("study.yaml", "    endpoints: [EP-SAF]\n", "    endpoints: [EP-SAFE]\n")(study)
    replace("schedule.yaml", "      day: 43\n", "      day: forty-three\n")(study)
    assert [(e.field, e.message) for e in errors_of(study)] == [
        ("schedule.visits[3].day", "must be a whole number, got 'forty-three'")]


def test_warnings_come_with_errors(study: Path) -> None:
    replace("study.yaml", "  status: draft\n", "  status: drafts\n")(study)
    with pytest.raises(InputError) as info:
        load_study(study)
    warnings = [p for p in info.value.problems if p.severity == "warning"]
    assert str(warnings[0]) == (f"{study / 'safety.yaml'}:22:17: warning: "
                                "safety.reporting[3].timeline: is TBD: still to be decided")


def test_nan_and_infinity_are_not_numbers(tmp_path: Path) -> None:
    study = Path(shutil.copytree(SEED, tmp_path / "nan"))
    text = (study / "study.yaml").read_text(encoding="utf-8")
    (study / "study.yaml").write_text(text.replace("dose: {amount: 70, unit: mg/m2}",
                                                   "dose: {amount: .nan, unit: mg/m2}"),
                                      encoding="utf-8")
    with pytest.raises(InputError) as info:
        load_study(study)
    assert [str(p).split(": ", 1)[1] for p in info.value.errors] == [
        "interventions[0].dose.amount: nan is not a finite number"]


def test_site_without_holiday_calendar_is_a_warning(tmp_path: Path) -> None:
    from protocolgen.validate import check_site_holidays

    study = Path(shutil.copytree(SEED, tmp_path / "site"))
    text = (study / "study.yaml").read_text(encoding="utf-8")
    (study / "study.yaml").write_text(
        text.replace("    country: CN\n", "    country: QQ\n"), encoding="utf-8")
    problems = check_site_holidays(load_study(study).document)
    assert [(p.field, p.message, p.severity) for p in problems] == [
        ("sites[0].country", "no public-holiday calendar for country 'QQ'; protocolgen "
         "calendar cannot schedule this site", "warning")]
    assert (problems[0].line, problems[0].column) == (394, 14)
    (study / "study.yaml").write_text(
        text.replace("    country: CN\n", "    country: CN\n    subdivision: XX\n"),
        encoding="utf-8")
    problems = check_site_holidays(load_study(study).document)
    assert len(problems) == 1 and problems[0].message.startswith("unknown subdivision 'XX' of CN")
    assert check_site_holidays(load_study(SEED).document) == []
