"""A stack's working directory as the engine sees it (a folder of cdktf.out with its cdk.tf.json), the engine
steps run in it, and its initialization, done once for exactly what it needs."""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from shared.errors import OperationFailed
from shared.files import write_atomically
from shared.ops.engine import provider_pins
from shared.ops.engine.process import Engine, EngineInterrupted, Result
from shared.options import current


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
    quiet = quiet and not current().verbose  # VERBOSE=1 shows what is quiet by default
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
