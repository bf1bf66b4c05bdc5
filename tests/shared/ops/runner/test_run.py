"""The runner's loop against the engine stand-in: order, exact plan files, failure, parallel read-only work,
reports, errored states, saved plans."""

from __future__ import annotations

import json
import re
import shutil

import pytest

from shared.cli import main
from shared.errors import UsageError
from shared.ops.runner import run as runner
from shared.ops.state_bucket import releases
from tests.support.synthesized import variant

ORDER = ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]


CI = {"GITHUB_JOB": "deploy-dev", "GITHUB_RUN_ID": "777", "GITHUB_RUN_ATTEMPT": "1"}


def test_deploy_plans_to_a_file_and_applies_exactly_that_file_in_dependency_order(engine, dev, run, capsys):
    assert run("deploy", dev) == 0
    calls = [c for c in engine.calls() if c[0] in ("init", "plan", "show", "apply")]
    per_stack = [(cmd, stack) for cmd, stack, _ in calls]
    expected = [("init", stack) for stack in ORDER]  # every stack's providers installed before the first plan
    for stack in ORDER:
        expected += [("plan", stack), ("show", stack), ("apply", stack)]
    assert per_stack[: len(expected)] == expected
    for cmd, stack, args in calls:
        if cmd == "plan":
            assert f"-out={stack}.tfplan" in args and "-detailed-exitcode" in args
        if cmd == "apply":
            assert args[-1] == f"{stack}.tfplan"  # the saved plan, nothing else
    out = capsys.readouterr().out
    assert "network-dev              applied     +" in out
    assert "monitoring-dev           applied" in out


def test_plan_summary_counts_what_would_change_and_applies_nothing(engine, dev, run, capsys, tmp_path):
    assert run("plan", dev) == 0
    assert engine.commands("apply") == []
    out = capsys.readouterr().out
    resources = json.loads((tmp_path / "cdktf.out/stacks/network-dev/cdk.tf.json").read_text())["resource"]
    count = sum(len(v) for v in resources.values())
    assert f"network-dev              planned     +{count} ~0 -0" in out


def test_each_working_directory_is_initialized_once_until_what_init_depends_on_changes(engine, dev, run, tmp_path):
    run("deploy", dev)
    assert engine.commands("init") == ORDER  # once per stack, though outputs are read after the applies
    engine.clear()
    run("plan", dev)
    run("drift", dev)
    assert engine.commands("init") == []  # kept directories, nothing changed: no init
    stacks = tmp_path / "cdktf.out/stacks"
    # The directory is lost, a pinned build changes, the plugin cache is emptied under it: each one
    # initializes that stack again, and only that one.
    shutil.rmtree(stacks / "compute-dev/.terraform")
    (stacks / "monitoring-dev/.terraform.lock.hcl").write_text('provider "registry.terraform.io/hashicorp/aws" {}\n')
    cache = tmp_path / "plugin-cache"
    cache.mkdir()
    (cache / "provider").write_text("binary")
    (stacks / "network-dev/.terraform/providers").mkdir()
    (stacks / "network-dev/.terraform/providers/aws").symlink_to(cache / "provider")
    (cache / "provider").unlink()
    engine.clear()
    run("drift", dev)
    assert sorted(engine.commands("init")) == ["compute-dev", "monitoring-dev", "network-dev"]
    # The backend changes (another state bucket): every stack is initialized for it.
    engine.clear()
    run("drift", variant(dev, "dev", state__bucket="streamflix-tfstate-moved"))
    assert sorted(engine.commands("init")) == sorted(ORDER)


def test_a_failing_stack_stops_the_run_and_a_rerun_picks_up_from_there(engine, dev, run, capsys):
    engine.set("FAIL", "apply:compute-dev")
    assert run("deploy", dev) == 1
    assert engine.commands("apply") == ORDER[:3]  # compute-dev failed in apply
    assert "monitoring-dev" not in {stack for cmd, stack, _ in engine.calls() if cmd != "init"}  # installed only
    captured = capsys.readouterr()
    for line in (
        "network-dev              applied",
        "data-dev                 applied",
        "compute-dev              failed",
        "monitoring-dev           not run",
    ):
        assert line in captured.out
    assert "InvalidParameterException: the fake engine was told to fail" in captured.err

    engine.set("FAIL", None)
    engine.clear()
    assert run("deploy", dev) == 0
    assert engine.commands("apply") == ["compute-dev", "monitoring-dev"]


