"""The CI workflow: valid against the published GitHub workflow schema, and shaped as docs/promotion.md says."""

from __future__ import annotations

import subprocess
import sys

import yaml

from shared.paths import ROOT

WORKFLOW = ROOT / ".github/workflows/pipeline.yml"


def validate(path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_workflow_is_valid_against_the_published_schema():
    result = validate(WORKFLOW)
    assert result.returncode == 0, result.stdout + result.stderr


def test_an_invalid_workflow_is_caught(tmp_path):
    broken = yaml.safe_load(WORKFLOW.read_text())
    broken["jobs"]["test"]["runs-on"] = {"group": 3}  # not a runner label
    broken["jobs"]["test"]["timeout-minutes"] = "soon"
    path = tmp_path / "broken.yml"
    path.write_text(yaml.safe_dump(broken))
    assert validate(path).returncode == 1


def test_tests_on_prs_dev_from_main_promotion_through_protected_environments():
    doc = yaml.safe_load(WORKFLOW.read_text())
    jobs = doc["jobs"]
    assert {"pull_request", "push"} <= set(doc[True])  # PyYAML reads the key `on` as True
    assert "bash .ci/run" in [s.get("run") for s in jobs["test"]["steps"]]
    assert "pull_request" in jobs["plan"]["if"] and jobs["plan"]["strategy"]["matrix"]["env"] == [
        "dev",
        "staging",
        "prod",
    ]
    assert "refs/heads/main" in jobs["deploy-dev"]["if"] and jobs["deploy-dev"]["environment"] == "dev"
    assert jobs["promote-staging"]["needs"] == "deploy-dev" and jobs["promote-staging"]["environment"] == "staging"
    assert jobs["promote-prod"]["needs"] == "promote-staging" and jobs["promote-prod"]["environment"] == "prod"
    runs = [s.get("run", "") for s in jobs["promote-prod"]["steps"]]
    assert "make promote FROM=staging TO=prod CONFIRM=prod" in runs


ACTION = ROOT / ".github/actions/setup/action.yml"


def test_the_shared_setup_is_a_valid_composite_action():
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-actions", str(ACTION)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_job_uses_the_one_setup_with_its_caches():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name, job in jobs.items():
        uses = [s.get("uses", "") for s in job["steps"]]
        assert "./.github/actions/setup" in uses, name
        assert not any(u.startswith(("actions/setup-python", "hashicorp/setup-terraform")) for u in uses), name
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "pyproject.toml"
    plugins = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert "hashFiles('.terraform.lock.hcl')" in plugins["with"]["key"]
    assert plugins["with"]["path"] == "~/.cache/streamflix/terraform-plugins"  # shared/ops/engine.py's default


def test_a_scheduled_drift_job_per_environment_fails_on_drift():
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc[True]["schedule"]
    drift = doc["jobs"]["drift"]
    assert "schedule" in drift["if"] and drift["strategy"]["matrix"]["env"] == ["dev", "staging", "prod"]
    assert "make drift ENV=${{ matrix.env }}" in [s.get("run") for s in drift["steps"]]


def _environments_of(job: dict) -> list[str]:
    """The environments a job works on: its matrix, or the one its GitHub environment names."""
    return job.get("strategy", {}).get("matrix", {}).get("env") or [job["environment"]]


def test_every_job_on_an_environment_shares_that_environments_one_concurrency_group():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    touching = {n: j for n, j in jobs.items() if n != "test"}
    assert set(touching) == {"plan", "deploy-dev", "promote-staging", "promote-prod", "drift"}
    groups: dict[str, set[str]] = {}
    for name, job in touching.items():
        concurrency = job["concurrency"]
        assert concurrency["cancel-in-progress"] is False, name  # never cancel an engine mid-apply
        for env in _environments_of(job):
            groups.setdefault(env, set()).add(concurrency["group"].replace("${{ matrix.env }}", env))
    # dev, staging and prod: each has exactly one group, shared by its plans, drift checks and deploys.
    assert groups == {"dev": {"environment-dev"}, "staging": {"environment-staging"}, "prod": {"environment-prod"}}


def test_sessions_last_as_long_as_the_job_and_plans_use_the_read_only_role():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name, job in jobs.items():
        setup = next(s for s in job["steps"] if s.get("uses") == "./.github/actions/setup")
        role = setup.get("with", {}).get("aws-role-arn")
        if name == "test":
            assert role is None  # the tests need no AWS
            continue
        assert int(setup["with"]["aws-session-seconds"]) == job["timeout-minutes"] * 60, name
        read_only = name in ("plan", "drift")
        assert role == ("${{ vars.AWS_PLAN_ROLE_ARN }}" if read_only else "${{ vars.AWS_ROLE_ARN }}"), name
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert credentials["with"]["role-duration-seconds"] == "${{ inputs.aws-session-seconds }}"


def test_a_failed_deploy_or_promotion_keeps_the_errored_state_the_engine_left():
    from shared.workdirs import ERRORED_STATE

    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name in ("deploy-dev", "promote-staging", "promote-prod"):
        upload = next(s for s in jobs[name]["steps"] if s.get("uses", "").startswith("actions/upload-artifact"))
        assert upload["if"] == "failure()", name
        assert upload["with"]["path"] == f"cdktf.out/stacks/*/{ERRORED_STATE}", name
        assert upload["with"]["if-no-files-found"] == "ignore"
