"""Read YAML safely, keeping the file, line and column of every value.

PyYAML's ``safe_load`` silently keeps the last of two duplicate keys and expands
aliases without limit; this loader composes the node tree with ``SafeLoader`` and
builds plain Python values itself, so it can refuse both, refuse every tag that
is not a plain YAML type, and remember where each value came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem, fail

Path_ = tuple[str | int, ...]

MAX_BYTES = 5_000_000
MAX_NODES = 100_000
MAX_DEPTH = 64
STUDY_FILE = "study.yaml"
_SAFE_TAGS = {
    f"tag:yaml.org,2002:{name}"
    for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq", "merge")
}


@dataclass(frozen=True)
class Position:
    """Where a value starts: display file name, 1-based line and column."""

    file: str
    line: int
    column: int


@dataclass
class Document:
    """A loaded study: its data and where each value and key was written."""

    data: dict[str, Any]
    positions: dict[Path_, Position] = field(default_factory=dict)
    key_positions: dict[Path_, Position] = field(default_factory=dict)
    folder: Path = Path(".")
    files: list[str] = field(default_factory=list)

    def where(self, path: Path_, *, key: bool = False) -> Position:
        """The position of ``path`` (its key if asked), else of its nearest ancestor."""
        path = tuple(path)
        if key and path in self.key_positions:
            return self.key_positions[path]
        while path:
            if path in self.positions:
                return self.positions[path]
            path = path[:-1]
        return self.positions.get((), Position(self.files[0] if self.files else "?", 1, 1))


def format_path(path: Path_) -> str:
    """Render ``("arms", 1, "ratio")`` as ``arms[1].ratio``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = str(part) if str(part).isprintable() else repr(str(part))[1:-1]
            out += f".{name}" if out else name  # escaped: a problem prints on one line
    return out


def _mark_position(display: str, mark: yaml.Mark | None) -> Position:
    if mark is None:
        return Position(display, 1, 1)
    return Position(display, mark.line + 1, mark.column + 1)


def _problem(pos: Position, message: str, path: Path_ = ()) -> Problem:
    return Problem(pos.file, pos.line, pos.column, format_path(path), message)


class _Builder:
    """Turns a composed node tree into plain values, recording positions."""

    def __init__(self, display: str, doc: Document, prefix: Path_ = ()) -> None:
        self.display = display
        self.doc = doc
        self.prefix = prefix
        self.count = 0
        self.active: set[int] = set()  # ids of the collections being built (alias cycles)
        self.constructor = yaml.constructor.SafeConstructor()

    def pos(self, node: yaml.Node) -> Position:
        return _mark_position(self.display, node.start_mark)

    def build(self, node: yaml.Node, path: Path_, depth: int = 0) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise InputError([_problem(self.pos(node), (
                f"the document expands to more than {MAX_NODES:,} values "
                "(an alias bomb?); refusing to load it"), path)])
        if depth > MAX_DEPTH:
            raise InputError([_problem(self.pos(node),
                                       f"values nested deeper than {MAX_DEPTH} levels", path)])
        if node.tag not in _SAFE_TAGS:
            raise InputError([_problem(self.pos(node), (
                f"tag {node.tag.replace('tag:yaml.org,2002:', '!!')!r} is not allowed; "
                "only plain YAML values (text, numbers, dates, lists, mappings)"), path)])
        # The first value built at a path is the one written there: keys are built at
        # their mapping's path, and '<<' merges come after the mapping's own keys.
        self.doc.positions.setdefault(path, self.pos(node))
        if isinstance(node, yaml.ScalarNode):
            return self.build_scalar(node, path)
        if id(node) in self.active:
            raise InputError([_problem(self.pos(node), (
                "recursive alias: this anchored value contains an alias to itself"), path)])
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self.build_mapping(node, path, depth)
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def build_scalar(self, node: yaml.ScalarNode, path: Path_) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:
            kind = node.tag.rsplit(":", 1)[-1]
            kind = {"timestamp": "date", "int": "whole number", "float": "number"}.get(kind, kind)
            raise InputError([_problem(self.pos(node), (
                f"{node.value!r} is not a valid {kind}: {exc}"), path)]) from exc

    def build_mapping(self, node: yaml.MappingNode, path: Path_, depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Position] = {}
        merged: dict[Any, Any] = {}
        merges = [value for key, value in node.value if key.tag == "tag:yaml.org,2002:merge"]
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise InputError([_problem(self.pos(key_node),
                                           "a mapping key must be plain text, "
                                           "not a list or mapping",
                                           path)])
            key = self.build(key_node, path, depth + 1)
            if not isinstance(key, str | int) or isinstance(key, bool):
                key = str(key_node.value)
            key_pos = self.pos(key_node)
            if key in first_seen:
                before = first_seen[key]
                raise InputError([_problem(key_pos, (
                    f"duplicate key {key!r} (first defined at line {before.line}); "
                    "YAML would silently keep only the last one — remove or rename one"),
                    path + (key,))])
            first_seen[key] = key_pos
            self.doc.key_positions[path + (key,)] = key_pos
            result[key] = self.build(value_node, path + (key,), depth + 1)
        for value_node in merges:
            source = self.build(value_node, path, depth + 1)
            sources = source if isinstance(source, list) else [source]
            for item in sources:
                if not isinstance(item, dict):
                    raise InputError([_problem(self.pos(value_node),
                                               "a '<<' merge needs a mapping or list of mappings",
                                               path)])
                for k, v in item.items():
                    merged.setdefault(k, v)
        for k, v in merged.items():
            result.setdefault(k, v)
        return result


