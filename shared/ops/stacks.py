"""The stacks of an environment as the tools see them: their order and working directories from the
manifest, a STACK= selection, and each working directory initialized once for what it needs."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.errors import OperationFailed, UsageError
from shared.files import write_atomically
from shared.naming import STACK_NAMES, stack_id
from shared.ops import provider_pins
from shared.ops.engine import Engine, EngineInterrupted, Result


@dataclass(frozen=True)
class Stack:
    name: str  # network, data, ...
    id: str  # network-dev
    workdir: Path
    dependencies: tuple[str, ...]  # stack ids
    lock_file: Path | None = None  # the committed provider pins this stack's init uses

    @property
    def plan_file(self) -> str:
        # Relative to the working directory, where the engine runs.
        return f"{self.id}.tfplan"


class StackFailed(Exception):
    """An engine step of one stack failed; `output` is what the engine said."""

    def __init__(self, step: str, output: str):
        super().__init__(step)
        self.step, self.output = step, output


def run_step(engine: Engine, step: str, args: list[str], stack: Stack) -> Result:
    try:
        return engine.run(args, stack.workdir, applying=step == "apply")
    except EngineInterrupted as exc:
        exc.step = step
        raise


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
    value = os.environ.get("PARALLELISM", "4").strip() or "4"
    if not value.isdigit() or not 1 <= int(value) <= 32:
        raise UsageError(f"PARALLELISM={value!r}: give how many stacks to work on at once, 1 to 32")
    return int(value)


# ------------------------------------------------------------------ init


INIT_STAMP = "streamflix-init.json"  # inside .terraform/: removing that folder forgets it too


def _init_key(engine: Engine, stack: Stack, args: list[str]) -> str:
    """What an init depends on: the backend and required providers, the pinned builds, the engine and
    its provider settings, the init arguments. Equal keys: the directory is initialized as it must be."""
    doc = json.loads((stack.workdir / "cdk.tf.json").read_text())
    lock = stack.workdir / ".terraform.lock.hcl"
    cli_config = engine.cli_config.read_text() if engine.cli_config and engine.cli_config.is_file() else ""
    parts = [
        json.dumps(doc.get("terraform", {}), sort_keys=True),
        lock.read_text() if lock.is_file() else "",
        engine.binary,
        engine.version,
        cli_config,
        " ".join(args),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _initialized(stack: Stack, key: str) -> bool:
    dot = stack.workdir / ".terraform"
    try:
        stamp = json.loads((dot / INIT_STAMP).read_text())
    except (OSError, ValueError):
        return False
    # The installed providers may be links into a plugin cache that has been emptied since.
    providers = dot / "providers"
    intact = not providers.exists() or all(p.exists() for p in providers.rglob("*"))
    return stamp == {"key": key} and intact


def initialize(engine: Engine, stack: Stack, *, quiet: bool = False) -> None:
    """Initialize the stack's working directory, unless it already is for exactly this backend,
    these providers and this engine (an init takes seconds, and every command needs one per stack,
    some more than once); quiet keeps the engine's chatter out of read-only work (its output is
    still shown when it fails)."""
    args = ["init", "-input=false", "-no-color"]
    if stack.lock_file is not None:
        provider_pins.install(stack.lock_file, stack.workdir)
        if stack.lock_file.is_file():
            args += provider_pins.init_args()  # CI never changes the committed pins
        else:
            provider_pins.warn_if_unpinned(stack.lock_file)
    if _initialized(stack, _init_key(engine, stack, args)):
        return
    result = engine.capture(args, stack.workdir) if quiet else run_step(engine, "init", args, stack)
    if result.returncode != 0:
        raise StackFailed("init", result.output)
    if stack.lock_file is not None and provider_pins.collect(stack.lock_file, [stack.workdir]):
        print(
            f"init pinned providers in {_shown(stack.lock_file)}: commit it, so every run uses these builds",
            file=sys.stderr,
        )
    dot = stack.workdir / ".terraform"
    if dot.is_dir():  # an engine that made none has nothing to remember it by
        write_atomically(dot / INIT_STAMP, json.dumps({"key": _init_key(engine, stack, args)}))


def init_quietly(engine: Engine, stack: Stack) -> None:
    """The stack's working directory initialized, its chatter kept out unless it fails (for other commands)."""
    try:
        initialize(engine, stack, quiet=True)
    except StackFailed as exc:
        raise OperationFailed(f"initializing {stack.id} failed:\n{exc.output}") from None


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
