"""The committed dependency lock file: which provider builds every stack uses, pinned by checksum.

One file for the providers of all stacks (`.terraform.lock.hcl` at the top; an emulator environment
that pins its own AWS provider version has `environments/<env>.terraform.lock.hcl`). It is copied
into each stack's working directory before `init`; what `init` adds is merged back, and the user is
told to commit it. Under CI=true, `init -lockfile=readonly`: CI never changes the pins.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.files import write_atomically
from shared.options import current
from shared.paths import ROOT

LOCK_NAME = ".terraform.lock.hcl"
_HEADER = (
    '# This file is maintained automatically by "terraform init".\n# Manual edits may be lost in future updates.\n'
)
_BLOCK = re.compile(r'^provider "([^"]+)" \{\n.*?^\}\n', re.S | re.M)


def committed(env: EnvironmentConfig, root: Path | None = None) -> Path:
    root = root or ROOT
    if env.aws.provider_version:
        return root / "environments" / f"{env.name}{LOCK_NAME}"
    return root / LOCK_NAME


def blocks(text: str) -> dict[str, str]:
    """Provider source -> its whole `provider "..." { ... }` block."""
    return {m.group(1): m.group(0) for m in _BLOCK.finditer(text)}


_VERSION = re.compile(r'^\s*version\s*=\s*"([^"]+)"', re.M)


def versions(workdir: Path) -> dict[str, str]:
    """{"hashicorp/aws": "5.100.0", ...} from an initialized working directory's lock file ({} without one)."""
    lock = workdir / LOCK_NAME
    if not lock.is_file():
        return {}
    found = {}
    for source, block in blocks(lock.read_text(errors="replace")).items():
        version = _VERSION.search(block)
        if version:
            found[source.split("/", 1)[1] if source.count("/") == 2 else source] = version[1]
    return found


def read_only() -> bool:
    return current().under_ci


def init_args() -> list[str]:
    return ["-lockfile=readonly"] if read_only() else []


_WARNED: set[Path] = set()


def warn_if_unpinned(lock: Path) -> None:
    """Under CI, say once per command that there are no committed pins: the engine then takes each
    provider's build by its version alone, unchecked against any checksum a reviewer saw."""
    if read_only() and not lock.is_file() and lock not in _WARNED:
        _WARNED.add(lock)
        print(
            f"warning: no committed provider pins ({lock.name} is not in the repository): init takes each "
            "provider's build by version alone. Run make providers-lock ENV=<env> where the registry is "
            "reachable, and commit the file.",
            file=sys.stderr,
        )


def install(lock: Path, workdir: Path) -> None:
    """Put the committed pins where `init` reads them (a stack that needs fewer providers ignores the rest)."""
    if lock.is_file():
        write_atomically(workdir / LOCK_NAME, lock.read_text())


def collect(lock: Path, workdirs: list[Path]) -> bool:
    """Merge what `init` wrote in the working directories into the committed file. True if it changed."""
    before = lock.read_text() if lock.is_file() else ""
    merged = blocks(before)
    for workdir in workdirs:
        path = workdir / LOCK_NAME
        if path.is_file():
            merged.update(blocks(path.read_text()))
    if not merged:
        return False
    text = _HEADER + "".join(f"\n{merged[source]}" for source in sorted(merged))
    if text == before:
        return False
    write_atomically(lock, text)
    return True
