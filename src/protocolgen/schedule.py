"""Pure schedule logic: how each visit is timed, in words and in days."""

from __future__ import annotations

from .model import Encounter


def visit_kind(e: Encounter) -> str:
    """screening, cycle, fixed (a calendar from study day 1), end or follow-up."""
    if e.anchor == "cycle_day_1":
        return "cycle"
    if e.anchor == "end_of_treatment":
        return "follow-up" if e.repeat and e.repeat.every_days else "end"
    if e.day < 1 and not e.repeat:
        return "screening"
    return "fixed"


def _screening_range(e: Encounter) -> str | None:
    """``Day -28 to -1`` when the visit's window runs up to the day before study day 1."""
    if e.window.before and e.day < 0 and e.day + e.window.after == -1:
        return f"Day {e.day - e.window.before} to -1"
    return None


def describe_window(encounter: Encounter) -> str:
    """``±3 d``, ``-0/+3 d``, ``none``."""
    w = encounter.window
    if w.before == w.after == 0:
        return "none"
    if w.before == w.after:
        return f"±{w.before} d"
    return f"-{w.before}/+{w.after} d"


def describe_timing(encounter: Encounter, cycle_length: int) -> str:
    """When a visit happens, in the words a schedule of activities uses."""
    e = encounter
    repeat = e.repeat
    if e.anchor == "cycle_day_1":
        text = f"Day {e.day} of each {cycle_length}-day cycle" if repeat and repeat.every_cycle \
            else f"Cycle day {e.day}"
    elif e.anchor == "end_of_treatment":
        text = "End of treatment" if e.day == 0 else f"{e.day} days after end of treatment"
        if repeat and repeat.every_days:
            text += f", then every {repeat.every_days} days"
    else:
        text = _screening_range(e) or f"Study day {e.day}"
        if repeat and repeat.every_days:
            weeks = repeat.every_days / 7
            every = f"{weeks:g} weeks" if weeks.is_integer() else f"{repeat.every_days} days"
            text += f", then every {every}"
    if repeat and repeat.until:
        text += f" until {repeat.until.replace('_', ' ')}"
    if repeat and repeat.max:
        text += f" (at most {repeat.max})"
    return text


def describe_timing_short(encounter: Encounter) -> str:
    """A schedule-of-activities column heading's timing: ``Day -28 to -1``, ``D15``, ``EOT+30``."""
    e = encounter
    repeat = e.repeat
    if e.anchor == "cycle_day_1":
        return f"D{e.day}"
    if e.anchor == "end_of_treatment":
        text = "EOT" if e.day == 0 else f"EOT+{e.day}"
        return text + (f", q{repeat.every_days}d" if repeat and repeat.every_days else "")
    screening = _screening_range(e)
    if screening:
        return screening
    text = f"Day {e.day}"
    if repeat and repeat.every_days:
        weeks = repeat.every_days / 7
        text += f", q{weeks:g}w" if weeks.is_integer() else f", q{repeat.every_days}d"
    return text
