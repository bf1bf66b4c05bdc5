"""Loading environments: find the file, read it, apply SUFFIX= copies, validate, and report every problem
at once with file, line and key path (or return a frozen EnvironmentConfig). Nothing past here sees a
raw dict.
"""

from __future__ import annotations

import copy
import difflib
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from shared.config import patterns, rules
from shared.config.problems import ConfigError, describe
from shared.config.schema import EnvironmentConfig
from shared.config.source import read_yaml
from shared.options import current
from shared.paths import ENVIRONMENTS_DIR

# Promotion order; also the environments a checkout is expected to have.
PROMOTION_ORDER = ("dev", "staging", "prod")


def environments_dir() -> Path:
    """Where environment files live; STREAMFLIX_ENVIRONMENTS_DIR points elsewhere (tests, forks)."""
    return Path(current().environments_dir or ENVIRONMENTS_DIR)


def available_environments(directory: Path | None = None) -> list[str]:
    """Environment names, in promotion order first, then any others alphabetically."""
    directory = directory or environments_dir()
    names = {p.stem for p in directory.glob("*.yaml")}
    return [n for n in PROMOTION_ORDER if n in names] + sorted(names - set(PROMOTION_ORDER))


def _raw_get(data: dict[str, Any], path: str) -> Any:
    """A value from the raw YAML, or the code default where the file leaves it out."""
    parts = path.split(".")
    node: Any = data
    for part in parts:
        if not isinstance(node, dict):
            return rules.MISSING
        if part not in node:
            field = EnvironmentConfig.model_fields.get(parts[0])
            if field is None or field.is_required():
                return rules.MISSING
            default = field.get_default(call_default_factory=True)
            for rest in parts[1:]:
                default = getattr(default, rest, rules.MISSING)
            return default
        node = node[part]
    return node


def _as_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A suffix copy (SUFFIX=pr-1 of any environment) has the same sizing but is never protected: one
    `make destroy` removes it, its secret's name is free again at once, it pays for one NAT gateway
    at most, and it pages nobody (its workers missing is no outage)."""
    data = copy.deepcopy(data)
    data["protected"] = False
    sections = {k: data.get(k) if isinstance(data.get(k), dict) else {} for k in ("data", "network", "monitoring")}
    sections["monitoring"]["paging_endpoint"] = None
    aurora = sections["data"].get("aurora") if isinstance(sections["data"].get("aurora"), dict) else {}
    aurora.update(deletion_protection=False, final_snapshot=False)
    sections["data"].update(aurora=aurora, secret_recovery_window_days=0)
    nat = sections["network"].get("nat_gateways")
    if isinstance(nat, int) and not isinstance(nat, bool) and nat > 1:
        sections["network"]["nat_gateways"] = 1
    data.update(sections)
    return data


# Keys the loader sets and a file may not: each with why.
SET_BY_THE_LOADER = {
    "name": "is set by the file name",
    "throwaway": "only a copy made with SUFFIX= on the command line is a throwaway",
}


def _validation_problems(exc: ValidationError, data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Every problem pydantic finds, also those an unknown key hides: a section with a field error
    skips its cross-field rules, so validate again without the unknown keys until nothing new appears."""
    found: list[tuple[tuple[str, ...], str]] = []
    pruned = copy.deepcopy(data)
    for _ in range(5):  # unknown keys can only be nested so deep
        errors = exc.errors(include_url=False)
        found += [pair for err in errors for pair in describe(err, EnvironmentConfig) if pair not in found]
        unknown = [err["loc"] for err in errors if err["type"] == "extra_forbidden"]
        if not unknown:
            break
        for loc in unknown:
            parent = pruned
            for part in loc[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict):
                parent.pop(loc[-1], None)
        try:
            EnvironmentConfig.model_validate(pruned)
            break
        except ValidationError as again:
            exc = again
    return found


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _claimed_suffixes(directory: Path, besides: str) -> dict[str, str]:
    """Suffix (and name) -> the file of every other environment that claims it."""
    claimed: dict[str, str] = {}
    for other in available_environments(directory):
        if other == besides:
            continue
        path = directory / f"{other}.yaml"
        claimed.setdefault(other, _shown(path))
        try:
            data, _, _ = read_yaml(path, _shown(path))
        except ConfigError:
            continue  # that file's own problems are reported when it is loaded
        suffix = data.get("environment_suffix", other)
        if isinstance(suffix, str):
            claimed.setdefault(suffix, _shown(path))
    return claimed


def _own_name_if_suffixed(directory: Path, name: str, data: dict[str, Any]) -> dict[str, str]:
    """An environment whose file sets a suffix of its own still claims its name: a copy under that name
    (SUFFIX=<name>) would be taken for a throwaway beside the environment itself."""
    own = data.get("environment_suffix", name)
    return {name: _shown(directory / f"{name}.yaml")} if isinstance(own, str) and own != name else {}


