"""A state locked by another run, explained; `make unlock` shows the lock, checks it is the one meant, and
releases it through the engine (the engine stand-in and moto's bucket)."""

from __future__ import annotations

import fcntl
import json
import os

import boto3
import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands.unlock import unlock
from shared.ops.runner import run as runner
from shared.ops.state_bucket import state_lock
from tests.support.exit_code import exit_code

LOCK = {
    "ID": "0d3c5b0e-4a57-4b8e-9d3c-1f0c2b7a9e11",
    "Operation": "OperationTypeApply",
    "Info": "",
    "Who": "someone@laptop",
    "Version": "1.11.4",
    "Created": "2026-11-30T22:00:00.000000Z",
    "Path": "streamflix-tfstate-dev/streamflix/dev/data.tfstate",
}


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


@pytest.fixture
def paths(tmp_path, presynthesized):
    return {"outdir": presynthesized(tmp_path / "cdktf.out")}


def leave_lock(env, stack: str = "data") -> None:
    """What a crashed engine leaves in the bucket: its lock object."""
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=env.state.bucket, Key=state_lock.lock_object_key(env, stack), Body=json.dumps(LOCK).encode())


def lock_left(env, stack: str = "data") -> bool:
    return state_lock.read(env, stack) is not None


def test_a_locked_state_is_explained_with_holder_operation_age_id_and_what_to_do(engine, dev, tmp_path, paths, capsys):
    assert exit_code(runner.perform, "deploy", dev, outputs_dir=tmp_path / "outputs", **paths) == 0
    capsys.readouterr()
    engine.set("LOCKED", "plan:data-dev")  # another run (a colleague, a CI job) holds data-dev's state
    code = exit_code(runner.perform, "deploy", dev, outputs_dir=tmp_path / "outputs", force=True, **paths)
    assert code == 1
    captured = capsys.readouterr()
    assert "data-dev                 failed" in captured.out
    assert "state locked (OperationTypeApply, lock ID 6f1c2a9e-0b7d-4c1e-9f3a-data-dev)" in captured.out
    assert (
        "data-dev: its state is locked, held by ci@runner-17 for OperationTypeApply since "
        "2026-11-30 23:59:00.123456789 +0000 UTC (" in captured.err
    )
    assert "make unlock ENV=dev STACK=data LOCK_ID=6f1c2a9e-0b7d-4c1e-9f3a-data-dev" in captured.err


def test_state_lock_timeout_is_passed_to_every_locking_step_and_checked(engine, dev, tmp_path, paths, monkeypatch):
    monkeypatch.setenv("STATE_LOCK_TIMEOUT", "45")
    runner.perform("deploy", dev, outputs_dir=tmp_path / "outputs", **paths)
    runner.perform("destroy", dev, outputs_dir=tmp_path / "outputs", confirm="dev", **paths)
    steps = [args for command, _, args in engine.calls() if command in ("plan", "apply")]
    assert len(steps) == 16  # four stacks, each planned and applied by the deploy, then by the destroy
    for args in steps:
        assert "-lock-timeout=45s" in args and "-lock=false" not in args, args
    engine.clear()
    monkeypatch.setenv("STATE_LOCK_TIMEOUT", "5m")
    with pytest.raises(UsageError, match="STATE_LOCK_TIMEOUT='5m': give the seconds"):
        runner.perform("plan", dev, **paths)
    assert engine.calls() == []


def test_unlock_shows_the_lock_and_refuses_another_id(engine, dev, paths, capsys):
    leave_lock(dev)
    with pytest.raises(UsageError, match=f"LOCK_ID=not-it is not the lock on data-dev \\(its ID is {LOCK['ID']}\\)"):
        unlock(dev, "data", "not-it", **paths)
    assert "data-dev: its state is locked, held by someone@laptop for OperationTypeApply" in capsys.readouterr().out
    assert lock_left(dev) and [c for c, _, _ in engine.calls() if c == "force-unlock"] == []


def test_unlock_releases_the_named_lock_through_the_engine(engine, dev, paths, capsys):
    leave_lock(dev)
    assert exit_code(unlock, dev, "data", LOCK["ID"], **paths) == 0
    assert [args for c, _, args in engine.calls() if c == "force-unlock"] == [
        ["force-unlock", "-force", "-no-color", LOCK["ID"]]
    ]
    assert not lock_left(dev)
    assert f"released the state lock {LOCK['ID']} of data-dev" in capsys.readouterr().out


def test_unlock_of_a_state_that_is_not_locked_changes_nothing(engine, dev, paths, capsys):
    assert exit_code(unlock, dev, "compute", "whatever", **paths) == 0
    assert "compute-dev: its state is not locked; nothing to do" in capsys.readouterr().out
    assert [c for c, _, _ in engine.calls() if c == "force-unlock"] == []


def test_unlock_is_refused_while_a_command_of_this_checkout_holds_the_environment(engine, dev, paths):
    leave_lock(dev)
    # A deploy still running in this checkout: another open file description holding the flock.
    (paths["outdir"] / ".locks").mkdir(exist_ok=True)
    holder = os.open(paths["outdir"] / ".locks" / "dev.lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
    try:
        with pytest.raises(UsageError, match="dev is in use by another command in this checkout"):
            unlock(dev, "data", LOCK["ID"], **paths)
    finally:
        os.close(holder)
    assert lock_left(dev)


@pytest.mark.parametrize(("stack", "lock_id"), [(None, "x"), ("data", None), ("data,compute", "x"), ("db", "x")])
def test_unlock_needs_one_stack_and_an_id(engine, dev, paths, stack, lock_id):
    with pytest.raises(UsageError):
        unlock(dev, stack, lock_id, **paths)
    assert engine.calls() == []


def test_a_protected_environment_needs_confirm(engine, state_buckets, paths):
    prod = load_environment("prod")
    with pytest.raises(UsageError, match="prod is protected: releasing a lock on its state needs CONFIRM=prod"):
        unlock(prod, "data", "x", **paths)
    assert engine.calls() == []


@pytest.mark.parametrize("action", ["plan", "drift"])
def test_plans_that_are_never_applied_take_no_state_lock(engine, dev, tmp_path, paths, action):
    assert exit_code(runner.perform, "deploy", dev, outputs_dir=tmp_path / "outputs", **paths) == 0
    engine.set("LOCKED", "plan:data-dev")  # a deploy elsewhere holds data-dev's state: the plan reads past it
    engine.clear()
    assert exit_code(runner.perform, action, dev, outputs_dir=tmp_path / "outputs", **paths) == 0
    plans = [args for command, _, args in engine.calls() if command == "plan"]
    assert len(plans) == 4 and all("-lock=false" in args and "-lock-timeout=300s" not in args for args in plans)
