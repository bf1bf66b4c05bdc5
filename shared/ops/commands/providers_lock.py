"""`make providers-lock`: pin every provider of an environment's stacks for every platform people and CI
use, in the committed lock file (shared/ops/engine/provider_pins.py keeps that file; this command fills it)."""

from __future__ import annotations

from shared.config import EnvironmentConfig
from shared.errors import OperationFailed
from shared.ops.engine import provider_pins
from shared.ops.engine.providers import provider_mirror
from shared.ops.runner import preparation

PLATFORMS = ("linux_amd64", "linux_arm64", "darwin_amd64", "darwin_arm64")


def relock(env: EnvironmentConfig) -> None:
    """`make providers-lock`: pin every provider of the environment's stacks for every platform people
    and CI use, through the engine's own `providers lock` (from TF_PROVIDER_MIRROR, else the registry)."""
    prepared = preparation.prepare("plan", env, credentials=False)  # pinning reads no AWS account
    lock = provider_pins.committed(env)
    mirror = provider_mirror()
    args = ["providers", "lock", *(f"-platform={p}" for p in PLATFORMS)]
    if mirror:
        args.append(f"-fs-mirror={mirror}")
    for stack in prepared.ordered:  # each stack's own providers; the union is the committed file
        provider_pins.install(lock, stack.workdir)
        result = prepared.engine.run(args, stack.workdir)
        if result.returncode != 0:
            source = f"the mirror {mirror}" if mirror else "the registry"
            raise OperationFailed(
                f"{prepared.engine.name} could not pin the providers of {stack.id} for {', '.join(PLATFORMS)} "
                f"from {source}: it needs the registry, or a mirror that holds every platform "
                f"(TF_PROVIDER_MIRROR). The engine said:\n{result.output}"
            )
    changed = provider_pins.collect(lock, [s.workdir for s in prepared.ordered])
    print(f"{lock}: {'updated; commit it' if changed else 'already pins every provider for ' + ', '.join(PLATFORMS)}")
