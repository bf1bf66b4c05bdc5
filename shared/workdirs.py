"""The synthesis output folder (cdktf.out): what it may hold, checked before anything is written into it.

Each stack's working directory, `<outdir>/stacks/<stack id>/`, is where the engine runs; it is kept
across syntheses, so its `.terraform/` (providers, backend) survives.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from shared.errors import UsageError

# What a synthesis output folder may hold besides the stacks: the manifest, the environment locks,
# the engine's CLI configuration, and a synthesis in progress.
OWN_ENTRIES = ("manifest.json", ".manifest.lock", "stacks", ".locks", "terraform.rc")
SCRATCH_PREFIX = ".synth-"


def scratch_prefix() -> str:
    """A synthesis in progress works in `.synth-<pid>-<random>`: the pid tells a later run whether
    its owner still lives."""
    return f"{SCRATCH_PREFIX}{os.getpid()}-"


def remove_abandoned_scratch(outdir: Path) -> None:
    """Remove the scratch folders of syntheses whose process is gone (killed with SIGKILL, or the
    machine stopped); those of running syntheses, other environments' included, stay."""
    for entry in outdir.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = entry.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if entry.is_dir() and pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid exists (another user's included)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # somebody else's process: alive
        return True
    return True


def check_outdir(outdir: Path) -> None:
    """Refuse a folder that holds anything but an earlier synthesis: we never delete or overwrite what
    we did not write."""
    if not outdir.exists():
        return
    if not outdir.is_dir():
        raise UsageError(f"{outdir} is a file, not a folder for the synthesized stacks")
    foreign = sorted(
        p.name for p in outdir.iterdir() if p.name not in OWN_ENTRIES and not p.name.startswith(SCRATCH_PREFIX)
    )
    if foreign:
        raise UsageError(
            f"{outdir} holds files that no synthesis wrote ({', '.join(foreign[:5])}"
            f"{', ...' if len(foreign) > 5 else ''}): "
            "name an empty folder, a new one, or an earlier synthesis output; nothing was written"
        )


def require_node() -> None:
    """Synthesis runs in the jsii runtime, on Node.js; say so before anything imports cdktf (which
    would start it and fail in tracebacks)."""
    if shutil.which("node") is None:
        raise UsageError("Node.js (20 or newer) is not on PATH; the jsii runtime behind cdktf needs it to synthesize")


# What Terraform writes into the working directory when it cannot save a stack's state to the backend
# (shared/ops/state_bucket/errored_state.py records it and refuses the stack until `make push-state`).
ERRORED_STATE = "errored.tfstate"
