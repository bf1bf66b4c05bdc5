"""The runner's tests share one world: dev's state buckets in moto, its stacks synthesized, a command run
through the runner as the command line runs it."""

from __future__ import annotations

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
