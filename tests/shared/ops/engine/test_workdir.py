"""A stack's working directory: initialized once for exactly what its init depends on, and an engine step that
fails names the step and what the engine said."""

from __future__ import annotations

import json

import pytest

from shared.ops.engine.discovery import find_engine
from shared.ops.engine.workdir import Stack, StackFailed, initialize, run_step


@pytest.fixture
def stack(tmp_path):
    workdir = tmp_path / "data-dev"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(json.dumps({"terraform": {"required_providers": {}}}))
    return Stack("data", "data-dev", workdir, ())


def test_a_directory_is_initialized_once_until_what_init_depends_on_changes(engine, stack):
    found = find_engine()
    initialize(found, stack)
    initialize(found, stack)
    assert engine.commands("init") == ["data-dev"]
    (stack.workdir / "cdk.tf.json").write_text(json.dumps({"terraform": {"backend": {"s3": {"key": "other"}}}}))
    initialize(found, stack)
    assert engine.commands("init") == ["data-dev", "data-dev"]


def test_a_failed_step_names_itself_and_keeps_what_the_engine_said(engine, stack):
    engine.set("FAIL", "init:data-dev")
    with pytest.raises(StackFailed) as failed:
        initialize(find_engine(), stack)
    assert failed.value.step == "init" and "the fake engine was told to fail" in failed.value.output
    assert run_step(find_engine(), "plan", ["plan"], stack).returncode in (0, 2)
