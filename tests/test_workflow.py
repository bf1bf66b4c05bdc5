"""The CI workflow: valid against the published GitHub workflow schema, clean for actionlint and zizmor, and
shaped as docs/promotion.md says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from shared.paths import ROOT

WORKFLOW = ROOT / ".github/workflows/pipeline.yml"
SETUP = "$/.github/actions/setup"  # the self-repository form: loaded from this commit, never from the disk


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
    # A promotion waits for its approval only once this revision's plan of its target is in the run's summary.
    assert jobs["promote-staging"]["needs"] == ["deploy-dev", "plan-for-approval"]
    assert jobs["promote-prod"]["needs"] == ["promote-staging", "plan-for-approval"]
    assert jobs["promote-staging"]["environment"] == "staging" and jobs["promote-prod"]["environment"] == "prod"
    review = jobs["plan-for-approval"]
    assert "refs/heads/main" in review["if"] and review["strategy"]["matrix"]["env"] == ["staging", "prod"]
    assert "make plan ENV=${{ matrix.env }}" in [s.get("run") for s in review["steps"]]
    assert [s.get("run", "") for s in jobs["promote-staging"]["steps"]].count(
        "make promote FROM=dev TO=staging CONFIRM=staging"
    ) == 1
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
        assert SETUP in uses, name
        assert not any(u.startswith(("actions/setup-python", "hashicorp/setup-terraform")) for u in uses), name
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    python = next(s for s in steps if s.get("uses", "").startswith("actions/setup-python"))
    assert python["with"]["cache"] == "pip" and python["with"]["cache-dependency-path"] == "pyproject.toml"
    plugins = next(s for s in steps if s.get("uses", "").startswith("actions/cache"))
    assert "hashFiles('.terraform.lock.hcl')" in plugins["with"]["key"]
    assert (
        plugins["with"]["path"] == "~/.cache/streamflix/terraform-plugins"
    )  # shared/ops/engine/providers.py's default


def test_a_scheduled_drift_job_per_environment_fails_on_drift():
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert doc[True]["schedule"]
    drift = doc["jobs"]["drift"]
    assert "schedule" in drift["if"] and drift["strategy"]["matrix"]["env"] == ["dev", "staging", "prod"]
    assert "make drift ENV=${{ matrix.env }}" in [s.get("run") for s in drift["steps"]]


def _environments_of(job: dict) -> list[str]:
    """The environments a job works on: its matrix, or the one its GitHub environment names."""
    return job.get("strategy", {}).get("matrix", {}).get("env") or [job["environment"]]


def _group(job: dict, env: str) -> str:
    return job["concurrency"]["group"].replace("${{ matrix.env }}", env)


def test_deploys_and_promotions_of_an_environment_share_its_one_group_and_nothing_else_joins_it():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    applying = {"deploy-dev": "dev", "promote-staging": "staging", "promote-prod": "prod"}
    for name, env in applying.items():
        assert _group(jobs[name], env) == f"environment-{env}", name
        assert jobs[name]["concurrency"]["cancel-in-progress"] is False, name  # never cancel an engine mid-apply
    # GitHub cancels the older pending job of a group when another queues: a plan or drift check in a
    # deploy's group would cancel a promotion waiting for its approval. Theirs are their own.
    for name in ("plan", "drift"):
        for env in _environments_of(jobs[name]):
            assert not _group(jobs[name], env).startswith("environment-"), name
    assert {name for name, job in jobs.items() if "concurrency" in job} == {*applying, "plan", "drift"}


def test_a_pull_requests_plans_replace_only_its_own_and_the_drift_check_waits_for_its_own():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    plan, drift = jobs["plan"], jobs["drift"]
    assert plan["concurrency"]["group"] == "plan-${{ matrix.env }}-${{ github.event.pull_request.number }}"
    assert plan["concurrency"]["cancel-in-progress"] is True  # a plan applies nothing and holds no lock
    assert drift["concurrency"] == {"group": "drift-${{ matrix.env }}", "cancel-in-progress": False}
    # Neither takes the engine's state lock: a deploy's apply never waits for them, nor fails on them.
    assert "make plan ENV=${{ matrix.env }}" in [s.get("run") for s in plan["steps"]]
    assert "make drift ENV=${{ matrix.env }}" in [s.get("run") for s in drift["steps"]]


def test_sessions_last_as_long_as_the_job_and_plans_use_the_read_only_role():
    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name, job in jobs.items():
        setup = next(s for s in job["steps"] if s.get("uses") == SETUP)
        role = setup.get("with", {}).get("aws-role-arn")
        if name == "test":
            assert role is None  # the tests need no AWS
            continue
        assert int(setup["with"]["aws-session-seconds"]) == job["timeout-minutes"] * 60, name
        read_only = name in ("plan", "drift", "plan-for-approval")
        assert role.endswith("-plan-${{ matrix.env }}" if read_only else f"-deploy-{job['environment']}"), name
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    credentials = next(s for s in steps if s.get("uses", "").startswith("aws-actions/configure-aws-credentials"))
    assert credentials["with"]["role-duration-seconds"] == "${{ inputs.aws-session-seconds }}"


def test_a_deploy_or_promotion_that_fails_times_out_or_is_cancelled_keeps_the_errored_state():
    from shared.workdirs import ERRORED_STATE

    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    uploads = []
    for name in ("deploy-dev", "promote-staging", "promote-prod"):
        steps = jobs[name]["steps"]
        upload = next(s for s in steps if s.get("uses", "").startswith("actions/upload-artifact@"))
        assert steps[-1] is upload, name  # after everything that can leave one
        # A job that times out is cancelled: failure() alone is false then, and the file would be lost.
        assert upload["if"] == "failure() || cancelled()", name
        assert upload["with"]["path"] == f"cdktf.out/stacks/*/{ERRORED_STATE}", name
        assert upload["with"]["if-no-files-found"] == "ignore" and upload["with"]["retention-days"] == 30  # as told
        uploads.append(upload)
    assert uploads[0] == uploads[1] == uploads[2]  # one step, written out three times (no YAML anchors)


def test_the_artifact_is_named_as_the_tool_records_it_beside_the_state():
    from shared.ops.state_bucket.errored_state import ci_run

    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name in ("deploy-dev", "promote-staging", "promote-prod"):
        upload = next(s for s in jobs[name]["steps"] if s.get("uses", "").startswith("actions/upload-artifact@"))
        github = {"github.job": name, "github.run_id": "4242", "github.run_attempt": "2"}  # as the runner sets them
        named = re.sub(r"\$\{\{\s*([\w.]+)\s*\}\}", lambda m, github=github: github[m[1]], upload["with"]["name"])
        runner = {"GITHUB_JOB": name, "GITHUB_RUN_ID": "4242", "GITHUB_RUN_ATTEMPT": "2"}
        assert named == ci_run(runner).artifact, name


# ---------------------------------------------------------------- actionlint and zizmor


def _tool(name: str) -> str:
    """A linter of the `dev` extra, installed beside this Python."""
    path = Path(sys.executable).with_name(name)
    assert path.is_file(), f"{name} is not installed: pip install -e '.[dev]' (pyproject.toml pins it)"
    return str(path)


def actionlint(*paths: Path) -> subprocess.CompletedProcess:
    # shellcheck and pyflakes are left out: the project does not install them, and a check must say the
    # same on every machine.
    args = [_tool("actionlint"), "-no-color", "-oneline", "-shellcheck=", "-pyflakes=", *map(str, paths)]
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def zizmor(path: Path) -> tuple[int, list[dict]]:
    """zizmor's exit code and its findings; offline: no audit reaches GitHub."""
    args = [_tool("zizmor"), "--offline", "--no-progress", "--format", "json", str(path)]
    result = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.stdout.strip(), result.stderr  # it ran and reported (an empty list when it found nothing)
    return result.returncode, json.loads(result.stdout)


