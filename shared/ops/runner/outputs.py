"""The outputs of an environment's stacks, written to outputs/<env>.json (by make outputs and after a deploy)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.errors import OperationFailed
from shared.files import owner_only, write_atomically
from shared.ops.engine.process import Engine
from shared.ops.engine.workdir import Stack, StackFailed, initialize
from shared.ops.runner import steps
from shared.ops.runner.preparation import Prepared
from shared.ops.runner.selection import parallelism
from shared.ops.runner.steps import CROSS_STACK_PREFIX, stack_outputs
from shared.ops.state_bucket import errored_state, fingerprint


def write_outputs(engine: Engine, env: EnvironmentConfig, ordered: list[Stack], outputs_dir: Path) -> Path:
    def read(stack: Stack) -> dict:
        # From the state object itself where it can be read (no engine started: a deploy that skipped
        # every stack starts none); through the engine otherwise.
        backend = json.loads((stack.workdir / "cdk.tf.json").read_text())["terraform"]["backend"]["s3"]
        try:
            held = fingerprint.state_outputs(env, backend["bucket"], backend["key"])
        except fingerprint.Unreadable:
            held = None
        if held is not None:
            return {k: v for k, v in held.items() if not k.startswith(CROSS_STACK_PREFIX)}
        initialize(engine, stack, quiet=True)
        return stack_outputs(engine, stack)

    with ThreadPoolExecutor(max_workers=parallelism()) as pool:
        collected = dict(zip([s.name for s in ordered], pool.map(read, ordered), strict=True))
    outputs_dir.mkdir(parents=True, exist_ok=True)
    path = outputs_dir / f"{env.suffix}.json"
    if path.exists() and "ci" in (held := json.loads(path.read_text())):
        collected["ci"] = held["ci"]  # the CI roles make bootstrap wrote, not a stack's
    written = write_atomically(
        outputs_dir / f"{env.suffix}.json", json.dumps(collected, indent=2, sort_keys=True) + "\n"
    )
    owner_only(outputs_dir)
    return written


def write_for(prepared: Prepared, outputs_dir: Path) -> None:
    """`make outputs`: every stack's outputs, keyed by stack, in outputs/<env>.json."""
    env, engine, ordered = prepared.env, prepared.engine, prepared.ordered
    errored_state.refuse(env, ordered)
    try:
        path = write_outputs(engine, env, ordered, outputs_dir)
        steps.announce(engine, ordered[0])
    except StackFailed as exc:
        raise OperationFailed(f"reading outputs ({exc.step}):\n{exc.output}") from None
    print(f"wrote {path}")
