"""Find and load earlier versions of a study: a folder, ``history/<version>/``, or a git
revision read with ``git show`` (the work tree is never touched)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import yaml

from .errors import ProtocolgenError
from .loader import STUDY_FILE
from .study import LoadedStudy, load_study

HISTORY = "history"


def version_key(number: str) -> tuple[int, ...]:
    return tuple(int(part) for part in number.split("."))


def previous_version(study: Path, current: str) -> Path:
    """The latest ``history/<version>/`` folder older than ``current``."""
    folder = (study if study.is_dir() else study.parent) / HISTORY
    older = sorted((p for p in folder.glob("*") if p.is_dir() and _is_version(p.name)
                    and version_key(p.name) < version_key(current)),
                   key=lambda p: version_key(p.name))
    if not older:
        raise ProtocolgenError(f"{folder}: no earlier version than {current} "
                               "(keep each issued version under history/<version>/)")
    return older[-1]


def _is_version(name: str) -> bool:
    parts = name.split(".")
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _git(args: list[str], cwd: Path) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                              check=False, timeout=60)
    except OSError as exc:
        raise ProtocolgenError(f"git is not available: {exc}") from exc
    if done.returncode != 0:
        raise ProtocolgenError(done.stderr.strip().splitlines()[-1] if done.stderr.strip()
                               else f"git {' '.join(args)} failed")
    return done.stdout


def load_from_git(spec: str, default_study: Path, workdir: Path) -> LoadedStudy:
    """``REV`` (the default study at that revision) or ``REV:path/to/study``."""
    rev, _, sub = spec.partition(":")
    study = Path(sub) if sub else default_study
    try:
        top = Path(_git(["rev-parse", "--show-toplevel"], Path.cwd()).strip())
        _git(["rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"], top)
    except ProtocolgenError as exc:
        raise ProtocolgenError(f"{spec!r} is neither a study folder nor a git revision "
                               f"({exc})") from exc
    relative = (Path.cwd() / study).resolve().relative_to(top.resolve()) \
        if (Path.cwd() / study).resolve().is_relative_to(top.resolve()) else study
    folder = workdir / rev.replace("/", "_").replace("~", "-")
    folder.mkdir(parents=True, exist_ok=True)
    main = _git(["show", f"{rev}:{(relative / STUDY_FILE).as_posix()}"], top)
    (folder / STUDY_FILE).write_text(main, encoding="utf-8")
    try:
        includes = (yaml.safe_load(main) or {}).get("include", [])
    except yaml.YAMLError:
        includes = []  # the loader reports the syntax error with its position
    for name in includes if isinstance(includes, list) else [includes]:
        if isinstance(name, str) and "/" not in name and ".." not in name:
            text = _git(["show", f"{rev}:{(relative / name).as_posix()}"], top)
            (folder / name).write_text(text, encoding="utf-8")
    return load_study(folder)


def load_version(spec: str, default_study: Path, workdir: Path) -> LoadedStudy:
    """A study folder or study.yaml if it exists, else a git revision."""
    path = Path(spec)
    if path.exists():
        return load_study(path)
    return load_from_git(spec, default_study, workdir)


def temporary_workdir() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="protocolgen-versions-")
