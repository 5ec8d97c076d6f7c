"""Atomic writes, and the no-overwrite guard used for allocation lists."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from protocolgen.errors import InputError
from protocolgen.writers import write_atomic


def test_writes_atomically_and_leaves_no_temp_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "a.md"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["a.md"]


def test_owner_only_mode(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "list.csv", b"x", mode=0o600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_refuses_to_overwrite_when_asked(tmp_path: Path) -> None:
    target = write_atomic(tmp_path / "list.csv", "first", overwrite=False)
    with pytest.raises(InputError, match="already exists; refusing to overwrite"):
        write_atomic(target, "second", overwrite=False)
    assert target.read_text() == "first"
    assert os.listdir(tmp_path) == ["list.csv"]
