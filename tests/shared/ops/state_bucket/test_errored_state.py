"""Errored states: recorded beside the state, read back (or refused when they cannot be read), and told to the
user with the exact steps that push them back (moto's bucket; the deploy path: tests/shared/ops/runner/)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.engine.workdir import Stack
from shared.ops.state_bucket import errored_state
from shared.ops.state_bucket.bucket import StateBucket
from shared.ops.state_bucket.errored_state import CiRun, Origin, Record, Stranded
from tests.support.synthesized import variant

CI = {
    "GITHUB_JOB": "promote-prod",
    "GITHUB_RUN_ID": "4242",
    "GITHUB_RUN_ATTEMPT": "2",
    "GITHUB_SERVER_URL": "https://github.example",
    "GITHUB_REPOSITORY": "streamflix/pipeline",
}
WHEN = datetime(2026, 12, 1, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


def data_stack(tmp_path) -> Stack:
    workdir = tmp_path / "cdktf.out/stacks/data-dev"
    workdir.mkdir(parents=True)
    return Stack("data", "data-dev", workdir, ())


def test_under_github_actions_the_artifact_and_the_run_are_named_and_nowhere_else():
    assert errored_state.ci_run(CI) == CiRun(
        "errored-state-promote-prod-4242-2", "https://github.example/streamflix/pipeline/actions/runs/4242"
    )
    assert errored_state.ci_run({}) is None
    assert errored_state.ci_run({"GITHUB_JOB": "deploy-dev"}) is None  # no run: not a job's environment


def test_the_record_says_when_where_which_revision_and_under_ci_which_artifact(tmp_path):
    stack = data_stack(tmp_path)
    record = errored_state.left(stack, "deploy", Origin("runner-7", "a" * 40, errored_state.ci_run(CI)), WHEN)
    assert record == Record(
        stack="data-dev",
        command="deploy",
        recorded_at="2026-12-01T03:04:05Z",
        host="runner-7",
        path=str(stack.workdir / "errored.tfstate"),
        revision="a" * 40,
        artifact="errored-state-promote-prod-4242-2",
        run_url="https://github.example/streamflix/pipeline/actions/runs/4242",
    )
    assert Record.parse(record.body()) == record
    with pytest.raises(ValueError):
        Record.parse(b'{"stack": "data-dev"}')


def test_a_record_lies_beside_the_state_and_reads_back_until_it_is_forgotten(dev, tmp_path):
    record = errored_state.left(data_stack(tmp_path), "destroy", Origin("laptop", "b" * 40), WHEN)
    assert errored_state.read(dev, "data") is None
    errored_state.record(dev, "data", record)
    s3 = boto3.client("s3", region_name="us-east-1")
    assert s3.get_object(Bucket=dev.state.bucket, Key="streamflix/dev/errored/data.json")  # beside fingerprints/
    assert errored_state.read(dev, "data") == record
    errored_state.forget(dev, "data")
    assert errored_state.read(dev, "data") is None


def test_no_bucket_holds_no_record(aws):
    assert errored_state.read(load_environment("dev"), "data") is None  # never bootstrapped: nothing to refuse


class _Denied:
    """The bucket as a role that may neither read nor write there sees it."""

    def _deny(self, **_kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "S3")

    get_object = put_object = _deny


def test_a_record_that_cannot_be_read_refuses_the_stack_and_says_why(dev, tmp_path, monkeypatch):
    stack = data_stack(tmp_path)
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.put_object(Bucket=dev.state.bucket, Key="streamflix/dev/errored/data.json", Body=b"\xff not a record")
    with pytest.raises(UsageError) as refused:
        errored_state.refuse(dev, [stack])
    assert "whether the engine left an errored state of it cannot be told" in str(refused.value)
    assert "s3://streamflix-tfstate-dev/streamflix/dev/errored/data.json is there but unreadable" in str(refused.value)
    monkeypatch.setattr(StateBucket, "_s3", lambda self: _Denied())  # a role that may not read it
    with pytest.raises(UsageError) as refused:
        errored_state.refuse(dev, [stack])
    message = str(refused.value)
    assert "cannot be read (An error occurred (AccessDenied)" in message
    assert "s3:GetObject, and s3:ListBucket on streamflix-tfstate-dev" in message and "Nothing was run." in message


def test_a_stack_with_neither_a_record_nor_a_file_is_not_refused(dev, tmp_path):
    errored_state.refuse(dev, [data_stack(tmp_path)])


# ---------------------------------------------------------------- the steps a user is given


def test_a_file_from_a_ci_run_is_fetched_from_its_artifact_then_pushed(dev, tmp_path):
    stack = data_stack(tmp_path)
    record = errored_state.left(stack, "deploy", Origin("runner-7", "c" * 40, errored_state.ci_run(CI)), WHEN)
    message = errored_state.refusal(dev, [Stranded(stack, record)], here="laptop")
    assert message.startswith(
        "the engine could not save the state of data-dev at the end of a deploy on runner-7 "
        "(2026-12-01T03:04:05Z, revision cccccccccccc)"
    )
    run = "https://github.example/streamflix/pipeline/actions/runs/4242"
    assert f"The workflow keeps the file as the artifact errored-state-promote-prod-4242-2 of {run}." in message
    assert (
        "    gh run download 4242 --name errored-state-promote-prod-4242-2 --dir errored-state-promote-prod-4242-2\n"
        "    make push-state ENV=dev STACK=data FILE=errored-state-promote-prod-4242-2/data-dev/errored.tfstate\n"
    ) in message
    assert message.endswith("Nothing was run.")


def test_a_file_left_on_another_host_is_pushed_there(dev, tmp_path):
    stack = data_stack(tmp_path)
    record = errored_state.left(stack, "deploy", Origin("build-box", "d" * 40), WHEN)
    message = errored_state.refusal(dev, [Stranded(stack, record)], here="laptop")
    assert f"The file was left on build-box, at {record.path}. Push it back there, in that checkout:" in message
    assert f"    make push-state ENV=dev STACK=data FILE={record.path}\n" in message


def test_a_file_on_this_host_is_pushed_from_where_it_is(dev, tmp_path, monkeypatch):
    stack = data_stack(tmp_path)
    (stack.workdir / "errored.tfstate").write_text("{}")
    record = errored_state.left(stack, "deploy", Origin("laptop", "e" * 40), WHEN)
    monkeypatch.chdir(tmp_path)  # make runs in the checkout: the path is shown from there
    shown = "cdktf.out/stacks/data-dev/errored.tfstate"
    for stranded in (Stranded(stack, record), Stranded(stack, None, local=stack.workdir / "errored.tfstate")):
        message = errored_state.refusal(dev, [stranded], here="laptop")
        assert f"The file is {shown}. Push it back: make push-state ENV=dev STACK=data FILE={shown}" in message


def test_the_push_command_carries_a_copys_suffix_a_protected_yes_and_a_path_as_one_word(state_buckets):
    copy = variant(load_environment("dev"), "pr-7")
    assert errored_state.push_command(copy, "data", "x/errored.tfstate") == (
        "make push-state ENV=dev SUFFIX=pr-7 STACK=data FILE=x/errored.tfstate"
    )
    prod = load_environment("prod")
    assert errored_state.push_command(prod, "data", "my files/errored.tfstate") == (
        "make push-state ENV=prod STACK=data FILE='my files/errored.tfstate' CONFIRM=prod"
    )


def test_what_a_failed_apply_tells_names_the_artifact_under_ci_and_says_when_it_could_not_be_recorded(
    dev, tmp_path, monkeypatch
):
    stack = data_stack(tmp_path)
    (stack.workdir / "errored.tfstate").write_text("{}")
    monkeypatch.chdir(tmp_path)
    told = errored_state.left_behind(dev, stack, "deploy", Origin("runner-7", "f" * 40, errored_state.ci_run(CI)), WHEN)
    assert told.startswith(
        "data-dev: the engine could not save its state at the end of this deploy, and left it in "
        "cdktf.out/stacks/data-dev/errored.tfstate"
    )
    assert "Recorded in s3://streamflix-tfstate-dev/streamflix/dev/errored/data.json" in told
    assert "gh run download 4242 --name errored-state-promote-prod-4242-2" in told  # the runner's file goes
    monkeypatch.setattr(StateBucket, "_s3", lambda self: _Denied())  # as when the credentials expired
    told = errored_state.left_behind(dev, stack, "deploy", Origin("laptop", ""), WHEN)
    assert "It could NOT be recorded in s3://streamflix-tfstate-dev/streamflix/dev/errored/data.json" in told
    assert "make push-state ENV=dev STACK=data FILE=cdktf.out/stacks/data-dev/errored.tfstate" in told
    assert errored_state.left_behind(dev, data_stack(tmp_path / "clean"), "deploy", Origin("laptop"), WHEN) == ""


def test_the_path_a_record_names_is_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    relative = Stack("data", "data-dev", Path("cdktf.out/stacks/data-dev"), ())
    assert Path(errored_state.left(relative, "deploy", Origin("h"), WHEN).path).is_absolute()


def test_what_a_record_from_the_bucket_holds_is_quoted_in_the_lines_to_copy(dev, tmp_path):
    """A record is read from the state bucket: whoever can write there must not get a command run by whoever
    copies the advice."""
    stack = data_stack(tmp_path)
    hostile = Record("data-dev", "deploy", "t", "runner", "/x", artifact="a $(touch /tmp/pwned) b", run_url="u/1;id")
    message = errored_state.refusal(dev, [Stranded(stack, hostile)], here="laptop")
    line = next(line for line in message.splitlines() if line.strip().startswith("gh run download"))
    assert line.strip() == "gh run download '1;id' --name 'a $(touch /tmp/pwned) b' --dir 'a $(touch /tmp/pwned) b'"