@pytest.mark.parametrize("action", ["deploy", "destroy"])
def test_a_provider_the_engine_cannot_install_stops_the_command_before_any_stack(
    engine, dev, run, capsys, action, monkeypatch, tmp_path
):
    # dev with a password of its own from the random provider: only its data stack needs that provider.
    dev = variant(dev, "dev", data__aurora__password_generator="random")
    if action == "destroy":
        run("deploy", dev)
        engine.clear()
    mirror = tmp_path / "mirror" / "registry.terraform.io" / "hashicorp" / "aws" / "6.25.0" / "linux_amd64"
    mirror.mkdir(parents=True)
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path / "mirror"))
    engine.set("UNINSTALLABLE", "hashicorp/random")  # only the data stack needs it
    with pytest.raises(UsageError) as exc:
        run(action, dev, **({"confirm": "dev"} if action == "destroy" else {}))
    message = str(exc.value)
    assert message.startswith("data-dev needs the provider hashicorp/random 3.7.2, and the engine cannot install it")
    assert f"TF_PROVIDER_MIRROR={tmp_path / 'mirror'} (which holds hashicorp/aws 6.25.0)" in message
    assert "the plugin cache" in message and "the registry registry.terraform.io, which did not serve it" in message
    assert "nothing was applied" in message
    assert message.count("Failed to query available provider packages") == 1  # the engine's error, once
    assert "Failed to query" not in capsys.readouterr().out
    assert engine.commands("plan") == [] and engine.commands("apply") == []  # not even network-dev


def test_an_init_that_fails_for_another_reason_shows_the_engine_error_and_touches_nothing(engine, dev, run, capsys):

    engine.set("FAIL", "init:compute-dev")
    assert run("deploy", dev) == 1
    err = capsys.readouterr().err
    assert "initializing compute-dev failed, so no stack was touched" in err
    assert "the fake engine was told to fail" in err
    assert engine.commands("apply") == []


@pytest.mark.parametrize("action", ["plan", "drift"])
def test_read_only_work_in_parallel_matches_serial_and_never_interleaves(engine, dev, run, capsys, monkeypatch, action):
    run("deploy", dev)
    engine.set("DRIFT", "compute-dev")
    capsys.readouterr()
    summaries = {}
    for workers in ("1", "4"):
        monkeypatch.setenv("PARALLELISM", workers)
        run(action, dev)
        out = capsys.readouterr().out
        # Each stack's seconds and the total differ from run to run; the rest is the same.
        summaries[workers] = re.sub(r"\(\d+\.\d s\)| in \d+\.\d s", "", out.split(f"{action} dev: summary", 1)[1])
        blocks = out.split(f"{action} dev: summary", 1)[0].split("\n=== ")[1:]
        assert sorted(b.split()[1] for b in blocks) == sorted(ORDER)
        for block in blocks:  # each stack's engine output is one block under its own header
            stack = block.split()[1]
            assert [line.split()[1] for line in block.splitlines() if line.startswith("planning ")] == [stack]
    assert summaries["1"] == summaries["4"]  # and the summary is in dependency order either way
    assert summaries["4"].index("network-dev") < summaries["4"].index("monitoring-dev")


def test_plan_drift_and_deploy_write_reports_and_the_github_summary(engine, dev, run, tmp_path, monkeypatch):
    summary = tmp_path / "step-summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    run("deploy", dev)
    engine.set("DRIFT", "compute-dev")
    assert run("drift", dev) == 1
    report = json.loads((tmp_path / "reports/dev-drift.json").read_text())
    assert [s["stack"] for s in report["stacks"]] == ORDER  # dependency order
    compute = next(s for s in report["stacks"] if s["stack"] == "compute-dev")
    assert compute["status"] == "drifted" and compute["change"] == 1 and len(compute["addresses"]) == 1
    resources = json.loads((tmp_path / "cdktf.out/stacks/compute-dev/cdk.tf.json").read_text())["resource"]
    rtype, name = compute["addresses"][0].split(".")
    assert name in resources[rtype]  # a real address of the stack
    deployed = json.loads((tmp_path / "reports/dev-deploy.json").read_text())
    assert {s["status"] for s in deployed["stacks"]} == {"applied"}
    markdown = (tmp_path / "reports/dev-drift.md").read_text()
    assert "| compute-dev | drifted | 0 | 1 | 0 |" in markdown
    assert markdown in summary.read_text() and "### deploy dev" in summary.read_text()


