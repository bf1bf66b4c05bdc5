"""Reading an environment file, defensively: its size, UTF-8, YAML syntax, aliases that expand without
bound, keys given twice, keys YAML reads as booleans or numbers, and the line of every key (so that each
problem names file:line). Parsing is cached per text; callers get their own copy to change.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from shared.config.problems import ConfigError

# An environment file is a few hundred bytes; these bounds keep a hostile one from costing minutes.
MAX_FILE_BYTES = 256 * 1024
MAX_EXPANDED_VALUES = 10_000  # values after expanding YAML aliases (*name)


@dataclass(frozen=True)
class Located:
    """Line numbers (1-based) of every key path in a YAML document."""

    lines: dict[tuple[str, ...], int]

    def line_of(self, path: tuple[str, ...]) -> int | None:
        # An error about a missing or nested key points at the closest ancestor that exists.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _index_lines(
    node: yaml.Node, path: tuple[str, ...] = (), duplicates: list[tuple[tuple[str, ...], int]] | None = None
) -> dict[tuple[str, ...], int]:
    """Map every key path to its line; record keys given twice (YAML keeps the last one silently)."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            if key in lines and duplicates is not None:
                duplicates.append((key, key_node.start_mark.line + 1))
            lines[key] = key_node.start_mark.line + 1
            lines.update(_index_lines(value_node, key, duplicates))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = (*path, str(i))
            lines[key] = item.start_mark.line + 1
            lines.update(_index_lines(item, key, duplicates))
    return lines


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values the node stands for once aliases are expanded; each node is visited once."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that contains itself counts once (the safe loader rejects it anyway)
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


_STR_TAG = "tag:yaml.org,2002:str"


def _non_string_keys(node: yaml.Node | None, data: Any, path: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    """Keys YAML read as something other than a string (`on:` is the boolean true in YAML 1.1), as
    (dotted path as written, line, what it was read as); they are dropped from `data` (reported here,
    in words; the validator would only say that keys should be strings)."""
    found = []
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            text = str(key_node.value)
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _STR_TAG:
                kind = key_node.tag.rsplit(":", 1)[-1]
                found.append((".".join((*path, text)), key_node.start_mark.line + 1, kind))
            elif text in data:
                found += _non_string_keys(value_node, data[text], (*path, text))
        for key in [k for k in data if not isinstance(k, str)]:
            del data[key]
    return found


def _key_words(kind: str) -> str:
    if kind == "bool":
        return (
            "read as a boolean, not as a name: YAML reads on/off/yes/no/true/false as booleans; "
            "quote the key if you meant it"
        )
    return f"read as a {kind}, not as a name: keys are names (quote it if you meant it)"


def read_yaml(path: Path, shown: str) -> tuple[dict[str, Any], Located, list[str]]:
    """The file's mapping, its key lines, and the problems found while reading (more follow from validation)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{shown}: cannot be read: {exc.strerror}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError(
            [
                f"{shown}: {len(raw):,} bytes; an environment file holds a few hundred, "
                f"and more than {MAX_FILE_BYTES:,} is refused"
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"{shown}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]
        ) from None
    data, located, problems = _parse_yaml(text, shown)
    return copy.deepcopy(data), located, list(problems)  # the caller's to change; the parse stays as it was


@functools.lru_cache(maxsize=64)
def _parse_yaml(text: str, shown: str) -> tuple[dict[str, Any], Located, tuple[str, ...]]:
    """Parsing is pure, and the slow part of loading (every load also reads the other environments'
    files for their suffixes): the same text is parsed once per process."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}) > MAX_EXPANDED_VALUES:
            raise ConfigError(
                [
                    f"{shown}: its aliases (*name) expand to more than {MAX_EXPANDED_VALUES:,} values; "
                    "an environment file needs no aliases: write the values out"
                ]
            )
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{shown}:1: the file must be a mapping of keys, got {type(data).__name__}"])
    duplicates: list[tuple[tuple[str, ...], int]] = []
    located = Located(_index_lines(node, (), duplicates) if node is not None else {})
    problems = [
        f"{shown}:{line}: {'.'.join(key)}: given twice (the first would be silently ignored)"
        for key, line in duplicates
    ]
    for dotted, line, kind in _non_string_keys(node, data):
        problems.append(f"{shown}:{line}: {dotted}: {_key_words(kind)}")
    return data, located, tuple(problems)
