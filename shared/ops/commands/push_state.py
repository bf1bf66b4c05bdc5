"""`make push-state`: put back a stack's state that the engine could not save (its errored.tfstate), then lift
the refusal that shared/ops/state_bucket/errored_state.py records for it."""

from __future__ import annotations

import shlex
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.ops.commands.unlock import release
from shared.ops.engine.process import EngineInterrupted
from shared.ops.engine.workdir import Stack, init_quietly
from shared.ops.runner import preparation
from shared.ops.runner.selection import parse_selection
from shared.ops.state_bucket import errored_state, fingerprint, state_lock
from shared.ops.state_bucket.bucket import BucketError
from shared.workdirs import ERRORED_STATE


def _lock_in_the_way(env: EnvironmentConfig, target: Stack, file: str, lock_id: str | None) -> str | None:
    """The lock to release before the push (LOCK_ID=, checked against the lock the bucket holds); raises
    UsageError when the state is locked and LOCK_ID= does not name that lock."""
    try:
        held = state_lock.read(env, target.name)
    except BucketError as exc:
        raise UsageError(f"the state lock of {target.id} cannot be read ({exc}); nothing was pushed") from None
    if held is None:
        if lock_id:
            print(f"{target.id}: its state is not locked; LOCK_ID={lock_id} is not needed")
        return None
    print(f"{target.id}: its state is locked, {held.describe()}")
    if lock_id == held.id:
        return held.id
    again = errored_state.push_command(env, target.name, file) + f" LOCK_ID={shlex.quote(held.id)}"
    if lock_id:
        raise UsageError(f"LOCK_ID={lock_id} is not the lock on {target.id} (its ID is {held.id}); nothing was pushed")
    raise UsageError(
        f"the state of {target.id} is locked, so the engine would wait for it and then fail. A run that could not "
        "save its state most likely could not release its lock either: if this lock is that run's (see when it "
        f"was taken), release it as the state is pushed back:\n    {again}\nIf another run is working on "
        f"{target.id}, wait for it to end instead. Nothing was pushed."
    )


def push_state(
    env: EnvironmentConfig,
    stack: str | None,
    file: str | None,
    *,
    lock_id: str | None = None,
    confirm: str | None = None,
    outdir: Path = DEFAULT_OUTDIR,
) -> None:
    """Push `file` as the state of one stack (the engine's `state push`, which refuses a state of another
    lineage or an older serial); only once it is pushed, remove the record and this checkout's errored.tfstate."""
    names = parse_selection(stack)
    if not names or len(names) != 1 or not file:
        raise UsageError(
            f"make push-state {errored_state.env_args(env)} STACK=<one stack> FILE=<path to errored.tfstate>: "
            "the stack and the file the engine left (the refusal of the stack names both)"
        )
    path = Path(file).expanduser().absolute()  # relative to where the command runs: the checkout
    if not path.is_file():
        raise UsageError(f"FILE={file}: there is no such file; nothing was pushed")
    if env.protected and confirm != env.suffix:
        raise UsageError(f"{env.suffix} is protected: pushing a state into it needs CONFIRM={env.suffix}")
    # The environment lock of this checkout: nothing else here runs on the environment meanwhile.
    prepared = preparation.prepare("push-state", env, outdir=outdir, confirm=confirm)
    if prepared.env.protected and confirm != env.suffix:  # protected as its state location records it
        raise UsageError(f"{env.suffix} is protected: pushing a state into it needs CONFIRM={env.suffix}")
    target = next(s for s in prepared.ordered if s.name == names[0])
    try:
        recorded = errored_state.read(env, target.name)
    except errored_state.Unreadable as exc:
        recorded = None
        print(f"note: {exc}; pushing all the same")
    if recorded is not None:
        print(f"{target.id}: its errored state is recorded from a {recorded.when()}")
    else:
        print(f"{target.id}: no errored state is recorded for it in {errored_state.where(env, target.name)}")
    releasing = _lock_in_the_way(env, target, file, lock_id)
    init_quietly(prepared.engine, target)
    try:  # what is pushed is not what was last applied: the next deploy must plan the stack, not skip it
        fingerprint.forget(env, target.name)
    except fingerprint.Unreadable as exc:
        raise UsageError(f"{exc}; nothing was pushed") from None
    if releasing:
        release(prepared.engine, target, releasing)
    try:
        push = ["state", "push", "-no-color", state_lock.engine_argument(), str(path)]  # never -force
        result = prepared.engine.run(push, target.workdir)
    except EngineInterrupted:
        print(f"interrupted: {target.id} stays refused until the push is done", flush=True)
        raise
    if result.returncode != 0:
        raise OperationFailed(
            f"the engine could not push {file} as the state of {target.id}. The record and the file are kept, and "
            f"{target.id} stays refused. The engine said:\n{result.output.rstrip()}"
        )
    print(f"pushed {file} as the state of {target.id}")
    try:
        errored_state.forget(env, target.name)
    except BucketError as exc:
        raise OperationFailed(
            f"the state of {target.id} is pushed, but its record in {errored_state.where(env, target.name)} could "
            f"not be removed ({exc}); run the same command again (pushing the same file again changes nothing)"
        ) from None
    local = target.workdir / ERRORED_STATE
    if local.is_file():
        if local.read_bytes() == path.read_bytes():
            local.unlink()
            print(f"removed {local}")
        else:  # another run's: pushing it is the user's call (the engine refuses it if it is older)
            print(f"kept {local}: it is not the file pushed, and {target.id} stays refused while it is there")
    print(f"{target.id} can be planned and deployed again: make plan {errored_state.env_args(env)} STACK={target.name}")
