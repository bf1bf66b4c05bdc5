"""The runner's tests share one world: dev's state buckets in moto, its stacks synthesized, a command run
through the runner as the command line runs it."""

from __future__ import annotations

import hashlib

import pytest

from shared.config import load_environment
from shared.ops.runner import run as runner
from tests.support.exit_code import exit_code


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


@pytest.fixture
def run(tmp_path, presynthesized):
    presynthesized(tmp_path / "cdktf.out")  # what is tested here starts after synthesis

    def go(action, env, **kw):
        return exit_code(
            runner.perform, action, env, outdir=tmp_path / "cdktf.out", outputs_dir=tmp_path / "outputs", **kw
        )

    return go


@pytest.fixture
def dev_deployed(engine, dev, run, session_world, capsys):
    """dev as a first deploy through the runner leaves it (built once per session, restored for each test:
    tests/support/worlds.py), the engine's log and the captured output empty: for the tests whose subject comes
    after a deploy."""
    key = "dev deployed " + hashlib.sha256(dev.model_dump_json().encode()).hexdigest()
    session_world(key, lambda: run("deploy", dev) == 0 or pytest.fail("the deploy of dev failed"))
    engine.clear()
    capsys.readouterr()
