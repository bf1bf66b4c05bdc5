"""The app builder: the four stacks of each environment, wired by typed references, synthesized atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cdktf import App

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import UsageError
from stacks.compute import ComputeStack
from stacks.data import DataStack
from stacks.monitoring import MonitoringStack
from stacks.network import NetworkStack


@dataclass(frozen=True)
class EnvironmentStacks:
    network: NetworkStack
    data: DataStack
    compute: ComputeStack
    monitoring: MonitoringStack


def build_environment(app: App, env: EnvironmentConfig) -> EnvironmentStacks:
    # Consumers read producer attributes; CDKTF turns each read into an output of the
    # producer and a terraform_remote_state of the consumer, and orders the stacks.
    network = NetworkStack(app, env=env)
    data = DataStack(app, env=env, network=network)
    compute = ComputeStack(app, env=env, network=network, data=data)
    monitoring = MonitoringStack(app, env=env, data=data, compute=compute)
    return EnvironmentStacks(network, data, compute, monitoring)


def build_app(envs: list[EnvironmentConfig], outdir: Path | str = DEFAULT_OUTDIR) -> App:
    app = App(outdir=str(outdir))
    for env in envs:
        build_environment(app, env)
    return app


def synthesize(envs: list[EnvironmentConfig], outdir: Path | str = DEFAULT_OUTDIR) -> Path:
    """Synthesize into a scratch folder, then swap it in: a failure never leaves a half-written tree,
    and stacks of environments not asked for this time do not linger."""
    if shutil.which("node") is None:
        raise UsageError("Node.js (20 or newer) is not on PATH; the jsii runtime behind cdktf needs it to synthesize")
    outdir = Path(outdir).resolve()
    outdir.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=outdir.name + ".", dir=outdir.parent))
    try:
        build_app(envs, scratch).synth()
        old = None
        if outdir.exists():
            old = outdir.with_name(outdir.name + f".old-{os.getpid()}")
            outdir.rename(old)
        scratch.rename(outdir)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if scratch.exists():
            shutil.rmtree(scratch, ignore_errors=True)
    return outdir
