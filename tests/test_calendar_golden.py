"""Golden patient calendars (CSV and ICS) for both example studies, compared byte for byte.

Regenerate on purpose only: ``make golden`` (PROTOCOLGEN_GOLDEN=update). Each case records a
few visits, one of them a delayed cycle, so re-anchoring and flags are pinned down too.
"""

from __future__ import annotations

import os
from pathlib import Path

import icalendar
import pytest
from click.testing import CliRunner

from protocolgen.cli import main

from .conftest import RESILIENT, SEED
from .test_calendar_ics import one, parse_strict, unescape_strict

GOLDEN = Path(__file__).parent / "golden"
CASES = {
    "iri-apa-sclc": (SEED, ["1001", "--anchor-date", "2026-03-02"],
                     "visit,date\nSCR,2026-02-12\nC1D1,2026-03-02\nD15.1,2026-03-16\n"
                     "C2D1,2026-04-01\nD1.3,2026-05-06\nTumour assessment 1,2026-04-14\n",
                     "IRI-APA-SCLC-01_1001_calendar"),
    "resilient": (RESILIENT, ["R-014", "--anchor-date", "2026-03-02", "--site", "S02",
                              "--arm", "ARM-TOPO", "--cycles", "3"],
                  "visit,date\nD1.1,2026-03-02\nD22.1,2026-03-24\nC2D1,2026-04-16\n",
                  "RESILIENT-EX-01_R-014_calendar"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_calendar(name: str, tmp_path: Path) -> None:
    study, args, actual, stem = CASES[name]
    (tmp_path / "actual.csv").write_text(actual, encoding="utf-8")
    result = CliRunner().invoke(main, ["calendar", args[0], str(study), *args[1:], "--actual",
                                       str(tmp_path / "actual.csv"), "--format", "csv,ics",
                                       "-o", str(tmp_path)])
    assert result.exit_code == 0, result.output
    for ext in ("csv", "ics"):
        made = (tmp_path / f"{stem}.{ext}").read_bytes()
        golden = GOLDEN / f"calendar_{name}.{ext}"
        if os.environ.get("PROTOCOLGEN_GOLDEN") == "update":
            golden.write_bytes(made)
        assert made == golden.read_bytes(), "run `make golden` if the change is wanted"


@pytest.mark.parametrize("name", sorted(CASES))
def test_golden_ics_reads_back_independently(name: str) -> None:
    data = (GOLDEN / f"calendar_{name}.ics").read_bytes()
    csv_rows = (GOLDEN / f"calendar_{name}.csv").read_bytes().decode("utf-8").split("\r\n")[1:-1]
    calendar, *events = parse_strict(data)
    assert len(events) == len(csv_rows) and len(events) >= 20
    uids = [one(e, "UID") for e in events]
    assert len(set(uids)) == len(uids)  # stable and unique: re-imports update, not duplicate
    for event, row in zip(events, csv_rows, strict=True):
        subject, site, key, _label, status, target = row.split(",")[:6]
        assert one(event, "UID").endswith(f"/{subject}/{key}@protocolgen")
        assert one(event, "DTSTART") == target.replace("-", "")
        assert one(event, "STATUS") == ("TENTATIVE" if status == "projected" else "CONFIRMED")
        assert unescape_strict(one(event, "LOCATION")).startswith(f"Site {site}")
        description = unescape_strict(one(event, "DESCRIPTION"))
        assert "\nActivities:\n- " in description
    parsed = icalendar.Calendar.from_ical(data)
    assert [str(e["UID"]) for e in parsed.walk("VEVENT")] == uids
    assert parsed["PRODID"] == one(calendar, "PRODID")
