"""YAML parsing that remembers where every key and value came from.

PyYAML's usual `safe_load` forgets line numbers and lets a repeated key silently overwrite the
first one. Here the text is composed into nodes, the plain Python data is built from those nodes
by hand, duplicate keys are refused, and the line of every key and list item is kept in a
`SourceMap`. Validation errors (a tuple path such as ``("modules", 2, "questions", 0, "seconds")``)
can then be pointed back at a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from protocols.errors import KeyPath, ProtocolError, ProtocolErrors

_MERGE_TAG = "tag:yaml.org,2002:merge"
_SYNTAX_FIX = "fix the YAML at this line: check the indentation, the colons and the quoting"
_SYNTAX_HINTS = {
    "found character '\\t'": "indent with spaces, never tabs",
    "mapping values are not allowed here": (
        "a value that contains ': ' must be quoted, or written as a block with >- on the line above"
    ),
    "found undefined alias": "define the &anchor before using *alias, or drop the alias",
    "expected a single document": "keep one YAML document per file: remove the '---' separator",
    "expected ',' or '}'": "inside {...} or [...], put text that contains ?, :, commas or brackets in quotes",
    "expected ',' or ']'": "inside {...} or [...], put text that contains ?, :, commas or brackets in quotes",
}


@dataclass(frozen=True)
class Located:
    """Where a (possibly partly invalid) key path points in the file."""

    line: int
    key_path: KeyPath


@dataclass(frozen=True)
class SourceMap:
    """The line of every key and list item of one parsed YAML file.

    `lines` maps a key path (the tuple of keys and indexes from the top of the file) to the
    1-based line where that key, or that list item, starts. `data` is the parsed content, used to
    tell which parts of a path really exist in the file.
    """

    file: str
    data: Any
    lines: dict[KeyPath, int] = field(default_factory=dict)

    def line_of(self, key_path: Sequence[str | int]) -> int | None:
        """The line where `key_path` starts, or None when the file has no such key."""
        return self.lines.get(tuple(key_path))

    def locate(self, loc: Sequence[Any], *, keep_last: bool = False) -> Located:
        """Map a validation error location onto the file.

        Parts of `loc` that are not in the file (pydantic inserts union tags such as
        ``"likert"``) are dropped. With `keep_last`, a final part that is not in the file (the
        name of a missing key) is kept in the key path, and the line is that of its parent.
        """
        node: Any = self.data
        path: list[str | int] = []
        for index, part in enumerate(loc):
            if isinstance(node, dict) and _has_key(node, part):
                node = node[part]
                path.append(part)
            elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                node = node[part]
                path.append(part)
            elif keep_last and index == len(loc) - 1 and isinstance(part, str | int):
                line = self._nearest_line(path)
                return Located(line, (*path, part))
        return Located(self._nearest_line(path), tuple(path))

    def _nearest_line(self, path: Sequence[str | int]) -> int:
        for end in range(len(path), -1, -1):
            line = self.lines.get(tuple(path[:end]))
            if line is not None:
                return line
        return 1

    def error(self, key_path: Sequence[str | int], message: str, fix: str | None = None) -> ProtocolError:
        """A `ProtocolError` at the line where `key_path` (or its nearest existing parent) starts."""
        located = self.locate(key_path, keep_last=True)
        return ProtocolError(message, file=self.file, line=located.line, key_path=located.key_path, fix=fix)


def _has_key(mapping: dict[Any, Any], key: Any) -> bool:
    try:
        return key in mapping
    except TypeError:
        return False


def decode(raw: bytes, file: str) -> str:
    """Decode a protocol file's bytes as UTF-8 (a leading byte-order mark is allowed)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ProtocolErrors(
            [
                ProtocolError(
                    f"the file is not UTF-8 text (byte 0x{raw[exc.start]:02x})",
                    file=file,
                    line=line,
                    fix="save the file as UTF-8",
                )
            ]
        ) from None


def parse_yaml(text: str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document into plain Python data and its `SourceMap`.

    Raises `ProtocolErrors` for a syntax error, an empty file, or duplicate mapping keys (all
    duplicates are reported, each at the line of its second occurrence).
    """
    loader = yaml.SafeLoader(text)
    try:
        try:
            root = loader.get_single_node()
        except yaml.MarkedYAMLError as exc:
            raise ProtocolErrors([_syntax_error(exc, file)]) from None
        except yaml.YAMLError as exc:  # pragma: no cover - PyYAML marks all parse errors
            raise ProtocolErrors([ProtocolError(f"YAML error: {exc}", file=file, fix=_SYNTAX_FIX)]) from None
        if root is None:
            raise ProtocolErrors(
                [
                    ProtocolError(
                        "the file is empty",
                        file=file,
                        line=1,
                        fix="start it with the header keys kind, id, version, title and wording "
                        "(see protocols/FORMAT.md)",
                    )
                ]
            )
        builder = _Builder(loader, file)
        try:
            data = builder.build(root, ())
        except yaml.MarkedYAMLError as exc:
            raise ProtocolErrors([_syntax_error(exc, file)]) from None
        if builder.errors:
            raise ProtocolErrors(builder.errors)
        return data, SourceMap(file=file, data=data, lines=builder.lines)
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, file: str) -> ProtocolError:
    mark = exc.problem_mark or exc.context_mark
    line = mark.line + 1 if mark is not None else None
    problem = (exc.problem or str(exc)).strip()
    message = f"YAML syntax error: {problem}"
    context_mark = exc.context_mark
    if exc.context and context_mark is not None and mark is not None and context_mark.line != mark.line:
        message += f" ({exc.context} at line {context_mark.line + 1})"
    fix = next((hint for needle, hint in _SYNTAX_HINTS.items() if needle in problem), _SYNTAX_FIX)
    return ProtocolError(message, file=file, line=line, fix=fix)


class _Builder:
    """Builds Python data from composed YAML nodes, recording lines and refusing duplicate keys."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.lines: dict[KeyPath, int] = {(): 1}
        self.errors: list[ProtocolError] = []

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            items = []
            for index, child in enumerate(node.value):
                self.lines[(*path, index)] = child.start_mark.line + 1
                items.append(self.build(child, (*path, index)))
            return items
        return self.loader.construct_object(node, deep=True)

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:  # `<<: *anchor`: the anchor's keys, unless given here
                for key, value in self._merged(value_node, path).items():
                    result.setdefault(key, value)
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.errors.append(
                    ProtocolError(
                        "a key must be a plain word or number, not a list or mapping",
                        file=self.file,
                        line=key_line,
                        key_path=path,
                        fix="write the key as a plain word",
                    )
                )
                continue
            key = self.loader.construct_object(key_node, deep=True)
            if key in first_line:
                self.errors.append(
                    ProtocolError(
                        f"duplicate key {key!r} (first at line {first_line[key]})",
                        file=self.file,
                        line=key_line,
                        key_path=path,
                        fix="keep only one of them; YAML would silently use the last one",
                    )
                )
                continue
            first_line[key] = key_line
            self.lines[(*path, key)] = key_line
            result[key] = self.build(value_node, (*path, key))
        return result

    def _merged(self, node: yaml.Node, path: KeyPath) -> dict[Any, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in sources:
            if not isinstance(source, yaml.MappingNode):
                self.errors.append(
                    ProtocolError(
                        "'<<' must name a mapping",
                        file=self.file,
                        line=source.start_mark.line + 1,
                        key_path=path,
                        fix="write <<: *name, where &name marks a mapping",
                    )
                )
                continue
            for key, value in self._mapping(source, path).items():
                merged.setdefault(key, value)
        return merged