def _decode(raw: bytes, display: str) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        data = exc.object  # without the BOM, which exc.start does not count
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        column = len(before[before.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise fail(display, f"not valid UTF-8 text (byte 0x{data[exc.start]:02x}); "
                   "save the file as UTF-8", line=line, column=column) from exc
    if "\x00" in text:
        index = text.index("\x00")
        line = text.count("\n", 0, index) + 1
        column = index - (text.rfind("\n", 0, index) + 1) + 1
        raise fail(display, "contains a NUL byte: is this a binary file?", line=line,
                   column=column)
    return text


def read_text(path: Path, display: str | None = None) -> str:
    """Read a UTF-8 file, turning every file-system problem into one clear error."""
    display = display or str(path)
    try:
        if not path.exists():
            raise fail(display, "file not found")
        if path.is_dir():
            raise fail(display, "is a folder, expected a YAML file")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise fail(display, f"file is {size:,} bytes; the limit is {MAX_BYTES:,}")
        raw = path.read_bytes()
    except OSError as exc:
        raise fail(display, f"cannot read file: {exc.strerror}") from exc
    return _decode(raw, display)


def parse_yaml(text: str, display: str, doc: Document, prefix: Path_ = ()) -> Any:
    """Parse one YAML text into plain values, recording positions into ``doc``."""
    if not text.strip() or all(
        not line.strip() or line.lstrip().startswith("#") for line in text.splitlines()
    ):
        raise fail(display, "file is empty", line=1, column=1)
    node = _compose_fast(text)
    if node is None:  # libyaml refused it: the pure-Python parser explains why, precisely
        node = _compose_explained(text, display)
    if node is None:
        raise fail(display, "file is empty", line=1, column=1)
    return _Builder(display, doc, prefix).build(node, prefix)


def _compose_fast(text: str) -> yaml.Node | None:
    """Compose with libyaml when it is available (5-10x faster); None on any problem."""
    loader_class = getattr(yaml, "CSafeLoader", None)
    if loader_class is None:
        return None
    try:
        loader = loader_class(text)
    except yaml.YAMLError:
        return None
    try:
        return loader.get_single_node()
    except (yaml.YAMLError, RecursionError, ValueError):
        return None
    finally:
        loader.dispose()


def _compose_explained(text: str, display: str) -> yaml.Node | None:
    """Compose with PyYAML's Python parser, turning its errors into positioned problems."""
    try:
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise fail(display, f"character {chr(exc.character)!r} (#x{exc.character:04x}) is not "
                   "allowed in YAML; remove it", line=line, column=column) from exc
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        context, start = exc.context or "", exc.context_mark
        if context.startswith("while") and start and mark and start.line != mark.line:
            context += f" that began at line {start.line + 1}"  # often the real mistake
        message = ", ".join(str(part) for part in (context, exc.problem) if part)
        if "'\\t'" in message:
            message = "a tab character here; YAML indents with spaces only"
        raise InputError([_problem(_mark_position(display, mark),
                                   f"YAML syntax error: {message}")]) from exc
    except yaml.YAMLError as exc:
        raise fail(display, f"YAML error: {exc}", line=1, column=1) from exc
    except RecursionError as exc:
        raise InputError([_problem(_mark_position(display, loader.get_mark()),
                                   f"values nested deeper than {MAX_DEPTH} levels")]) from exc
    finally:
        loader.dispose()
    return node


def load_yaml_file(path: Path, display: str | None = None) -> Document:
    """Load one YAML file as a :class:`Document` (its data may be any YAML value)."""
    display = display or str(path)
    doc = Document(data={}, folder=path.parent, files=[display])
    doc.data = parse_yaml(read_text(path, display), display, doc)
    return doc


def resolve_study_file(study: Path | str) -> Path:
    """Accept a study folder or its ``study.yaml`` and return the YAML file."""
    study = Path(study)
    if study.is_dir():
        return study / STUDY_FILE
    return study


def load_study_document(study: Path | str) -> Document:
    """Load ``study.yaml`` and merge the sibling files it lists under ``include``."""
    main = resolve_study_file(study)
    doc = load_yaml_file(main)
    display = doc.files[0]
    if not isinstance(doc.data, dict):
        raise fail(display, "the study file must be a mapping of sections (key: value)",
                   line=1, column=1)
    includes = doc.data.pop("include", [])
    include_pos = doc.positions.get(("include",), Position(display, 1, 1))
    if isinstance(includes, str):
        includes = [includes]
    if not isinstance(includes, list):
        raise InputError([_problem(include_pos, "must be a list of sibling file names, "
                                   "e.g. [schedule.yaml, safety.yaml]", ("include",))])
    for index, name in enumerate(includes):
        pos = doc.positions.get(("include", index), include_pos)
        if not isinstance(name, str):
            raise InputError([_problem(pos, f"must be a file name, got {name!r}",
                                       ("include", index))])
        if Path(name).is_absolute() or ".." in Path(name).parts or "/" in name or "\\" in name:
            raise InputError([_problem(pos, (
                f"{name!r}: only files in the same folder as study.yaml can be included"),
                ("include", index))])
        if name in (main.name, *includes[:index]):
            raise InputError([_problem(pos, f"{name!r} is already part of the study "
                                       "(listed twice, or the study file itself)",
                                       ("include", index))])
        sub_path = main.parent / name
        try:
            found = sub_path.is_file()
        except (OSError, ValueError):
            found = False
        if not found:
            raise InputError([_problem(pos, f"included file {name!r} not found next to "
                                       f"{main.name}", ("include", index))])
        sub_display = str(Path(display).parent / name)
        sub = Document(data={}, files=[sub_display])
        data = parse_yaml(read_text(sub_path, sub_display), sub_display, sub)
        if not isinstance(data, dict):
            raise fail(sub_display, "an included file must be a mapping of sections",
                       line=1, column=1)
        for key, value in data.items():
            if key in doc.data:
                earlier = doc.key_positions.get((key,), Position(display, 1, 1))
                raise InputError([_problem(sub.key_positions[(key,)], (
                    f"section {key!r} is already defined in {earlier.file} "
                    f"at line {earlier.line}"), (key,))])
            doc.data[key] = value
        doc.positions.update({p: v for p, v in sub.positions.items() if p})
        doc.key_positions.update(sub.key_positions)
        doc.files.append(sub_display)
    return doc
