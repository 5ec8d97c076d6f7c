"""Amendment-diff figures for bench.py: the seed study, and a synthetic study ten times larger."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

from allocation_bench import median_call  # bench/ is on sys.path when run as a script

ROOT = Path(__file__).resolve().parent.parent


def _scaled(data: dict[str, Any], factor: int) -> dict[str, Any]:
    """Every id-keyed list repeated ``factor`` times with fresh ids."""
    out = copy.deepcopy(data)
    for key in ("inclusion", "exclusion"):
        items = out["eligibility"][key]
        out["eligibility"][key] = [{**c, "id": f"{c['id']}x{k}"} for k in range(factor)
                                   for c in items]
    for key in ("visits", "activities"):
        items = out["schedule"][key]
        out["schedule"][key] = [{**v, "id": f"{v['id']}x{k}"} for k in range(factor)
                                for v in items]
    rules = out["safety"]["dose_modifications"]
    out["safety"]["dose_modifications"] = [{**r, "id": f"{r['id']}x{k}"} for k in range(factor)
                                           for r in rules]
    return out


def diff_rows(row: Callable[..., None], runs: int) -> None:
    from protocolgen.amendment import compare_versions
    from protocolgen.diff import diff_studies
    from protocolgen.documents import RenderOptions, render_protocol_markdown
    from protocolgen.redline import redline_markdown
    from protocolgen.study import load_study

    old = load_study(ROOT / "protocol/iri-apa-sclc/history/1.0")
    new = load_study(ROOT / "protocol/iri-apa-sclc")
    options = RenderOptions(ROOT / "templates")
    old_md = render_protocol_markdown(old.study, options)
    new_md = render_protocol_markdown(new.study, options)
    row("diff seed 1.0→2.0: compare by ids (in process)",
        median_call(lambda: compare_versions(old, new), runs))
    row("diff seed 1.0→2.0: redline markdown (in process)",
        median_call(lambda: redline_markdown(old_md, new_md, author="a", date="d"), runs))
    big_old = _scaled(old.document.data, 10)
    big_new = _scaled(new.document.data, 10)
    big_new["eligibility"]["exclusion"].insert(0, big_new["eligibility"]["exclusion"].pop(5))
    row("diff synthetic 10x study: compare by ids", median_call(
        lambda: diff_studies(big_old, big_new), runs))
    row("diff synthetic 10x study: redline markdown", median_call(
        lambda: redline_markdown(old_md * 10, new_md * 10, author="a", date="d"), runs))
