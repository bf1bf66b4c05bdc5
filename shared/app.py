"""The app builder: the four stacks of each environment, wired by typed references, synthesized atomically."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from shared import cdk, synth_cache
from shared.cdk.core import App
from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR, ENGINE_FLOOR
from shared.errors import UsageError
from shared.files import write_atomically
from shared.workdirs import check_outdir, remove_abandoned_scratch, require_node, scratch_prefix
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
    stacks = EnvironmentStacks(network, data, compute, monitoring)
    for stack in (network, data, compute, monitoring):
        stack.protect_precious()
        stack.absorb_emulator_quirks()
    return stacks


def build_app(envs: list[EnvironmentConfig], outdir: Path | str = DEFAULT_OUTDIR) -> App:
    app = App(outdir=str(outdir), context=cdk.app_context(ENGINE_FLOOR))
    for env in envs:
        build_environment(app, env)
    return app


def synthesize(envs: list[EnvironmentConfig], outdir: Path | str = DEFAULT_OUTDIR) -> Path:
    """Synthesize into a scratch folder, then publish each stack's JSON into its own working directory,
    one atomic rename per file. A failure or an interrupt leaves every stack as it was; the engine's
    files beside the JSON (.terraform/, plan files) and other environments' stacks stay."""
    require_node()
    outdir = Path(outdir).resolve()
    check_outdir(outdir)
    # Ctrl-C is recorded, not raised, from before the scratch folder exists until it is gone again:
    # raised in between (say, just after mkdtemp made it), it would leave the folder behind.
    with _interrupts_recorded() as interrupted:
        try:
            outdir.mkdir(parents=True, exist_ok=True)
            remove_abandoned_scratch(outdir)
            scratch = Path(tempfile.mkdtemp(prefix=scratch_prefix(), dir=outdir))
        except OSError as exc:
            raise UsageError(f"cannot write the synthesized stacks to {outdir}: {exc.strerror}") from None
        try:
            try:
                build_app(envs, scratch).synth()
            except Exception:
                if not interrupted:
                    raise
            if not interrupted:
                # An interrupt from here on lets the publishing finish: a tree half old, half new
                # would be worse than a complete new one.
                _publish(scratch, outdir)
                for env in envs:
                    synth_cache.record(env, outdir)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    if interrupted:
        # A terminal's Ctrl-C also ends the jsii runtime's Node process, which then fails in
        # its own ways; it is an interrupt all the same.
        raise KeyboardInterrupt
    return outdir


@contextlib.contextmanager
def _interrupts_recorded():
    seen: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield seen
        return
    previous = signal.signal(signal.SIGINT, lambda signum, _frame: seen.append(signum))
    try:
        yield seen
    finally:
        signal.signal(signal.SIGINT, previous)


def _publish(scratch: Path, outdir: Path) -> None:
    new = json.loads((scratch / "manifest.json").read_text())
    for meta in new["stacks"].values():
        source, target = scratch / meta["workingDirectory"], outdir / meta["workingDirectory"]
        target.mkdir(parents=True, exist_ok=True)
        for item in source.iterdir():
            if item.is_file():
                os.replace(item, target / item.name)
    # The manifest lists every stack synthesized into this folder, by any run; read, merge and
    # replace it under a lock, so that two environments synthesized at once both stay listed.
    with open(outdir / ".manifest.lock", "a") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        path = outdir / "manifest.json"
        old = json.loads(path.read_text()) if path.is_file() else {"stacks": {}}
        stacks = {
            sid: meta for sid, meta in old.get("stacks", {}).items() if (outdir / meta["workingDirectory"]).is_dir()
        }
        merged = {**old, **new, "stacks": {**stacks, **new["stacks"]}}
        write_atomically(path, json.dumps(merged, indent=2, sort_keys=True) + "\n")
