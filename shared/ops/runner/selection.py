"""Which stacks a command works on, and in which order: the environment's stacks from the manifest,
dependencies first; a STACK= selection; how many read-only ones run side by side."""

from __future__ import annotations

import json
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.naming import STACK_NAMES, stack_id
from shared.ops.engine import provider_pins
from shared.ops.engine.workdir import Stack
from shared.options import current


def ordered_stacks(outdir: Path, env: EnvironmentConfig) -> list[Stack]:
    """The environment's stacks from the manifest, dependencies first (stable: network, data, ...)."""
    manifest = json.loads((outdir / "manifest.json").read_text())["stacks"]
    ids = {stack_id(name, env.suffix): name for name in STACK_NAMES}
    lock = provider_pins.committed(env)
    stacks = {
        sid: Stack(ids[sid], sid, outdir / meta["workingDirectory"], tuple(meta["dependencies"]), lock)
        for sid, meta in manifest.items()
        if sid in ids
    }
    ordered: list[Stack] = []
    pending = [stacks[s] for s in ids if s in stacks]
    while pending:
        ready = [s for s in pending if all(d in {o.id for o in ordered} for d in s.dependencies)]
        if not ready:
            raise UsageError(f"stack dependencies form a cycle: {[s.id for s in pending]}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def parse_selection(stacks: str | None) -> list[str] | None:
    if not stacks:
        return None
    names = list(dict.fromkeys(s.strip() for s in stacks.split(",") if s.strip()))  # each once, in order
    unknown = [n for n in names if n not in STACK_NAMES]
    if unknown or not names:
        raise UsageError(
            f"unknown stack(s) {', '.join(unknown) or stacks!r} in STACK=; known: {', '.join(STACK_NAMES)}"
        )
    return names


def parallelism() -> int:
    """PARALLELISM=: how many stacks read-only work (plan, drift, outputs) runs at once; 1 is serial."""
    return current().checked("parallelism")
