"""The trial schema figure (M11 1.2) drawn from the design, as deterministic SVG."""

from __future__ import annotations

from html import escape as _html_escape

from .model import Study


def escape(text: str) -> str:
    """XML-escape text content (&, <, >)."""
    return _html_escape(text, quote=False)

_W_BOX, _H_BOX, _GAP = 150, 54, 34
_FONT = "font-family='Helvetica, Arial, sans-serif' font-size='12'"


def _box(x: int, y: int, w: int, h: int, lines: list[str], fill: str) -> str:
    text_y = y + h // 2 - (len(lines) - 1) * 8 + 4
    spans = "".join(
        f"<tspan x='{x + w // 2}' y='{text_y + i * 16}'>{escape(line)}</tspan>"
        for i, line in enumerate(lines))
    return (f"<rect x='{x}' y='{y}' width='{w}' height='{h}' rx='6' fill='{fill}' "
            f"stroke='#1f3b5c' stroke-width='1.2'/>"
            f"<text text-anchor='middle' {_FONT} fill='#10243a'>{spans}</text>")


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    return (f"<line x1='{x1}' y1='{y1}' x2='{x2}' y2='{y2}' stroke='#1f3b5c' "
            f"stroke-width='1.4' marker-end='url(#arrow)'/>")


def _wrap(text: str, width: int = 22) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines[:3] or [""]


def render_trial_schema_svg(study: Study) -> str:
    """Screening → (randomization) → one row per arm of treatment cycles → EOT → follow-up."""
    arms = study.design.arms
    randomized = study.design.randomized
    cycle = study.schedule.cycle_length_days
    rows = len(arms)
    height = max(rows * (_H_BOX + 18) + 40, _H_BOX + 60)
    mid = height // 2
    parts: list[str] = []
    x = 10
    parts.append(_box(x, mid - _H_BOX // 2, 120, _H_BOX, ["Screening"], "#e8eef6"))
    x += 120
    if randomized:
        ratio = ":".join(str(a.ratio) for a in arms)
        parts.append(_arrow(x, mid, x + _GAP - 4, mid))
        x += _GAP
        cx, r = x + 30, 30
        parts.append(f"<circle cx='{cx}' cy='{mid}' r='{r}' fill='#fff4d6' stroke='#1f3b5c' "
                     f"stroke-width='1.2'/><text text-anchor='middle' {_FONT}>"
                     f"<tspan x='{cx}' y='{mid - 2}'>R</tspan>"
                     f"<tspan x='{cx}' y='{mid + 14}'>{escape(ratio)}</tspan></text>")
        x += 2 * r
    arm_x = x + _GAP
    arm_w = _W_BOX + 60
    for i, arm in enumerate(arms):
        y = 20 + i * (_H_BOX + 18) if rows > 1 else mid - _H_BOX // 2
        cy = y + _H_BOX // 2
        parts.append(f"<path d='M{x} {mid} C{x + _GAP // 2} {mid} {x + _GAP // 2} {cy} "
                     f"{arm_x - 4} {cy}' fill='none' stroke='#1f3b5c' stroke-width='1.4' "
                     f"marker-end='url(#arrow)'/>")
        label = _wrap(arm.name, 28)[:2] + [f"{cycle}-day cycles until progression"]
        parts.append(_box(arm_x, y, arm_w, _H_BOX, label, "#dff0e4"))
        parts.append(_arrow(arm_x + arm_w, cy, arm_x + arm_w + _GAP - 4, mid if rows == 1 else cy))
    x = arm_x + arm_w + _GAP
    eot_y = 20 if rows > 1 else mid - _H_BOX // 2
    eot_h = height - 40 if rows > 1 else _H_BOX
    parts.append(_box(x, eot_y, 110, eot_h, ["End of", "treatment"], "#e8eef6"))
    x += 110
    parts.append(_arrow(x, mid, x + _GAP - 4, mid))
    x += _GAP
    parts.append(_box(x, mid - _H_BOX // 2, 130, _H_BOX, ["Follow-up", "(safety, survival)"],
                      "#e8eef6"))
    width = x + 140
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label='Trial schema'>"
        "<defs><marker id='arrow' markerWidth='8' markerHeight='8' refX='7' refY='4' "
        "orient='auto'><path d='M0,0 L8,4 L0,8 z' fill='#1f3b5c'/></marker></defs>"
        "<rect width='100%' height='100%' fill='white'/>"
        + "".join(parts) + "</svg>\n")