def _did_you_mean(name: str, names: list[str]) -> str:
    """`; did you mean local?` for a name that differs from one of `names` in case or by a typo, else ""."""
    close = [n for n in names if n == name.lower()] or difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.7)
    return f"; did you mean {close[0]}?" if close else ""


def load_environment(
    name: str,
    *,
    suffix: str | None = None,
    directory: Path | None = None,
) -> EnvironmentConfig:
    """Load and validate `environments/<name>.yaml`. Raises ConfigError listing every problem."""
    directory = directory or environments_dir()
    names = available_environments(directory)
    known = ", ".join(names) or "none"
    path = directory / f"{name}.yaml"
    shown = _shown(path)
    if not patterns.NAME.match(name):
        if "/" not in name and path.is_file():
            raise ConfigError(
                [
                    f"{shown}: an environment is named by its file, and {name!r} is not a name: "
                    "use lowercase letters, digits and '-' (rename the file)"
                ]
            )
        if re.fullmatch(r"[A-Za-z0-9_-]+", name):  # a plain word, only not one of ours (ENV=Local)
            raise ConfigError(
                [f"no environment {name}{_did_you_mean(name, names)} (environments: {known})"],
                header="unknown environment",
            )
        raise ConfigError(
            [f"ENV={name!r}: an environment is a name from {_shown(directory)}/ ({known}), not a path or a pattern"]
        )
    if not path.is_file():
        yml = path.with_suffix(".yml")
        hint = f"; {_shown(yml)} exists: rename it to {name}.yaml" if yml.is_file() else ""
        raise ConfigError(
            [f"unknown environment {name!r}: no {shown}{hint}; environments: {known}{_did_you_mean(name, names)}"],
            header="unknown environment",
        )
    data, located, problems = read_yaml(path, shown)
    for derived, why in SET_BY_THE_LOADER.items():
        if derived in data:
            problems.append(f"{shown}:{located.line_of((derived,))}: {derived}: {why}; remove it")
            data.pop(derived)
    data = {**data, "name": name}
    claimed = _claimed_suffixes(directory, name)
    own_suffix = data.get("environment_suffix", name)
    copies_may_not_take = {**claimed, **_own_name_if_suffixed(directory, name, data)}
    if suffix is not None and suffix != own_suffix:
        why = patterns.suffix_problem(suffix)
        if why is None and suffix in copies_may_not_take:
            why = (
                f"is the name or suffix of the environment in {copies_may_not_take[suffix]}; a copy needs a suffix "
                "of its own"
            )
        if why:
            problems.append(f"SUFFIX={suffix!r}: {why}")
            data.setdefault("environment_suffix", name)  # the file's other problems are still found
        else:
            # Only here is an environment a throwaway: the loader says so, no spelling of a file can.
            data = {**_as_copy(data), "environment_suffix": suffix, "throwaway": True}
    else:
        # Without SUFFIX=, or with SUFFIX= naming the environment's own suffix: the environment itself, not a
        # copy (that SUFFIX= shares the environment's state, so it keeps every protection).
        own = data.setdefault("environment_suffix", name)
        if isinstance(own, str) and own in claimed:
            first, second = sorted((shown, claimed[own]))  # the same words from either side: said once
            problems.append(
                f"{first} and {second} both use the suffix {own!r} (environment_suffix, or the "
                "file's name); every environment needs its own"
            )
    try:
        config = EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        found = _validation_problems(exc, data)
        # Rules across sections only run on a fully valid model; run them on the raw values too,
        # so that one typo does not hide, say, an unprotected prod database.
        reported = {key for key, _ in found}
        found += [
            (tuple(key.split(".")), message)
            for key, message in rules.problems(lambda path: _raw_get(data, path))
            if tuple(key.split(".")) not in reported
        ]
        for key_path, message in found:
            line = located.line_of(key_path)
            where = f"{shown}:{line}" if line else shown
            problems.append(f"{where}: {'.'.join(key_path) or '(top level)'}: {message}")
        raise ConfigError(problems, header=f"invalid configuration in {shown}") from None
    if problems:
        raise ConfigError(problems, header=f"invalid configuration in {shown}")
    return config


def load_environments(
    names: list[str] | None = None, *, suffix: str | None = None, directory: Path | None = None
) -> list[EnvironmentConfig]:
    """Load several environments (all when names is empty), collecting the problems of all of them."""
    names = names or available_environments(directory)
    if suffix is not None and len(names) != 1:
        raise ConfigError(["SUFFIX= makes a copy of one environment: name it with ENV="])
    configs, problems = [], []
    for name in names:
        try:
            configs.append(load_environment(name, suffix=suffix, directory=directory))
        except ConfigError as exc:
            problems += [p for p in exc.problems if p not in problems]  # a clash is found from both sides
    if problems:
        raise ConfigError(problems)
    return configs
