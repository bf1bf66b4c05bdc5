"""One command per environment per checkout: a second one is refused naming the holder, or waits."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from shared.errors import UsageError
from shared.ops.runner import environment_lock
from shared.paths import ROOT


@pytest.fixture
def holder(tmp_path):
    """Another process that holds dev's lock until told to stop (a line on its stdin)."""
    code = (
        "import sys; from shared.ops.runner import environment_lock; "
        f"environment_lock.hold({str(tmp_path)!r}, ['dev'], command='shared.cli deploy --env dev'); "
        "print('held', flush=True); sys.stdin.readline()"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    yield proc
    if proc.poll() is None:
        proc.communicate("\n", timeout=10)


def test_a_second_command_on_the_same_environment_is_refused_naming_the_holder(holder, tmp_path):
    with pytest.raises(UsageError) as exc:
        environment_lock.hold(tmp_path, ["dev"], timeout=0)
    assert f"pid {holder.pid}, `shared.cli deploy --env dev`" in str(exc.value)
    assert "LOCK_TIMEOUT" in str(exc.value) and "nothing was done" in str(exc.value)


def test_other_environments_run_side_by_side(holder, tmp_path):
    environment_lock.hold(tmp_path, ["staging", "prod"], timeout=0)  # does not wait for dev


def test_lock_timeout_waits_for_the_holder_to_finish(holder, tmp_path, monkeypatch):
    monkeypatch.setenv("LOCK_TIMEOUT", "20")
    subprocess.Popen(["sh", "-c", f"sleep 0.4; kill {holder.pid}"])
    started = time.monotonic()
    environment_lock.hold(tmp_path, ["dev"])
    assert time.monotonic() - started >= 0.3  # it waited, then got the lock


def test_a_crashed_holder_leaves_no_lock(tmp_path):
    hold = f"environment_lock.hold({str(tmp_path)!r}, ['dev'])"
    code = f"from shared.ops.runner import environment_lock; {hold}; import os; os._exit(9)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 9
    environment_lock.hold(tmp_path, ["dev"], timeout=0)


@pytest.mark.parametrize("value", ["soon", "-1", "1e9"])
def test_a_bad_lock_timeout_is_a_usage_error(monkeypatch, value):
    monkeypatch.setenv("LOCK_TIMEOUT", value)
    with pytest.raises(UsageError, match="LOCK_TIMEOUT="):
        environment_lock.lock_timeout()
