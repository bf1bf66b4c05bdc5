"""Problems with an environment file, said in the user's terms: the error that carries them all, the
cross-field problem a validator raises, and one pydantic error turned into (key path, message)."""

from __future__ import annotations

import math
from typing import Any

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


def describe(error: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """One pydantic error -> (key path, message) pairs; Inconsistent errors name their own fields."""
    loc = tuple(str(p) for p in error["loc"])
    exc = (error.get("ctx") or {}).get("error")
    if isinstance(exc, Inconsistent):
        return [((*loc, *key.split(".")), msg) for key, msg in exc.problems]
    kind = error["type"]
    if kind == "extra_forbidden":
        return [(loc, "unknown key (check the spelling; see `make config` for the known keys)")]
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