def test_actionlint_finds_nothing_in_the_workflows():
    result = actionlint(*sorted((ROOT / ".github/workflows").glob("*.yml")))
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing_in_the_workflows_and_the_setup():
    code, findings = zizmor(ROOT / ".github")
    shown = [(f["ident"], f["locations"][0]["symbolic"].get("annotation")) for f in findings]
    assert code == 0 and findings == [], shown


BAD_WORKFLOW = """\
on: pull_request_target
jobs:
  build:
    runs-on: ubuntu-latest
    needs: nowhere
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: echo "${{ github.event.pull_request.title }}"
"""


def test_actionlint_flags_a_workflow_that_is_wrong(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    result = actionlint(bad)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[job-needs]" in result.stdout  # a job that does not exist
    assert '"github.event.pull_request.title" is potentially untrusted' in result.stdout


def test_zizmor_flags_a_workflow_that_is_unsafe(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_text(BAD_WORKFLOW)
    code, findings = zizmor(bad)
    assert code != 0
    assert {"dangerous-triggers", "template-injection", "unpinned-uses", "artipacked"} <= {f["ident"] for f in findings}


def test_each_job_assumes_the_role_bootstrap_made_for_its_github_environment_within_its_session(configs):
    # The role a job names, the GitHub environment its trust requires and the session it may last all come from
    # the environment's configuration (shared/access/roles.py): a suffix or session changed there fails here.
    from shared.access.roles import role_specs

    jobs = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    for name, job in jobs.items():
        setup = next(s for s in job["steps"] if s.get("uses") == SETUP)
        if "aws-role-arn" not in setup.get("with", {}):
            continue
        for env in _environments_of(job):
            github_environment = job["environment"].replace("${{ matrix.env }}", env)
            arn = setup["with"]["aws-role-arn"].replace("${{ matrix.env }}", env)
            (spec,) = [s for s in role_specs(configs[env]) if s.github_environment == github_environment]
            assert arn == f"arn:aws:iam::${{{{ vars.AWS_ACCOUNT_ID }}}}:role/{spec.name}", (name, env)
            assert int(setup["with"]["aws-session-seconds"]) <= spec.session_seconds, (name, env)


COMMENT = ROOT / ".github/scripts/plan-comment.sh"
# A stand-in for the gh CLI: logs each call's arguments (NUL after each, RS after a call), and answers the
# comment search with FAKE_GH_FOUND (the id of this environment's earlier comment, or nothing).
FAKE_GH = """#!/usr/bin/env bash
printf '%s\\0' "$@" >> "$FAKE_GH_LOG"; printf '\\036' >> "$FAKE_GH_LOG"
if [ -n "${FAKE_GH_COMMENTS:-}" ]; then  # run the script's own filter on these comments, as gh would
  for a in "$@"; do [ "${next:-}" = 1 ] && filter="$a"; next=0; [ "$a" = --jq ] && next=1; done
  [ -n "${filter:-}" ] && jq -r "$filter" <<< "$FAKE_GH_COMMENTS"
  exit 0
fi
case " $* " in *" --jq "*) [ -n "$FAKE_GH_FOUND" ] && echo "$FAKE_GH_FOUND" ;; esac
exit 0
"""


def post_plan(tmp_path, report: str, found: str = "", comments: list | None = None) -> list[list[str]]:
    import os

    (tmp_path / "bin").mkdir(exist_ok=True)
    gh = tmp_path / "bin" / "gh"
    gh.write_text(FAKE_GH)
    gh.chmod(0o755)
    (tmp_path / "dev-plan.md").write_text(report)
    log = tmp_path / "gh.log"
    log.write_text("")
    variables = dict(
        os.environ,
        PATH=f"{tmp_path / 'bin'}:{os.environ['PATH']}",
        FAKE_GH_LOG=str(log),
        FAKE_GH_FOUND=found,
        FAKE_GH_COMMENTS=json.dumps(comments) if comments is not None else "",
        GITHUB_REPOSITORY="streamflix/infra",
        PR_NUMBER="42",
        GH_TOKEN="token",
    )
    subprocess.run(["bash", str(COMMENT), "dev", str(tmp_path / "dev-plan.md")], env=variables, check=True)
    return [call.split("\0")[:-1] for call in log.read_text().split("\x1e") if call]


def test_a_pull_request_gets_one_plan_comment_per_environment_posted_then_replaced(tmp_path):
    (search, post) = post_plan(tmp_path, "### plan dev\n")
    assert search[:3] == ["api", "--paginate", "repos/streamflix/infra/issues/42/comments"]
    assert 'startswith("<!-- streamflix-plan:dev -->")' in search[-1]
    assert '.user.login == "github-actions[bot]"' in search[-1]  # a marker someone else posted is not ours
    assert post[:4] == ["api", "--method", "POST", "repos/streamflix/infra/issues/42/comments"]
    assert post[-1] == "body=<!-- streamflix-plan:dev -->\n### plan dev"
    (_, patch) = post_plan(tmp_path, "### plan dev, again\n", found="777")
    assert patch[:4] == ["api", "--method", "PATCH", "repos/streamflix/infra/issues/comments/777"]
    assert patch[-1].endswith("### plan dev, again")


def test_a_plan_too_long_for_a_comment_is_cut_and_says_where_the_rest_is(tmp_path):
    (_, post) = post_plan(tmp_path, "x" * 70_000)
    body = post[-1].removeprefix("body=")
    assert len(body) < 65_536 and body.endswith("… cut here: the whole report is in this job's summary.")


def test_the_plan_job_may_comment_on_its_pull_request_and_nothing_more():
    plan = yaml.safe_load(WORKFLOW.read_text())["jobs"]["plan"]
    assert plan["permissions"] == {"contents": "read", "id-token": "write", "pull-requests": "write"}
    (post,) = [s for s in plan["steps"] if "plan-comment.sh" in s.get("run", "")]
    assert post["run"] == 'bash .github/scripts/plan-comment.sh "$ENV_NAME" "reports/$ENV_NAME-plan.md"'
    assert "always()" in post["if"] and "head.repo.full_name == github.repository" in post["if"]
    assert post["env"]["PR_NUMBER"] == "${{ github.event.pull_request.number }}"  # never pasted into the script
    others = yaml.safe_load(WORKFLOW.read_text())["jobs"]
    assert [n for n, j in others.items() if "pull-requests" in j.get("permissions", {})] == ["plan"]


def test_only_the_workflows_own_marked_comment_is_replaced(tmp_path):
    import shutil

    if shutil.which("jq") is None:
        pytest.skip("jq is not installed: the script's filter cannot be run here")
    marker = "<!-- streamflix-plan:dev -->"
    comments = [
        {"id": 1, "user": {"login": "mallory"}, "body": f"{marker}\nplan dev: no changes (trust me)"},
        {"id": 2, "user": {"login": "github-actions[bot]"}, "body": "<!-- streamflix-plan:prod -->\nplan prod"},
        {"id": 3, "user": {"login": "github-actions[bot]"}, "body": f"{marker}\nplan dev"},
        {"id": 4, "user": {"login": "github-actions[bot]"}, "body": f"{marker}\nplan dev, a stray copy"},
    ]
    (_, patch) = post_plan(tmp_path, "### plan dev\n", comments=comments)
    assert patch[:4] == ["api", "--method", "PATCH", "repos/streamflix/infra/issues/comments/3"]
    (_, post) = post_plan(tmp_path, "### plan dev\n", comments=comments[:2])  # only someone else's: a new one
    assert post[:3] == ["api", "--method", "POST"]
