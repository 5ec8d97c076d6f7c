"""Property tests: however the seed study is mangled, loading it never crashes.

Each mutated study must either load or raise ``InputError`` whose problems all point
into the study's files at line 1 or later. (Only file-system problems -- a missing,
unreadable or oversized file, or a folder where a file should be -- carry no line;
none of these mutations can cause one, since the files are always there and a bad
``include`` entry is reported at its line in study.yaml.)
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocolgen.cli import main
from protocolgen.errors import InputError
from protocolgen.study import load_study

SEED = Path(__file__).resolve().parent.parent / "protocol" / "iri-apa-sclc"
FILES = ("study.yaml", "schedule.yaml", "safety.yaml")
SEED_BYTES = {name: (SEED / name).read_bytes() for name in FILES}
SEED_DATA: dict[str, Any] = {name: yaml.safe_load(raw) for name, raw in SEED_BYTES.items()}

DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # safe_dump, 6x faster with libyaml

# Each example loads a whole study (~0.1 s): the counts keep this file near 12 s.
FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
HEAVY = settings(FAST, max_examples=30)

Path_ = tuple[str | int, ...]


def _walk(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, item in items:
        yield (*path, key), item
        yield from _walk(item, (*path, key))


# Paths into the data of every file, as (file name, *path): study.yaml and its includes.
ALL_PATHS = [path for path, _ in _walk(SEED_DATA)]
KEY_PATHS = [path for path in ALL_PATHS if isinstance(path[-1], str) and len(path) > 1]
TEXT_PATHS = [path for path, value in _walk(SEED_DATA) if isinstance(value, str)]

ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=2))


def _parent(data: Any, path: Path_) -> Any:
    for part in path[:-1]:
        data = data[part]
    return data


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    study = tmp_path / "study"
    shutil.copytree(SEED, study)
    return study


def reset(folder: Path) -> None:
    for name, raw in SEED_BYTES.items():
        (folder / name).write_bytes(raw)


def mutate(folder: Path, path: Path_, value: Any = None, *, delete: bool = False) -> None:
    """Write the seed with the value at ``(file, *path)`` replaced or deleted."""
    data = copy.deepcopy(SEED_DATA)
    parent = _parent(data, path)
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    reset(folder)
    name = path[0]
    (folder / str(name)).write_text(
        yaml.dump(data[name], Dumper=DUMPER, sort_keys=False, allow_unicode=True),
        encoding="utf-8")


def load_never_crashes(folder: Path) -> bool:
    """Load the study: success, or an InputError with well-positioned problems."""
    try:
        load_study(folder)
    except InputError as exc:
        assert exc.problems, "an InputError must carry at least one problem"
        assert exc.problems == sorted(exc.problems)
        assert any(p.severity == "error" for p in exc.problems)
        files = {str(folder / name) for name in FILES}
        for problem in exc.problems:
            assert problem.file in files, str(problem)
            assert problem.line >= 1 and problem.column >= 1, str(problem)
            assert str(problem).startswith(f"{problem.file}:{problem.line}:{problem.column}:")
            assert "\n" not in str(problem), "each problem must print on one line"
        return False
    return True


@HEAVY
@given(path=st.sampled_from(KEY_PATHS))
def test_deleting_any_key(folder: Path, path: Path_) -> None:
    mutate(folder, path, delete=True)
    load_never_crashes(folder)


@HEAVY
@given(path=st.sampled_from(ALL_PATHS), value=ANY_VALUE)
def test_changing_any_value_type(folder: Path, path: Path_, value: Any) -> None:
    mutate(folder, path, value)
    load_never_crashes(folder)


@HEAVY
@given(path=st.sampled_from(TEXT_PATHS), text=st.text())
def test_any_text_in_a_text_field(folder: Path, path: Path_, text: str) -> None:
    mutate(folder, path, text)
    load_never_crashes(folder)


@FAST
@given(name=st.sampled_from(FILES), fraction=st.floats(0, 1))
def test_truncating_a_file(folder: Path, name: str, fraction: float) -> None:
    reset(folder)
    raw = SEED_BYTES[name]
    (folder / name).write_bytes(raw[: int(len(raw) * fraction)])
    load_never_crashes(folder)


@FAST
@given(raw=st.binary(max_size=2000))
def test_random_bytes_as_study_yaml(folder: Path, raw: bytes) -> None:
    reset(folder)
    (folder / "study.yaml").write_bytes(raw)
    assert not load_never_crashes(folder)


@FAST
@given(head=st.sampled_from(range(0, len(SEED_BYTES["study.yaml"]), 97)),
       junk=st.binary(min_size=1, max_size=40))
def test_random_bytes_inside_study_yaml(folder: Path, head: int, junk: bytes) -> None:
    reset(folder)
    raw = SEED_BYTES["study.yaml"]
    (folder / "study.yaml").write_bytes(raw[:head] + junk + raw[head:])
    load_never_crashes(folder)


MUTATIONS = st.one_of(
    st.builds(lambda p: ("delete", p, None), st.sampled_from(KEY_PATHS)),
    st.builds(lambda p, v: ("set", p, v), st.sampled_from(ALL_PATHS), ANY_VALUE),
    st.builds(lambda p, v: ("set", p, v), st.sampled_from(TEXT_PATHS), st.text()),
)


@settings(FAST, max_examples=10)
@given(mutation=MUTATIONS)
def test_cli_validate_never_crashes(folder: Path, mutation: tuple[str, Path_, Any]) -> None:
    action, path, value = mutation
    mutate(folder, path, value, delete=action == "delete")
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code in (0, 1), result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "Internal error" not in result.output
    if result.exit_code == 1:  # each problem on its own line, FILE:LINE:COL: first
        assert any(line.startswith(f"{folder}/") for line in result.output.splitlines())


def test_cli_on_random_bytes(folder: Path) -> None:
    (folder / "study.yaml").write_bytes(bytes(range(256)))
    result = CliRunner().invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert f"{folder / 'study.yaml'}:2:118: not valid UTF-8 text (byte 0x80)" in result.output
