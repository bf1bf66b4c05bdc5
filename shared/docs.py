"""The reference tables of docs/, generated from the code's own descriptions (`make docs`).

The tables: every config key (from the schema's field descriptions and defaults, with the value each
environment file sets), every make target (from the `## ` help text of the Makefile), every environment
variable the tool reads, and every CI role make bootstrap creates (shared/access/roles.py). Each sits in
its document between GENERATED markers; `make docs` rewrites what is between them, and a test fails
when the committed text differs from what the code says.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from shared.config import SET_BY_THE_LOADER, EnvironmentConfig, load_environments
from shared.files import write_atomically
from shared.options import VARIABLES
from shared.paths import ROOT

CONFIG_DOC = ROOT / "docs" / "environments.md"
COMMANDS_DOC = ROOT / "docs" / "commands.md"
SECRETS_DOC = ROOT / "docs" / "secrets-and-state.md"
# Required in the schema, but filled in by the loader when the file leaves it out.
_DERIVED = {"environment_suffix": "the environment's name"}
_TARGET = re.compile(r"^([a-z][a-z0-9-]*):[^#\n]*## (.+)$", re.MULTILINE)


def _marker(name: str) -> tuple[str, str]:
    return (
        f"<!-- GENERATED {name}: `make docs` writes this table from the code; edit the code, not the table -->",
        f"<!-- END GENERATED {name} -->",
    )


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return ", ".join(_shown(v) for v in value) or "empty"
    return str(getattr(value, "value", value))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _fields(model: type[BaseModel], prefix: str = ""):
    """(dotted key, field) of every leaf field, sections walked in declaration order."""
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from _fields(field.annotation, f"{key}.")
        else:
            yield key, field


def _value(dumped: dict, key: str) -> Any:
    for part in key.split("."):
        dumped = dumped[part]
    return dumped


def config_table(environments: list[EnvironmentConfig] | None = None) -> str:
    envs = environments if environments is not None else load_environments()
    dumped = {e.name: e.model_dump(mode="json") for e in envs}
    header = ["key", "meaning", "default", *(e.name for e in envs)]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key, field in _fields(EnvironmentConfig):
        if key in SET_BY_THE_LOADER:
            continue  # the file's stem, or what only the command line makes: not keys a file may hold
        if field.default is not PydanticUndefined:
            default = field.default
        elif field.default_factory is not None:
            default = field.default_factory()
        else:
            default = None
        default_shown = _DERIVED.get(key) or ("(required)" if field.is_required() else _shown(default))
        values = []
        for env in envs:
            shown = _shown(_value(dumped[env.name], key))
            values.append("" if shown == default_shown else f"`{_cell(shown)}`")
        rows.append(
            f"| `{key}` | {_cell(field.description or '')} | {_cell(default_shown)} | " + " | ".join(values) + " |"
        )
    return "\n".join(rows)


def commands_table(makefile: Path = ROOT / "Makefile") -> str:
    rows = ["| target | what it does |", "|---|---|"]
    for target, text in _TARGET.findall(makefile.read_text()):
        rows.append(f"| `make {target}` | {_cell(text.strip())} |")
    return "\n".join(rows)


def variables_table() -> str:
    rows = ["| variable | what it sets | default |", "|---|---|---|"]
    for variable in VARIABLES:
        rows.append(f"| `{variable.name}` | {_cell(variable.description)} | {_cell(variable.default or '(unset)')} |")
    return "\n".join(rows)


def ci_roles_table(environments: list[EnvironmentConfig] | None = None) -> str:
    """Each real environment's CI roles: name, the GitHub environment trusted, session, jobs, permissions."""
    from shared.access.roles import role_specs

    rows = [
        "| role | trusted `sub` (GitHub environment) | max session | used by | may |",
        "|---|---|---|---|---|",
    ]
    for env in environments or load_environments():
        if env.emulated:
            continue  # the local emulator's roles trust the caller too; CI never assumes them
        for spec in role_specs(env):
            rows.append(
                f"| `{spec.name}` | `{spec.subject(env.ci.repository)}` | {spec.session_seconds // 60} min "
                f"| {_cell(spec.used_by)} | {_cell(spec.may)} |"
            )
    return "\n".join(rows)


def tables() -> dict[Path, dict[str, str]]:
    return {
        CONFIG_DOC: {"config keys": config_table()},
        COMMANDS_DOC: {"make targets": commands_table(), "environment variables": variables_table()},
        SECRETS_DOC: {"CI roles": ci_roles_table()},
    }


def render(text: str, generated: dict[str, str], path: Path) -> str:
    """`text` with each generated table put between its markers (which must be there)."""
    for name, table in generated.items():
        start, end = _marker(name)
        if start not in text or end not in text:
            raise ValueError(f"{path}: the markers of the generated {name} table are missing:\n{start}\n{end}")
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = f"{before}{start}\n{table}\n{end}{after}"
    return text


def stale() -> list[Path]:
    """The documents whose generated tables differ from what the code says now."""
    return [
        path for path, generated in tables().items() if render(path.read_text(), generated, path) != path.read_text()
    ]


def write() -> list[Path]:
    """Rewrite the generated tables; returns the documents that changed."""
    changed = []
    for path, generated in tables().items():
        text = path.read_text()
        new = render(text, generated, path)
        if new != text:
            write_atomically(path, new)
            changed.append(path)
    return changed
