"""`make push-state`: the errored.tfstate an apply left goes back through the engine's `state push`, and only
then does the refusal of the stack lift (the engine stand-in and moto's bucket)."""

from __future__ import annotations

import json
import shutil

import boto3
import pytest

from shared.cli import main
from shared.config import load_environment
from shared.errors import OperationFailed, UsageError
from shared.ops.commands.push_state import push_state
from shared.ops.runner import run as runner
from shared.ops.state_bucket import errored_state, state_lock
from tests.support.exit_code import exit_code


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


@pytest.fixture
def paths(tmp_path, presynthesized):
    return {"outdir": presynthesized(tmp_path / "cdktf.out")}


@pytest.fixture
def stranded(engine, dev, tmp_path, paths):
    """data-dev's apply could not save its state: errored.tfstate in its working directory, and the record."""
    engine.set("ERRORED", "apply:data-dev")
    assert exit_code(runner.perform, "deploy", dev, outputs_dir=tmp_path / "outputs", **paths) == 1
    engine.set("ERRORED", None)
    engine.clear()
    left = paths["outdir"] / "stacks/data-dev/errored.tfstate"
    assert left.is_file() and errored_state.read(dev, "data") is not None
    return left


def test_the_file_is_pushed_then_the_record_and_the_file_go_and_the_stack_deploys_again(
    engine, dev, tmp_path, paths, stranded, capsys
):
    assert exit_code(push_state, dev, "data", str(stranded), **paths) == 0
    (push,) = [(stack, args) for command, stack, args in engine.calls() if command == "state"]
    assert push == ("data-dev", ["state", "push", "-no-color", "-lock-timeout=300s", str(stranded)])  # never -force
    assert json.loads((engine.state / "data-dev.json").read_text())  # the engine holds what the file held
    assert errored_state.read(dev, "data") is None and not stranded.exists()
    out = capsys.readouterr().out
    assert "data-dev: its errored state is recorded from a deploy on" in out
    assert f"pushed {stranded} as the state of data-dev" in out and f"removed {stranded}" in out
    engine.clear()
    capsys.readouterr()
    assert exit_code(runner.perform, "deploy", dev, outputs_dir=tmp_path / "outputs", **paths) == 0
    assert "data-dev" in engine.commands("plan")  # no fingerprint: planned against the state pushed back
    assert "data-dev                 no changes" in capsys.readouterr().out  # it holds what that apply made


def test_a_file_downloaded_in_another_checkout_is_pushed_from_there(engine, dev, tmp_path, stranded, presynthesized):
    other = presynthesized(tmp_path / "other" / "cdktf.out")  # the record refuses this checkout
    with pytest.raises(UsageError, match="could not save the state of data-dev"):
        runner.perform("plan", dev, outdir=other, outputs_dir=tmp_path / "other/outputs")
    downloaded = tmp_path / "download" / "data-dev" / "errored.tfstate"  # as the artifact unpacks
    downloaded.parent.mkdir(parents=True)
    shutil.move(stranded, downloaded)
    assert exit_code(push_state, dev, "data", str(downloaded), outdir=other) == 0
    assert errored_state.read(dev, "data") is None
    assert exit_code(runner.perform, "plan", dev, outdir=other, outputs_dir=tmp_path / "other/outputs") == 0


def test_a_push_the_engine_refuses_keeps_the_record_and_the_file_and_shows_why(engine, dev, paths, stranded):
    engine.set("FAIL", "state:data-dev")  # another lineage, an older serial, the bucket unreachable
    with pytest.raises(OperationFailed) as failed:
        push_state(dev, "data", str(stranded), **paths)
    assert f"the engine could not push {stranded} as the state of data-dev" in str(failed.value)
    assert "the fake engine was told to fail" in str(failed.value)  # the engine's own error
    assert errored_state.read(dev, "data") is not None and stranded.is_file()
    with pytest.raises(UsageError, match="could not save the state of data-dev"):
        runner.perform("plan", dev, **paths)  # still refused


def test_a_file_that_is_not_a_state_is_not_pushed(engine, dev, paths, stranded, tmp_path):
    junk = tmp_path / "junk.tfstate"
    junk.write_text('{"version": 4}')
    with pytest.raises(OperationFailed, match="Failed to load state"):
        push_state(dev, "data", str(junk), **paths)
    assert errored_state.read(dev, "data") is not None and stranded.is_file()


