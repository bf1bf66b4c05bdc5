"""Promotion: one step forward only; each gate stops it on its own with TO untouched; the happy path records it."""

from __future__ import annotations

import json
import subprocess

import boto3
import pytest

from shared.config import load_environment
from shared.errors import OperationFailed, UsageError
from shared.ops.commands.promote import promote
from shared.ops.runner import run as runner
from shared.ops.state_bucket import releases
from tests.support.exit_code import exit_code
from tests.support.moto_pipeline import create_pipeline


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A throwaway git checkout standing in for this one, so gates read a tree the test controls."""
    root = tmp_path / "repo"
    root.mkdir()
    for args in (["init", "-q"], ["config", "user.email", "ci@example.com"], ["config", "user.name", "CI"]):
        subprocess.run(["git", *args], cwd=root, check=True)
    (root / "README.md").write_text("pipeline\n")
    subprocess.run(["git", "add", "."], cwd=root, check=True)
    subprocess.run(["git", "commit", "-qm", "first"], cwd=root, check=True)
    monkeypatch.setattr(releases, "ROOT", root)
    return root


@pytest.fixture
def world(repo, engine, state_buckets, tmp_path, monkeypatch, presynthesized):
    """dev deployed (engine state, moto resources, release recorded); staging's resources exist for smoke.
    dev's stacks come from the session's synthesis; staging's are stale, so a promotion synthesizes them."""
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "4")
    overrides = {}
    for name in ("dev", "staging"):
        env = load_environment(name)
        for stack, values in create_pipeline(env).items():
            overrides[f"{stack}-{name}"] = values
    (tmp_path / "outputs.json").write_text(json.dumps(overrides))
    engine.set("OUTPUTS", str(tmp_path / "outputs.json"))
    paths = {"outdir": presynthesized(tmp_path / "cdktf.out"), "outputs_dir": tmp_path / "outputs"}
    for stamp in paths["outdir"].glob("stacks/*-staging/.synthesized"):
        stamp.unlink()
    assert exit_code(runner.perform, "deploy", load_environment("dev"), **paths) == 0
    engine.clear()
    return paths


def touched(engine, env: str) -> list[str]:
    return [stack for _, stack, _ in engine.calls() if stack.endswith(f"-{env}")]


def assert_staging_untouched(engine):
    assert touched(engine, "staging") == []
    assert releases.latest(load_environment("staging")) is None


@pytest.mark.parametrize(
    ("source", "target"), [("dev", "prod"), ("staging", "dev"), ("prod", "staging"), ("dev", "dev"), ("qa", "staging")]
)
def test_only_one_step_forward(engine, source, target):
    with pytest.raises(UsageError, match="dev -> staging -> prod"):
        promote(source, target)
    assert engine.calls() == []


def test_happy_path_deploys_smokes_and_records(world, engine, capsys, monkeypatch):
    import shared.app

    synthesized = []
    real = shared.app.synthesize
    monkeypatch.setattr(
        shared.app, "synthesize", lambda envs, outdir: synthesized.append(envs[0].name) or real(envs, outdir)
    )
    assert exit_code(promote, "dev", "staging", **world) == 0
    # dev's stacks are up to date from its deploy (the world), staging's are synthesized once: the
    # gates share FROM's stacks and TO's deploy synthesizes nothing twice.
    assert synthesized == ["staging"]
    out = capsys.readouterr().out
    assert "dev: the synthesized stacks in" in out
    for n in (1, 2, 3, 4):
        assert f"gate {n}:" in out
    assert touched(engine, "dev") and "apply" not in {c for c, s, _ in engine.calls() if s.endswith("-dev")}
    assert [s for s in engine.commands("apply")] == [
        "network-staging",
        "data-staging",
        "compute-staging",
        "monitoring-staging",
    ]
    staged = releases.latest(load_environment("staging"))
    dev_release = releases.latest(load_environment("dev"))
    assert staged.revision == dev_release.revision == releases.current_revision()
    assert staged.image == dev_release.image
    assert "smoke staging:" in out and "promoted" in out


def test_gate_1_dirty_tree_names_what_is_uncommitted(world, engine, repo):
    (repo / "README.md").write_text("changed\n")
    (repo / "scratch.txt").write_text("new\n")
    with pytest.raises(
        OperationFailed, match=r"gate 1: the working tree has uncommitted changes \(README.md, scratch.txt\)"
    ):
        promote("dev", "staging", **world)
    assert engine.calls() == []
    assert_staging_untouched(engine)


