"""`make releases`: what runs where, a record that is not one named."""

from __future__ import annotations

import boto3
import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands.releases import show as show_releases
from shared.ops.state_bucket import releases


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


def test_a_record_that_is_not_one_is_named(dev, capsys):
    key = f"{dev.state.key_prefix}/dev/releases/20260101T000000000000Z-junk.json"
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=dev.state.bucket, Key=key, Body=b"\xff{not json")
    with pytest.raises(UsageError, match=f"s3://{dev.state.bucket}/{key} is not a release record"):
        releases.history(dev)
    with pytest.raises(UsageError, match="is not a release record"):
        show_releases([dev])


def test_with_env_the_history_follows_newest_first(dev, capsys, monkeypatch):
    monkeypatch.setattr("shared.ops.commands.releases.check_credentials", lambda env: {})
    for revision in ("a" * 40, "b" * 40):
        releases.record(dev, deployed_by="ci", revision=revision, image="repo/worker:1")
    releases.record_destroyed(dev, destroyed_by="me")
    capsys.readouterr()
    show_releases([dev])
    current, _, earlier = capsys.readouterr().out.partition("before that in dev")
    assert "(destroyed)" in current and "a" * 12 not in current
    assert earlier.index("b" * 12) < earlier.index("a" * 12), earlier  # newest first
    show_releases([dev], named=False)  # every environment: no history
    assert "before that" not in capsys.readouterr().out


def test_an_emulator_that_is_not_running_is_a_row_not_an_error_unless_named(capsys):
    local = load_environment("local")
    down = local.model_copy(update={"aws": local.aws.model_copy(update={"endpoint": "http://127.0.0.1:9"})})
    show_releases([down], named=False)  # as plan and drift skip it
    assert "(its emulator is not running)" in capsys.readouterr().out
    with pytest.raises(UsageError, match="the emulator of local does not answer at http://127.0.0.1:9"):
        show_releases([down])
