"""`make emulator` / `make emulator-stop`: moto_server at the environment's endpoint, started once, stopped only
when it is the one this command started."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands import emulator
from tests.support.ports import free_port


@pytest.fixture
def local(tmp_path):
    env = load_environment("local")
    endpoint = f"http://127.0.0.1:{free_port()}"
    return env.model_copy(update={"aws": env.aws.model_copy(update={"endpoint": endpoint})})


def test_start_stop_and_start_again_is_idempotent(local, tmp_path, capsys):
    state = tmp_path / ".emulator"
    try:
        emulator.start(local, state)
        assert emulator.answers(local.aws.endpoint)
        emulator.start(local, state)  # already runs: nothing new is started
        assert "already runs" in capsys.readouterr().out
    finally:
        emulator.stop(local, state)
    assert not emulator.answers(local.aws.endpoint) and not (state / "local.pid").exists()
    emulator.stop(local, state)
    assert "no emulator of ours runs" in capsys.readouterr().out


def test_something_else_at_the_endpoint_is_left_alone(local, tmp_path):
    host_port = local.aws.endpoint.removeprefix("http://").split(":")
    other = subprocess.Popen(
        [sys.executable, "-m", "http.server", host_port[1], "--bind", host_port[0]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if emulator.answers(local.aws.endpoint):
                break
            subprocess.run(["sleep", "0.1"], check=True)
        with pytest.raises(UsageError, match="something else already answers"):
            emulator.start(local, tmp_path)
        (tmp_path / "local.pid").write_text(f"{other.pid}\n")  # a pid file naming a process that is no emulator
        emulator.stop(local, tmp_path)
        assert other.poll() is None  # never killed
    finally:
        os.kill(other.pid, signal.SIGTERM)
        other.wait(timeout=10)


def test_an_environment_without_an_endpoint_has_no_emulator(tmp_path):
    with pytest.raises(UsageError, match="dev is not an emulator environment"):
        emulator.start(load_environment("dev"), tmp_path)