def test_plan_without_env_covers_every_real_environment(engine, state_buckets, tmp_path, monkeypatch, capsys):
    from shared.cli import main

    monkeypatch.chdir(tmp_path)  # the command writes cdktf.out/ and reports/ where it runs
    assert main(["plan"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[-1] for line in out.splitlines() if line.startswith("##### plan")] == [
        "dev",
        "staging",
        "prod",
    ]
    assert "plan of every environment: dev ok, staging ok, prod ok" in out
    assert {stack.rsplit("-", 1)[1] for stack in engine.commands("plan") if stack != ".speculative"} == {
        "dev",
        "staging",
        "prod",
    }


@pytest.mark.parametrize("action", ["plan", "deploy", "drift", "destroy", "outputs"])
def test_a_stack_with_an_errored_state_is_refused_before_the_engine_runs(
    engine, dev, run, dev_deployed, tmp_path, action, monkeypatch
):
    errored = tmp_path / "cdktf.out/stacks/data-dev/errored.tfstate"
    errored.write_text('{"version": 4}')
    monkeypatch.chdir(tmp_path)  # make runs in the checkout
    with pytest.raises(UsageError) as refused:
        run(action, dev, **({"confirm": "dev"} if action == "destroy" else {}))
    message = str(refused.value)
    assert "could not save the state of data-dev" in message
    shown = "cdktf.out/stacks/data-dev/errored.tfstate"
    assert f"Push it back: make push-state ENV=dev STACK=data FILE={shown}" in message
    assert [c for c, _, _ in engine.calls() if c not in ("init", "output")] == []  # nothing planned or applied
    assert errored.read_text() == '{"version": 4}'  # and the file is the user's to push, untouched


@pytest.mark.parametrize("under_ci", [False, True])
def test_an_apply_that_cannot_save_its_state_is_recorded_and_every_checkout_refuses_the_stack(
    engine, dev, run, tmp_path, presynthesized, monkeypatch, capsys, under_ci
):
    from shared.ops.state_bucket import errored_state

    for name in ("GITHUB_JOB", "GITHUB_RUN_ID", "GITHUB_RUN_ATTEMPT", "GITHUB_SERVER_URL", "GITHUB_REPOSITORY"):
        monkeypatch.delenv(name, raising=False)
    if under_ci:
        for name, value in {**CI, "GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "o/r"}.items():
            monkeypatch.setenv(name, value)
    engine.set("ERRORED", "apply:data-dev")  # the credentials expire at the end of data-dev's apply
    assert run("deploy", dev) == 1
    captured = capsys.readouterr()
    assert "data-dev                 failed" in captured.out and "state not saved: errored.tfstate" in captured.out
    left = tmp_path / "cdktf.out/stacks/data-dev/errored.tfstate"
    assert left.is_file()
    record = errored_state.read(dev, "data")
    assert record is not None and record.command == "deploy" and record.path == str(left)
    assert record.revision == releases.current_revision() and record.host
    assert "Recorded in s3://streamflix-tfstate-dev/streamflix/dev/errored/data.json" in captured.err
    if under_ci:
        assert record.artifact == "errored-state-deploy-dev-777-1"
        assert record.run_url == "https://github.com/o/r/actions/runs/777"
        assert "gh run download 777 --name errored-state-deploy-dev-777-1" in captured.err
    else:
        assert record.artifact == "" and f"FILE={left}" in captured.err

    # A fresh checkout (a colleague, the next CI job) has no errored.tfstate: the record refuses it all the same.
    other = presynthesized(tmp_path / "other" / "cdktf.out")
    engine.set("ERRORED", None)
    engine.clear()
    for action in ("plan", "drift", "deploy", "destroy", "outputs"):
        with pytest.raises(UsageError) as refused:
            runner.perform(action, dev, outdir=other, outputs_dir=tmp_path / "other/outputs", confirm="dev")
        message = str(refused.value)
        assert message.startswith(
            f"the engine could not save the state of data-dev at the end of a deploy on {record.host}"
        )
        if under_ci:
            assert "The workflow keeps the file as the artifact errored-state-deploy-dev-777-1" in message
        else:
            assert f"make push-state ENV=dev STACK=data FILE={left}" in message
    assert [c for c, _, _ in engine.calls() if c not in ("init", "output")] == []  # no engine planned or applied


def test_a_destroy_that_cannot_save_its_state_is_recorded_as_a_destroy(engine, dev, run):
    from shared.ops.state_bucket import errored_state

    run("deploy", dev)
    engine.set("ERRORED", "apply:monitoring-dev")
    assert run("destroy", dev, confirm="dev") == 1
    assert errored_state.read(dev, "monitoring").command == "destroy"
    assert errored_state.read(dev, "compute") is None  # nothing after it ran


def test_a_failed_apply_that_left_no_errored_state_records_none(engine, dev, run):
    from shared.ops.state_bucket import errored_state

    engine.set("FAIL", "apply:compute-dev")
    assert run("deploy", dev) == 1
    assert errored_state.read(dev, "compute") is None
    engine.set("FAIL", None)
    assert run("deploy", dev) == 0  # the usual rerun, not refused


def test_saved_plans_are_owner_only_and_gone_once_their_command_is_done(
    engine, dev, tmp_path, monkeypatch, presynthesized
):
    monkeypatch.chdir(tmp_path)
    presynthesized_tree = presynthesized(tmp_path / "cdktf.out")
    assert main(["deploy", "--env", "dev"]) == 0
    applied = [e for e in engine.entries() if e["args"][0] == "apply"]
    assert len(applied) == 4 and {e["plan_mode"] for e in applied} == {"0o600"}
    assert {e["dir_mode"] for e in applied} == {"0o700"}  # only the owner can enter where the plan is
    assert not list(presynthesized_tree.rglob("*.tfplan"))
    assert main(["plan", "--env", "dev"]) == 0 and main(["drift", "--env", "dev"]) == 0
    assert not list(presynthesized_tree.rglob("*.tfplan"))
    for top in ("cdktf.out", "outputs", "reports"):
        for path in [tmp_path / top, *(tmp_path / top).rglob("*")]:
            if not path.is_symlink():
                assert path.lstat().st_mode & 0o077 == 0, f"{path} is readable by others"


def test_what_an_earlier_version_left_readable_is_made_owner_only(engine, dev, run, tmp_path):
    run("deploy", dev)
    old_plan = tmp_path / "cdktf.out/stacks/data-dev/data-dev.tfplan"
    old_plan.write_text("a plan from before")
    old_plan.chmod(0o644)
    (tmp_path / "cdktf.out/stacks/data-dev").chmod(0o755)
    run("plan", dev)
    assert not old_plan.exists()  # planned again and removed
    assert (tmp_path / "cdktf.out/stacks/data-dev").stat().st_mode & 0o777 == 0o700


def test_each_run_keeps_its_report_in_the_history_and_the_latest_beside_it(engine, dev, run, tmp_path, monkeypatch):
    from shared.ops.runner import outcome

    monkeypatch.setattr(outcome, "HISTORY_KEPT", 2)
    for _ in range(3):
        run("plan", dev)
    run("deploy", dev, stack_names="network")
    history = tmp_path / "reports" / "history"
    plans = sorted(history.glob("dev-plan-*.json"))
    assert len(plans) == 2 and len(list(history.glob("dev-plan-*.md"))) == 2  # the oldest went
    assert plans[-1].read_text() == (tmp_path / "reports" / "dev-plan.json").read_text()
    assert len(list(history.glob("dev-deploy-*.json"))) == 1


def test_json_prints_the_report_alone_on_stdout_whatever_the_exit_code(engine, dev, run, tmp_path, monkeypatch, capsys):
    run("deploy", dev)
    monkeypatch.chdir(tmp_path)  # main() works in ./cdktf.out and ./reports
    monkeypatch.setenv("JSON", "1")
    capsys.readouterr()
    engine.set("DRIFT", "compute-dev")
    assert main(["drift", "--env", "dev"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)  # nothing else on stdout
    assert report["action"] == "drift" and report["environment"] == "dev"
    assert [s["status"] for s in report["stacks"]].count("drifted") == 1
    assert "drift in compute-dev" in captured.err  # what the command says went to stderr
    assert report["exit_code"] == 1  # decided by the command line, stamped into the report it printed
    assert json.loads((tmp_path / "reports" / "dev-drift.json").read_text())["exit_code"] == 1
    monkeypatch.delenv("JSON")
    engine.set("DRIFT", None)
    assert main(["drift", "--env", "dev"]) == 0
    assert json.loads((tmp_path / "reports" / "dev-drift.json").read_text())["exit_code"] == 0
    newest = sorted((tmp_path / "reports" / "history").glob("dev-drift-*.json"))[-1]
    assert json.loads(newest.read_text())["exit_code"] == 0


def test_quiet_keeps_the_engines_lines_in_its_file_and_the_progress_on_screen(
    engine, dev, run, capsys, monkeypatch, tmp_path
):
    monkeypatch.setenv("QUIET", "1")
    run("plan", dev)
    out = capsys.readouterr().out
    assert "planning network-dev" not in out  # the stand-in engine's own line
    assert "--- network-dev: planned in " in out and "plan dev: summary" in out
    assert "planning network-dev" in (tmp_path / "cdktf.out/stacks/network-dev/engine-output.log").read_text()
    monkeypatch.delenv("QUIET")
    run("plan", dev)
    assert "planning network-dev" in capsys.readouterr().out


def test_on_a_terminal_a_live_line_says_what_runs_side_by_side(engine, dev, run, capsys, monkeypatch):
    import os
    import sys

    run("deploy", dev)
    capsys.readouterr()
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    monkeypatch.setattr("shutil.get_terminal_size", lambda *a: os.terminal_size((200, 50)))
    run("plan", dev)
    err = capsys.readouterr().err
    assert "plan 0/4: network-dev ..., data-dev ..., compute-dev ..., monitoring-dev ..." in err
    assert re.search(r"plan 4/4: (\S+-dev no changes(, |\r)){4}", err), err
    assert err.endswith("\r\033[K")  # the line is gone once the summary comes


def test_the_exit_code_goes_only_into_this_commands_reports(engine, dev, run, tmp_path, monkeypatch, capsys):
    import os
    import time

    run("deploy", dev)
    monkeypatch.chdir(tmp_path)
    # Another command's report, written meanwhile (or with a clock ahead): neither stamped nor printed as ours.
    other = tmp_path / "reports" / "staging-plan.json"
    other.write_text(json.dumps({"action": "plan", "environment": "staging", "exit_code": 1}))
    os.utime(other, (time.time() + 3600, time.time() + 3600))
    (tmp_path / "reports" / "notes.json").write_text("[1, 2]")  # not a report at all
    monkeypatch.setenv("JSON", "1")
    capsys.readouterr()
    assert main(["plan", "--env", "dev"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["environment"] == "dev" and printed["exit_code"] == 0
    assert json.loads(other.read_text())["exit_code"] == 1


def test_history_pruning_keeps_to_its_own_environment_and_command(engine, dev, run, tmp_path, monkeypatch):
    from shared.ops.runner import outcome

    history = tmp_path / "reports" / "history"
    history.mkdir(parents=True)
    theirs = [history / f"dev-plan-2-plan-2026010{i}T000000000000Z.json" for i in range(3)]  # suffix dev-plan-2
    for path in theirs:
        path.write_text("{}")
    monkeypatch.setattr(outcome, "HISTORY_KEPT", 1)
    run("plan", dev)
    run("plan", dev)
    assert all(path.exists() for path in theirs)
    assert len([p for p in history.glob("dev-plan-2026*.json")]) == 1


def test_a_destroy_writes_its_report_and_a_refusal_to_go_on_reports_what_was_shown(
    engine, state_buckets, run, tmp_path, monkeypatch, capsys
):
    from shared.config import load_environment

    prod = load_environment("prod")
    run("deploy", prod, confirm="prod")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    monkeypatch.setenv("JSON", "1")
    capsys.readouterr()
    assert main(["deploy", "--env", "prod", "--force"]) == 2  # no CONFIRM: planned, shown, refused
    refused = json.loads(capsys.readouterr().out)
    assert refused["action"] == "deploy" and refused["exit_code"] == 2
    assert {s["status"] for s in refused["stacks"]} <= {"planned", "no changes"}
    dev = load_environment("dev")
    run("deploy", dev)
    capsys.readouterr()
    assert main(["destroy", "--env", "dev", "--confirm", "dev"]) == 0
    destroyed = json.loads(capsys.readouterr().out)
    assert destroyed["action"] == "destroy" and {s["status"] for s in destroyed["stacks"]} == {"destroyed"}
