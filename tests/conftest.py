"""Shared fixtures: the example studies, a scratch copy, and NCI's workbook when present."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "protocol" / "iri-apa-sclc"
SEED_V1 = SEED / "history" / "1.0"  # frozen: tests that break a copy assert its line numbers
RESILIENT = ROOT / "protocol" / "resilient"
EXAMPLES = [SEED, RESILIENT]
WORKBOOK = ROOT.parent / "shared" / "data" / "CTCAE_v5.0.xlsx"


@pytest.fixture
def workbook() -> Path:
    """NCI's CTCAE v5.0 workbook; CI has ../shared beside the clone, a user's clone may not."""
    if not WORKBOOK.is_file():
        pytest.skip("NCI's CTCAE_v5.0.xlsx is not in ../shared/data (only CI provides it)")
    return WORKBOOK


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """A scratch copy of the seed study's frozen version 1.0, to break."""
    return Path(shutil.copytree(SEED_V1, tmp_path / "study"))


def edit(path: Path, old: str, new: str) -> None:
    """Replace one exact, unique snippet in a file (fails loudly if it is not there)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"snippet not unique in {path.name}: {old!r}"
    path.write_text(text.replace(old, new), encoding="utf-8")
