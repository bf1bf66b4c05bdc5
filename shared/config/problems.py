"""Problems with an environment file, said in the user's terms: the error that carries them all, the
cross-field problem a validator raises, and one pydantic error turned into (key path, message)."""

from __future__ import annotations

import difflib
import math
import typing
from typing import Any

from pydantic import BaseModel

from shared.config import patterns


class ConfigError(Exception):
    """Bad configuration input. `problems` holds one line per problem, each naming file and key."""

    def __init__(self, problems: list[str], header: str = "invalid configuration"):
        self.problems = problems
        self.header = header
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"error: {self.header} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {_printable(p)}" for p in self.problems]
        return "\n".join(lines)


def _printable(text: str) -> str:
    """A message may quote a hostile file: escape what a terminal would act on (escape codes, newlines)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Inconsistent(ValueError):
    """Raised by a model validator for cross-field rules: each problem names the field it is about."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def raise_if(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise Inconsistent(problems)


def _section(model: type[BaseModel] | None, path: tuple[str, ...]) -> type[BaseModel] | None:
    """The model of the section at `path` below `model` (None where the path leaves the models)."""
    for part in path:
        field = model.model_fields.get(part) if model is not None else None
        kinds = (field.annotation, *typing.get_args(field.annotation)) if field is not None else ()
        model = next((k for k in kinds if isinstance(k, type) and issubclass(k, BaseModel)), None)
    return model


def unknown_key(loc: tuple[str, ...], model: type[BaseModel] | None) -> str:
    """`unknown key; did you mean shard_count?` with the keys its section takes: the message is the help."""
    section = _section(model, loc[:-1])
    if section is None:
        return "unknown key (check the spelling; docs/environments.md lists every key)"
    known = sorted(section.model_fields)
    close = difflib.get_close_matches(loc[-1], known, n=1, cutoff=0.6)
    where = ".".join(loc[:-1]) or "the file"
    hint = f"; did you mean {close[0]}?" if close else ""
    return f"unknown key{hint} ({where} takes: {', '.join(known)})"


def describe(error: dict[str, Any], model: type[BaseModel] | None = None) -> list[tuple[tuple[str, ...], str]]:
    """One pydantic error -> (key path, message) pairs; Inconsistent errors name their own fields. `model`: the
    model validated, whose sections tell an unknown key what it may have meant."""
    loc = tuple(str(p) for p in error["loc"])
    exc = (error.get("ctx") or {}).get("error")
    if isinstance(exc, Inconsistent):
        return [((*loc, *key.split(".")), msg) for key, msg in exc.problems]
    kind = error["type"]
    if kind == "extra_forbidden":
        return [(loc, unknown_key(loc, model))]
    if kind == "missing":
        return [(loc, "required key is missing")]
    given = error.get("input")
    if isinstance(given, float) and not math.isfinite(given):
        return [(loc, f"must be a number, not {'.nan' if math.isnan(given) else '.inf'}")]
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        return [(loc, f"must be {patterns.words(pattern)} (got {given!r})")]
    msg = error["msg"].removeprefix("Value error, ")
    if "input" in error and kind not in ("model_type",) and not isinstance(error["input"], dict):
        msg += f" (got {error['input']!r})"
    return [(loc, msg)]
