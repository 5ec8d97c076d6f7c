"""The only place files are written: atomically (temporary file, then rename)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from .errors import fail


def write_atomic(path: Path, content: str | bytes, *, mode: int = 0o644,
                 overwrite: bool = True, durable: bool = True) -> Path:
    """Write ``content`` to ``path`` via a temporary file in the same folder.

    With ``overwrite=False`` an existing file is an error and is left untouched. With
    ``durable=False`` the file is not flushed to disk one by one (still atomic for readers):
    for batches of many small files, which call :func:`flush_to_disk` once at the end.
    """
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.parent.mkdir(parents=True, exist_ok=True)
    if not overwrite and path.exists():
        raise fail(str(path), "already exists; refusing to overwrite it (move it away first)")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if path appeared meanwhile: never clobbers
            os.unlink(tmp)
    except FileExistsError as exc:
        os.unlink(tmp)
        raise fail(str(path), "already exists; refusing to overwrite it") from exc
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def flush_to_disk() -> None:
    """Make every file written so far durable (after ``write_atomic(..., durable=False)``)."""
    os.sync()