LOCK = {"ID": "9f1d-left-by-the-errored-run", "Operation": "OperationTypeApply", "Who": "ci@runner-7", "Created": ""}


def test_the_lock_the_errored_run_left_is_named_then_released_with_the_push(engine, dev, paths, stranded):
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=dev.state.bucket, Key=state_lock.lock_object_key(dev, "data"), Body=json.dumps(LOCK).encode())
    with pytest.raises(UsageError) as refused:
        push_state(dev, "data", str(stranded), **paths)
    message = str(refused.value)
    assert "the state of data-dev is locked" in message
    assert f"make push-state ENV=dev STACK=data FILE={stranded} LOCK_ID={LOCK['ID']}" in message
    with pytest.raises(UsageError, match=f"LOCK_ID=another is not the lock on data-dev \\(its ID is {LOCK['ID']}\\)"):
        push_state(dev, "data", str(stranded), lock_id="another", **paths)
    assert [c for c, _, _ in engine.calls() if c in ("state", "force-unlock")] == []  # nothing done yet
    assert exit_code(push_state, dev, "data", str(stranded), lock_id=LOCK["ID"], **paths) == 0
    assert [c for c, _, _ in engine.calls() if c in ("state", "force-unlock")] == ["force-unlock", "state"]
    assert state_lock.read(dev, "data") is None and errored_state.read(dev, "data") is None


def test_unlock_of_a_stack_with_an_errored_state_is_refused(engine, dev, paths, stranded):
    from shared.ops.commands.unlock import unlock

    with pytest.raises(UsageError, match="could not save the state of data-dev"):
        unlock(dev, "data", "whatever", **paths)
    assert [c for c, _, _ in engine.calls() if c == "force-unlock"] == []


@pytest.mark.parametrize(
    ("stack", "file", "message"),
    [
        (None, "x", "STACK=<one stack> FILE=<path to errored.tfstate>"),
        ("data,compute", "x", "STACK=<one stack>"),
        ("data", None, "FILE=<path to errored.tfstate>"),
        ("data", "nowhere/errored.tfstate", "FILE=nowhere/errored.tfstate: there is no such file; nothing was pushed"),
    ],
)
def test_push_state_needs_one_stack_and_a_file(engine, dev, paths, stack, file, message):
    with pytest.raises(UsageError, match=message.replace("[", "\\[").replace("(", "\\(")):
        push_state(dev, stack, file, **paths)
    assert engine.calls() == []


def test_a_protected_environment_needs_its_confirmation(engine, state_buckets, paths, tmp_path):
    file = tmp_path / "errored.tfstate"
    file.write_text("{}")
    with pytest.raises(UsageError, match="prod is protected: pushing a state into it needs CONFIRM=prod"):
        push_state(load_environment("prod"), "data", str(file), **paths)
    assert engine.calls() == []


def test_the_command_line_takes_stack_file_and_lock_id(engine, dev, tmp_path, paths, stranded, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where make runs (its cdktf.out is paths["outdir"]): FILE= is relative to it
    file = "cdktf.out/stacks/data-dev/errored.tfstate"
    assert main(["push-state", "--env", "dev", "--stack", "data", "--file", file, "--lock-id", "x"]) == 0
    assert errored_state.read(dev, "data") is None and not (tmp_path / file).exists()


def test_an_environment_its_state_location_records_as_protected_needs_confirmation(engine, dev, paths, stranded):
    from shared.ops.state_bucket import protection
    from tests.support.moto_pipeline import mocked_client

    doc = {"protected": True, "environment": "dev", "changed_by": "arn:test", "changed_at": "t"}
    mocked_client("s3", dev.state_region).put_object(
        Bucket=dev.state.bucket, Key=protection.key(dev), Body=json.dumps(doc).encode()
    )
    with pytest.raises(UsageError, match="dev is protected: pushing a state into it needs CONFIRM=dev"):
        push_state(dev, "data", str(stranded), **paths)
    assert [c for c, _, _ in engine.calls() if c == "state"] == [] and stranded.is_file()


def test_a_push_forgets_the_fingerprint_so_the_next_deploy_plans_the_stack(engine, dev, paths, stranded):
    from shared.ops.state_bucket import fingerprint

    fingerprint.record(dev, "data", fingerprint.Fingerprint("d" * 64, {}), "r" * 40)  # as a skipped deploy would
    assert exit_code(push_state, dev, "data", str(stranded), **paths) == 0
    assert fingerprint.recorded(dev, "data") is None
