"""What the fingerprint tests (of the record, tests/shared/ops/state_bucket/, and of its computation,
tests/shared/ops/runner/) start from: a synthesized stack in a working directory, a producer's state."""

from __future__ import annotations

import json
import shutil

import boto3

from shared.ops.engine.process import Engine
from shared.ops.engine.workdir import Stack

ENGINE = Engine("/usr/bin/terraform", "1.11.4")


def stack(synth, tmp_path, name: str) -> Stack:
    """dev's `name` stack, as synthesized, in a working directory of its own."""
    workdir = tmp_path / f"{name}-dev"
    shutil.copytree(synth.outdir / "stacks" / f"{name}-dev", workdir)
    return Stack(name, f"{name}-dev", workdir, ())


def put_state(env, stack_name: str, outputs: dict) -> None:
    """A state of dev's `stack_name` in this process's moto, holding `outputs`."""
    state = {"version": 4, "outputs": {k: {"value": v, "type": "string"} for k, v in outputs.items()}}
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=env.state.bucket, Key=f"streamflix/dev/{stack_name}.tfstate", Body=json.dumps(state).encode()
    )
