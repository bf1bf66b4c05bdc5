"""`make unlock`: release a stack's state lock that nothing holds any more (a run that crashed), after
showing it and checking that it is the lock the user means."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.ops.engine.process import Engine
from shared.ops.engine.workdir import Stack, init_quietly
from shared.ops.runner import preparation
from shared.ops.runner.selection import parse_selection
from shared.ops.state_bucket import errored_state, state_lock
from shared.ops.state_bucket.bucket import BucketError


def release(engine: Engine, target: Stack, lock_id: str) -> None:
    """Release the lock `lock_id` on the state of `target` through the engine (its working directory initialized)."""
    init_quietly(engine, target)
    result = engine.run(["force-unlock", "-force", "-no-color", lock_id], target.workdir)
    if result.returncode != 0:
        raise OperationFailed(f"the engine could not release the lock on {target.id}:\n{result.output}")
    print(f"released the state lock {lock_id} of {target.id}")


def _confirmed(env: EnvironmentConfig, confirm: str | None) -> None:
    if env.protected and confirm != env.suffix:
        raise UsageError(f"{env.suffix} is protected: releasing a lock on its state needs CONFIRM={env.suffix}")


def unlock(
    env: EnvironmentConfig,
    stack: str | None,
    lock_id: str | None,
    *,
    confirm: str | None = None,
    outdir: Path = DEFAULT_OUTDIR,
) -> None:
    names = parse_selection(stack)
    if not names or len(names) != 1 or not lock_id:
        raise UsageError(
            f"make unlock ENV={env.name} STACK=<one stack> LOCK_ID=<id>: the stack and the ID of the lock to "
            "release (`make deploy` or `make destroy` names both when a state is locked)"
        )
    _confirmed(env, confirm)  # what the file says, before anything
    # The environment lock of this checkout: refused while another command, or an engine one left
    # running, works on the environment here (its engine would then be the lock's holder).
    prepared = preparation.prepare("unlock", env, outdir=outdir, confirm=confirm)
    _confirmed(prepared.env, confirm)  # and what its state location records
    target = next(s for s in prepared.ordered if s.name == names[0])
    # The run that left an errored state most likely left its lock too: `make push-state ... LOCK_ID=`
    # releases it as it pushes the state back.
    errored_state.refuse(env, [target])
    try:
        held = state_lock.read(env, target.name)
    except BucketError as exc:
        raise UsageError(f"the state lock of {target.id} cannot be read ({exc}); nothing was changed") from None
    if held is None:
        print(f"{target.id}: its state is not locked; nothing to do")
        return
    print(f"{target.id}: its state is locked, {held.describe()}")
    if held.id != lock_id:
        raise UsageError(f"LOCK_ID={lock_id} is not the lock on {target.id} (its ID is {held.id}); nothing was changed")
    release(prepared.engine, target, lock_id)
