"""A stack's fingerprint now, and the one recorded when it was last applied: what lets a deploy skip a stack
that nothing changed (the parts are described in shared/ops/state_bucket/fingerprint.py, which keeps them)."""

from __future__ import annotations

import json

from shared.config import EnvironmentConfig
from shared.ops.engine.process import Engine
from shared.ops.engine.provider_install import required
from shared.ops.engine.workdir import Stack
from shared.ops.runner.speculative import INPUT_PREFIX, reads
from shared.ops.state_bucket.fingerprint import Fingerprint, Unreadable, digest, recorded, state_outputs


def compute(env: EnvironmentConfig, stack: Stack, engine: Engine) -> Fingerprint:
    """The stack's fingerprint now. Raises Unreadable when a part cannot be read, or when a producer it
    reads has no state (a stack is never skipped on the strength of what is not there)."""
    synthesized = (stack.workdir / "cdk.tf.json").read_bytes()
    doc = json.loads(synthesized)
    producer_reads = {}
    for name, (config, outputs) in sorted(reads(doc).items()):
        values = state_outputs(env, config["bucket"], config["key"])
        if values is None:
            raise Unreadable(f"{name.removeprefix(INPUT_PREFIX)} has no state")
        producer_reads[name.removeprefix(INPUT_PREFIX)] = digest({o: values.get(o) for o in sorted(outputs)})
    pins = stack.lock_file.read_bytes() if stack.lock_file is not None and stack.lock_file.is_file() else b""
    parts = {
        "stack_json": digest(synthesized),
        "provider_pins": digest(pins),
        "engine": f"{engine.name} {engine.version}",
        "providers": required(doc),
        "reads": producer_reads,
    }
    return Fingerprint(digest(parts), parts)


def compare(env: EnvironmentConfig, stack: Stack, engine: Engine) -> tuple[Fingerprint | None, Fingerprint | None]:
    """The stack's fingerprint now (None: a part cannot be read) and the one recorded when it was last
    applied (None: there is none)."""
    try:
        now = compute(env, stack, engine)
    except Unreadable:
        now = None
    return now, recorded(env, stack.name)
