"""Skip a synthesis whose result is already on disk.

An environment's stacks are up to date when what decides them hashes to what their last synthesis
recorded beside them (`stacks/<id>/.synthesized`): the resolved config, every Python file of
`stacks/` and `shared/`, and the CDK toolchain with its package versions. Their JSON must also
still be what that synthesis wrote. Then `plan`, `deploy`, `drift`, `outputs`, `destroy` and
`check` use it as it is, and the provider bindings (seconds of import) are never loaded. Any
doubt means a synthesis: a missing or unreadable stamp, a changed byte anywhere, a stack missing
from the manifest. `STREAMFLIX_RESYNTH=1` always synthesizes. Light to import: no bindings here.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from shared import cdk
from shared.config import EnvironmentConfig
from shared.files import write_atomically
from shared.naming import STACK_NAMES, stack_id
from shared.options import current
from shared.paths import ROOT

STAMP = ".synthesized"
SOURCE_DIRS = ("stacks", "shared")  # shared/ops too: a needless synthesis costs seconds, a stale one a wrong plan


@cache
def _code_digest() -> str:
    """Every source file that could shape a stack, and the package versions the bindings come from."""
    digest = hashlib.sha256()
    for directory in SOURCE_DIRS:
        for path in sorted((ROOT / directory).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(f"toolchain={cdk.ACTIVE.name}\0".encode())
    for package, version in cdk.versions().items():
        digest.update(f"{package}=={version}\0".encode())
    return digest.hexdigest()


def inputs_digest(env: EnvironmentConfig) -> str:
    """What decides the stacks of `env`, hashed."""
    config = json.dumps(env.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(f"{_code_digest()}\0{config}".encode()).hexdigest()


def _stack_dirs(env: EnvironmentConfig, outdir: Path) -> list[Path]:
    return [outdir / "stacks" / stack_id(name, env.suffix) for name in STACK_NAMES]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(env: EnvironmentConfig, outdir: Path) -> None:
    """Note beside each freshly published stack what it was synthesized from (atomically, per stack)."""
    inputs = inputs_digest(env)
    for directory in _stack_dirs(env, outdir):
        stamp = {"inputs": inputs, "output": _file_digest(directory / "cdk.tf.json")}
        write_atomically(directory / STAMP, json.dumps(stamp, sort_keys=True) + "\n")


def is_fresh(env: EnvironmentConfig, outdir: Path) -> bool:
    """True when every stack of `env` in `outdir` is what a synthesis now would write."""
    if current().resynthesize:
        return False
    try:
        listed = json.loads((outdir / "manifest.json").read_text())["stacks"]
        inputs = inputs_digest(env)
        for directory in _stack_dirs(env, outdir):
            stamp = json.loads((directory / STAMP).read_text())
            if directory.name not in listed or stamp != {
                "inputs": inputs,
                "output": _file_digest(directory / "cdk.tf.json"),
            }:
                return False
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return True