def test_gate_2_revision_not_the_one_running_in_source(world, engine, repo):
    (repo / "README.md").write_text("newer\n")
    subprocess.run(["git", "commit", "-qam", "newer"], cwd=repo, check=True)
    with pytest.raises(OperationFailed, match="gate 2: dev runs [0-9a-f]{12} but this checkout is"):
        promote("dev", "staging", **world)
    assert_staging_untouched(engine)


def test_gate_2_source_deployed_from_a_dirty_tree(world, engine, repo):
    (repo / "notes.txt").write_text("scratch\n")
    assert exit_code(runner.perform, "deploy", load_environment("dev"), **world) == 0  # records the dirty deploy
    (repo / "notes.txt").unlink()
    engine.clear()
    with pytest.raises(OperationFailed, match="gate 2: dev runs [0-9a-f]{12} plus uncommitted changes"):
        promote("dev", "staging", **world)
    assert_staging_untouched(engine)


def test_gate_2_nothing_recorded(repo, engine, state_buckets, tmp_path):
    with pytest.raises(
        OperationFailed, match=r"gate 2: nothing is recorded as running in dev \(never deployed, or destroyed\)"
    ):
        promote("dev", "staging", outdir=tmp_path / "cdktf.out")  # never the checkout's: other workers lock it
    assert_staging_untouched(engine)


def test_gate_3_drift_in_source(world, engine):
    engine.set("DRIFT", "compute-dev")
    with pytest.raises(OperationFailed, match="gate 3: dev has drifted"):
        promote("dev", "staging", **world)
    assert touched(engine, "dev") and engine.commands("apply") == []
    assert_staging_untouched(engine)


def test_gate_4_smoke_fails_in_source(world, engine):
    boto3.client("cloudwatch", region_name="us-east-1").delete_alarms(AlarmNames=["streamflix-dlq-messages-dev"])
    with pytest.raises(OperationFailed, match="gate 4: smoke failed in dev"):
        promote("dev", "staging", **world)
    assert_staging_untouched(engine)


def test_prod_needs_its_confirmation_before_any_gate(repo, engine, state_buckets, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="CONFIRM=prod"):
        promote("staging", "prod", outdir=tmp_path / "cdktf.out")
    assert engine.calls() == []


def test_the_deploy_step_is_guarded_and_takes_allow_replace(world, engine):
    assert exit_code(promote, "dev", "staging", **world) == 0
    engine.set("CHANGES", json.dumps({"data-staging": [["aws_sqs_queue.dlq", ["delete", "create"], [["name"]]]]}))
    engine.clear()
    with pytest.raises(UsageError, match="refusing to apply data-staging") as refused:
        promote("dev", "staging", force=True, **world)  # the stand-in's plan changed, not the code
    assert "ALLOW_REPLACE=data:aws_sqs_queue.dlq" in str(refused.value)
    assert [s for s in engine.commands("apply") if s.endswith("-staging")] == []
    engine.clear()
    assert exit_code(promote, "dev", "staging", allow_replace="data:aws_sqs_queue.dlq", force=True, **world) == 0
    assert "data-staging" in engine.commands("apply")


def test_a_promotion_deploys_only_what_changed_in_to(world, engine, capsys):
    if not engine.served:
        pytest.skip("the Python stand-in run as a process writes no state objects to moto (no C compiler here)")
    assert exit_code(promote, "dev", "staging", **world) == 0
    engine.clear()
    capsys.readouterr()
    assert exit_code(promote, "dev", "staging", **world) == 0  # the same revision and image again
    assert [s for s in engine.commands("plan") if s.endswith("-staging")] == []
    assert capsys.readouterr().out.count("unchanged since ") == 4


def test_a_malformed_allowance_stops_a_promotion_before_any_gate(world, engine):
    with pytest.raises(UsageError, match="ALLOW_REPLACE=data:dlq: 'data:dlq' is not <stack>:<address>"):
        promote("dev", "staging", allow_replace="data:dlq", **world)
    assert engine.calls() == []


def test_a_stack_of_to_whose_state_was_not_saved_is_refused_before_the_engine_runs_on_it(world, engine):
    from datetime import UTC, datetime

    from shared.ops.engine.workdir import Stack
    from shared.ops.state_bucket import errored_state

    staging = load_environment("staging")
    compute = Stack("compute", "compute-staging", world["outdir"] / "stacks/compute-staging", ())
    origin = errored_state.Origin("runner-3", "a" * 40, errored_state.CiRun("errored-state-x-1-1", "https://ci/1"))
    errored_state.record(staging, "compute", errored_state.left(compute, "deploy", origin, datetime.now(UTC)))
    with pytest.raises(UsageError, match="could not save the state of compute-staging at the end of a deploy"):
        promote("dev", "staging", **world)
    assert_staging_untouched(engine)
