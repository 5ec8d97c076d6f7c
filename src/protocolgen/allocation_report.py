"""The randomization report, public and confidential: context → markdown (jinja2) → DOCX, PDF.

The public specification never shows block sizes the study declares concealed, nor anything
that would reveal them (list lengths, imbalance bounds, predictability); the confidential report
for the unblinded statistician shows everything but the list and the seed.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from . import __version__
from .allocation import ALGORITHM, Allocation, AllocationDesign
from .allocation_stats import (
    block_expected_guesses,
    design_predictability,
    max_imbalance_bound,
    stratum_balance,
)
from .allocation_tables import allocation_stem
from .documents import Document
from .model import Study
from .render import make_environment, render_template

REPORT_FORMATS = ("md", "docx", "pdf")  # html works too


@dataclass(frozen=True)
class ReportInputs:
    """What the report describes besides the study."""

    design: AllocationDesign
    allocation: Allocation
    commitment: str | None  # None for sequential numbers (nothing to conceal)
    seed_drawn: bool
    files: dict[str, str]  # role -> file name
    warnings: tuple[str, ...]


def percent(value: Fraction | float) -> str:
    return f"{float(value) * 100:.1f}%"


def decimal(value: Fraction | float, places: int = 2) -> str:
    text = f"{float(value):.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def build_report_context(study: Study, inputs: ReportInputs, *,
                         confidential: bool) -> dict[str, Any]:
    """Everything report.md.j2 needs; public reports get no concealed figures at all."""
    design = inputs.design
    show_blocks = confidential or not design.concealed
    ratios = tuple(a.ratio for a in design.arms)
    predict = design_predictability(design)
    balances = [stratum_balance(design, s) for s in inputs.allocation.lists] \
        if confidential else []
    per_block = [
        {"size": b, "guesses": decimal(block_expected_guesses(
            tuple(b // design.ratio_sum * r for r in ratios), ratios), 3)}
        for b in design.block_sizes] if show_blocks else []
    bound = max_imbalance_bound(design)
    short = design.planned is not None and design.stratum_length < design.planned
    return {
        "s": study,
        "ident": study.identification,
        "version": study.version,
        "confidential": confidential,
        "design": design,
        "show_blocks": show_blocks,
        "ratio": ":".join(str(r) for r in ratios),
        "strata": design.strata(),
        "n_strata": len(inputs.allocation.lists),
        "balances": [{"label": b.label or "(all participants)", "entries": b.entries,
                      "blocks": b.blocks, "per_arm": b.per_arm,
                      "max_imbalance": decimal(b.max_imbalance),
                      "guesses": decimal(b.guesses, 1),
                      "guess_share": percent(b.guesses / b.entries) if b.entries else "–"}
                     for b in balances],
        "predict": {"share": percent(predict.per_entry), "baseline": percent(predict.baseline),
                    "excess": percent(predict.excess), "exact": predict.exact,
                    "expected_n": decimal(predict.per_entry * design.size, 1),
                    "baseline_n": decimal(predict.baseline * design.size, 1)},
        "per_block": per_block,
        "bound": decimal(bound) if bound is not None and show_blocks else None,
        "overall_bound": decimal(bound * len(inputs.allocation.lists))
        if bound is not None and show_blocks else None,
        "short": short,
        "commitment": inputs.commitment,
        "seed_drawn": inputs.seed_drawn,
        "files": inputs.files,
        "warnings": list(inputs.warnings) + (
            [f"each stratum holds at least {design.stratum_length} entries, fewer than the "
             f"planned {design.planned} participants: a stratum could run out"] if short else []),
        "tool": f"protocolgen {__version__}",
        "algorithm": ALGORITHM,
    }


def render_report_markdown(study: Study, inputs: ReportInputs, template_dir: Path, *,
                           confidential: bool) -> str:
    env = make_environment(template_dir)
    env.filters.update(pct=percent)
    context = build_report_context(study, inputs, confidential=confidential)
    return render_template(env, "report.md.j2", context)


def report_document(study: Study, markdown: str, *, confidential: bool) -> Document:
    """The report as a shared :class:`~protocolgen.documents.Document` (styles in style/)."""
    ident, version = study.identification, study.version
    kind = "Randomization report (CONFIDENTIAL)" if confidential else \
        "Randomization specification (public)"
    return Document(
        markdown=markdown, stem=report_stem(study, confidential=confidential),
        title=f"{ident.protocol_number} {kind}", header_left=ident.protocol_number,
        header_right=kind, footer=f"Protocol version {version.number} · "
                                  f"{version.date.isoformat()}", date=version.date)


def report_stem(study: Study, *, confidential: bool) -> str:
    return f"{allocation_stem(study)}_report_{'confidential' if confidential else 'public'}"


def render_report_files(doc: Document, template_root: Path,
                        formats: tuple[str, ...]) -> dict[str, bytes]:
    """Convert the report in each format with the shared document writer, in a private
    staging folder, and return file name → bytes (nothing is left behind)."""
    from .documents import write_document

    with tempfile.TemporaryDirectory(prefix="protocolgen-report-") as tmp:
        paths = write_document(doc, Path(tmp), template_root, formats)
        return {path.name: path.read_bytes() for path in paths}
