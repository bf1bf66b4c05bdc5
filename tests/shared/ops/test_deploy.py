"""Deploy orchestration against the engine stand-in: order, exact plan files, targeting, failure, guards, drift."""

from __future__ import annotations

import json
import shutil

import boto3
import pytest

from shared.cli import main
from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands.releases import show as show_releases
from shared.ops.runner import run as runner
from shared.ops.state_bucket import fingerprint, releases
from tests.support.exit_code import exit_code
from tests.support.synthesized import variant

ORDER = ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]


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


def served_only(engine) -> None:
    if not engine.served:
        pytest.skip("the Python stand-in run as a process writes no state objects to moto (no C compiler here)")


def test_a_rerun_with_nothing_changed_starts_no_engine_and_says_since_when(engine, dev, run, capsys):
    served_only(engine)
    run("deploy", dev)
    engine.clear()
    capsys.readouterr()
    assert run("deploy", dev) == 0
    assert engine.calls() == []  # no init, no plan, no output: not one engine process but `version`
    out = capsys.readouterr().out
    assert out.count("unchanged since ") == 4 and out.count("(skipped)") == 4
    assert "recorded release" in out  # still a deploy of this revision


def test_force_plans_every_stack_and_a_rerun_with_nothing_to_do_applies_nothing(engine, dev, run, capsys):
    run("deploy", dev)
    engine.clear()
    capsys.readouterr()
    assert run("deploy", dev, force=True) == 0
    assert engine.commands("plan") == ORDER and engine.commands("apply") == []
    assert capsys.readouterr().out.count("no changes") == 4


def test_what_decides_a_stack_makes_it_plan_again(engine, dev, run, tmp_path, monkeypatch):
    served_only(engine)
    run("deploy", dev)
    # Its JSON changes (a config change that only the monitoring stack uses): that stack alone.
    engine.clear()
    run("deploy", variant(dev, "dev", monitoring__ecs_cpu_percent=70))
    assert engine.commands("plan") == ["monitoring-dev"]
    dev = variant(dev, "dev", monitoring__ecs_cpu_percent=70)
    # Another engine version: every stack.
    engine.set("VERSION", "1.11.9")
    engine.clear()
    run("deploy", dev)
    assert engine.commands("plan") == ORDER
    # A producer re-applied with new output values: each stack that reads it plans again.
    names = json.loads((tmp_path / "cdktf.out/stacks/data-dev/cdk.tf.json").read_text())["output"]
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"data-dev": {name: f"new:{name}" for name in names}}))
    engine.set("OUTPUTS", str(outputs))
    engine.set("CHANGES", json.dumps({"data-dev": [["aws_sqs_queue.dlq", ["update"]]]}))
    run("deploy", dev, stack_names="data", force=True)
    engine.set("CHANGES", None)
    engine.clear()
    run("deploy", dev)
    assert engine.commands("plan") == ["compute-dev", "monitoring-dev"]


def test_new_provider_pins_make_every_stack_plan(engine, dev, run, tmp_path, monkeypatch):
    served_only(engine)
    from shared.ops.engine import provider_pins

    monkeypatch.setattr(provider_pins, "ROOT", tmp_path)
    run("deploy", dev)
    engine.clear()
    run("deploy", dev)
    assert engine.commands("plan") == []
    (tmp_path / ".terraform.lock.hcl").write_text('provider "registry.terraform.io/hashicorp/aws" {\n}\n')
    engine.clear()
    run("deploy", dev)
    assert engine.commands("plan") == ORDER


def test_a_fingerprint_that_cannot_be_read_plans_the_stack(engine, dev, run):
    served_only(engine)
    run("deploy", dev)
    s3 = boto3.client("s3", region_name="us-east-1")
    key = f"{dev.state.key_prefix}/dev/fingerprints/compute.json"
    s3.put_object(Bucket=dev.state.bucket, Key=key, Body=b"\xff not json")
    engine.clear()
    run("deploy", dev)
    assert engine.commands("plan") == ["compute-dev"]
    assert s3.get_object(Bucket=dev.state.bucket, Key=key)["Body"].read().startswith(b"{")  # recorded anew


def test_an_apply_that_fails_leaves_no_fingerprint_so_the_next_deploy_plans_it(engine, dev, run):
    served_only(engine)
    run("deploy", dev)
    engine.set("CHANGES", json.dumps({"compute-dev": [["aws_ecs_service.service", ["update"]]]}))
    engine.set("FAIL", "apply:compute-dev")
    run("deploy", dev, force=True)
    engine.set("FAIL", None)
    engine.set("CHANGES", None)
    engine.clear()
    run("deploy", dev)
    assert engine.commands("plan") == ["compute-dev"]  # monitoring was applied before, and reads nothing new


def test_a_destroy_that_fails_after_its_first_state_change_leaves_no_fingerprint(engine, dev, tmp_path):
    """The snapshot key leaves the state first; a destroy whose plan then fails must not let the next deploy
    skip the stack (its key is no longer managed): the record goes before any state change."""
    served_only(engine)
    kept = variant(dev, "dev", data__aurora__final_snapshot=True)
    paths = {"outdir": tmp_path / "cdktf.out", "outputs_dir": tmp_path / "outputs"}
    assert exit_code(runner.perform, "deploy", kept, **paths) == 0
    assert fingerprint.recorded(kept, "data") is not None
    engine.clear()
    engine.set("FAIL", "plan:data-dev")
    assert exit_code(runner.perform, "destroy", kept, confirm="dev", **paths) == 1
    data = [c for c, s, _ in engine.calls() if s == "data-dev"]
    assert "state" in data and data.index("state") < data.index("plan"), data  # the key left the state first
    assert fingerprint.recorded(kept, "data") is None
    engine.set("FAIL", None)
    engine.clear()
    assert exit_code(runner.perform, "deploy", kept, **paths) == 0
    assert "data-dev" in engine.commands("plan"), "the next deploy skipped a stack whose destroy had begun"


def test_plan_marks_the_stacks_whose_fingerprint_differs_from_what_was_applied(engine, dev, run, tmp_path, capsys):
    served_only(engine)
    run("deploy", dev)
    dev = variant(dev, "dev", compute__cpu_target_percent=50)  # the compute stack alone uses it
    capsys.readouterr()
    run("plan", dev)
    summary = capsys.readouterr().out.split("plan dev: summary", 1)[1]
    line = next(line for line in summary.splitlines() if "compute-dev" in line)
    assert "changed since " in line
    assert "changed since" not in next(line for line in summary.splitlines() if "network-dev" in line)
    report = json.loads((tmp_path / "reports/dev-plan.json").read_text())
    assert [s["stack"] for s in report["stacks"] if "changed since" in s["note"]] == ["compute-dev"]


def test_force_is_for_deploy_only(engine, dev, run):
    with pytest.raises(UsageError, match="FORCE=1 is for make deploy and make promote, not make plan"):
        run("plan", dev, force=True)


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


def test_targeted_deploy_refuses_when_a_dependency_was_never_deployed(engine, dev, run):
    with pytest.raises(UsageError) as exc:
        run("deploy", dev, stack_names="compute")
    assert "network-dev has never been deployed in dev" in str(exc.value)
    assert "make deploy ENV=dev STACK=network" in str(exc.value)
    assert engine.commands("plan") == [] and engine.commands("apply") == []


def test_targeted_deploy_touches_only_the_named_stacks(engine, dev, run):
    run("deploy", dev)
    engine.set("DRIFT", "network-dev,compute-dev")  # both would have changes (drift: FORCE=1 plans it)
    engine.clear()
    assert run("deploy", dev, stack_names="compute", force=True) == 0
    assert engine.commands("plan") == ["compute-dev"]
    assert engine.commands("apply") == ["compute-dev"]


def test_unknown_stack_name_is_a_usage_error(engine, dev, run):
    with pytest.raises(UsageError, match="unknown stack.*cmopute.*known: network, data, compute, monitoring"):
        run("deploy", dev, stack_names="cmopute")


def test_prod_is_never_applied_without_confirmation(engine, state_buckets, run, monkeypatch):
    prod = load_environment("prod")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to apply changes to prod without confirmation.*CONFIRM=prod"):
        run("deploy", prod)
    assert engine.calls() == []
    with pytest.raises(UsageError, match="CONFIRM=staging does not name"):
        run("deploy", prod, confirm="staging")
    assert engine.calls() == []
    assert run("deploy", prod, confirm="prod") == 0
    assert engine.commands("apply") == [s.replace("dev", "prod") for s in ORDER]


def test_destroy_asks_for_any_environment_and_runs_in_reverse(engine, dev, run, monkeypatch):
    run("deploy", dev)
    engine.clear()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="CONFIRM=dev"):
        run("destroy", dev)
    assert engine.calls() == []
    assert run("destroy", dev, confirm="dev") == 0
    assert engine.commands("apply") == list(reversed(ORDER))
    assert all("-destroy" in args for cmd, _, args in engine.calls() if cmd == "plan")


def test_targeted_destroy_refuses_while_dependents_are_deployed(engine, dev, run):
    run("deploy", dev)
    engine.clear()
    with pytest.raises(UsageError, match="compute-dev is deployed and depends on data-dev"):
        run("destroy", dev, stack_names="data", confirm="dev")
    assert engine.commands("apply") == []


def test_outputs_file_has_every_stacks_outputs_keyed_by_stack(engine, dev, run, tmp_path):
    run("deploy", dev)
    (tmp_path / "outputs/dev.json").unlink()
    assert run("outputs", dev) == 0
    outputs = json.loads((tmp_path / "outputs/dev.json").read_text())
    assert sorted(outputs) == ["compute", "data", "monitoring", "network"]
    assert outputs["network"]["vpc_id"] == "network-dev:vpc_id"
    assert outputs["data"]["kinesis_stream_name"] == "data-dev:kinesis_stream_name"
    assert outputs["compute"]["ecs_cluster_name"] == "compute-dev:ecs_cluster_name"
    assert not any(k.startswith("cross-stack-output-") for v in outputs.values() for k in v)


def test_drift_lists_the_stacks_that_differ(engine, dev, run, capsys):
    run("deploy", dev)
    capsys.readouterr()
    assert run("drift", dev) == 0
    assert "no drift in dev" in capsys.readouterr().out
    engine.set("DRIFT", "data-dev")
    engine.clear()
    assert run("drift", dev) == 1
    out = capsys.readouterr().out
    assert "drift in data-dev" in out and "data-dev                 drifted" in out
    assert engine.commands("apply") == []
    assert all("-detailed-exitcode" in args for cmd, _, args in engine.calls() if cmd == "plan")


def test_drift_checks_every_stack_even_when_one_cannot_be_planned(engine, dev, run, capsys):
    run("deploy", dev)
    engine.clear()
    engine.set("DRIFT", "monitoring-dev")
    engine.set("FAIL", "plan:data-dev")
    assert run("drift", dev) == 1
    assert sorted(engine.commands("plan")) == sorted(ORDER)  # nothing is applied by drift, so it need not stop
    captured = capsys.readouterr()
    assert "data-dev                 failed" in captured.out and "drift in monitoring-dev" in captured.out
    assert "the fake engine was told to fail" in captured.err


def test_deploy_records_the_release(engine, dev, run):
    from shared.ops.state_bucket.releases import current_revision, latest

    run("deploy", dev)
    release = latest(dev)
    assert release.revision == current_revision()
    assert release.image == dev.compute.image and release.environment == "dev"


# ---------------------------------------------------------------- preconditions


def test_missing_engine_stops_before_anything(dev, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform, no tofu
    monkeypatch.delenv("TF_BIN", raising=False)
    assert main(["deploy", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "no deploy engine found" in err and "install Terraform 1.11 or newer" in err and "OpenTofu" in err
    assert not (tmp_path / "cdktf.out").exists()


def test_tf_bin_names_the_engine(engine, dev, run, monkeypatch):
    monkeypatch.setenv("TF_BIN", str(engine.bin / "missing"))
    with pytest.raises(UsageError, match="TF_BIN=.*missing is not an executable"):
        run("plan", dev)
    tofu = engine.bin / "tofu"
    tofu.symlink_to(engine.bin / "terraform")
    monkeypatch.setenv("TF_BIN", str(tofu))
    assert run("plan", dev) == 0


@pytest.mark.parametrize("version", ["1.5.7", "1.10.5"])  # 1.10 has no write-only arguments
def test_an_old_engine_is_refused(engine, dev, run, version):
    engine.set("VERSION", version)
    with pytest.raises(UsageError, match=f"version {version}; 1.11 or newer is needed .write-only arguments"):
        run("plan", dev)
    assert [c for c, _, _ in engine.calls() if c != "version"] == []


def test_missing_credentials_give_a_clear_message(engine, run, monkeypatch, tmp_path, capsys):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["plan", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err and "Traceback" not in err
    assert engine.calls() == []


def test_wrong_credentials_give_a_clear_message(engine, dev, run):
    from moto.core import set_initial_no_auth_action_count

    @set_initial_no_auth_action_count(0)  # moto checks the keys like AWS does
    def attempt():
        with pytest.raises(UsageError, match="AWS rejected the credentials \\(InvalidClientTokenId"):
            run("plan", dev)

    attempt()
    assert engine.calls() == []


def test_the_wrong_account_is_refused(engine, dev, run):
    other = dev.model_copy(update={"aws": dev.aws.model_copy(update={"account_id": "999999999999"})})
    with pytest.raises(UsageError, match="credentials are for account 123456789012, but dev lives in account 999"):
        run("plan", other)
    boto3.client("sts").get_caller_identity()  # moto's account, for the record


def test_a_deploy_that_cannot_record_its_release_fails_and_says_how_to_record_it(engine, dev, run, monkeypatch, capsys):
    from shared.ops.state_bucket import releases

    def refuse(env, **kwargs):  # what a 403 from the bucket becomes (releases._bucket_problem)
        raise UsageError(f"cannot use state bucket {env.state.bucket}: AccessDenied")

    monkeypatch.setattr(releases, "record", refuse)
    assert run("deploy", dev) == 1
    err = capsys.readouterr().err
    assert "dev is deployed, but its release was not recorded: cannot use state bucket" in err
    assert "run make deploy ENV=dev again: it changes nothing and records the release" in err


def test_a_destroy_is_recorded_and_nothing_runs_afterwards(engine, dev, run, capsys):
    from shared.ops.state_bucket import releases

    assert run("deploy", dev) == 0
    assert releases.latest(dev) is not None
    assert run("destroy", dev, confirm="dev") == 0
    assert releases.latest(dev) is None and releases.history(dev)[-1].destroyed
    assert exit_code(show_releases, [dev]) == 0
    assert "dev          (destroyed)" in capsys.readouterr().out


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
        summaries[workers] = out.split(f"{action} dev: summary", 1)[1]
        blocks = out.split(f"{action} dev: summary", 1)[0].split("\n=== ")[1:]
        assert sorted(b.split()[1] for b in blocks) == sorted(ORDER)
        for block in blocks:  # each stack's engine output is one block under its own header
            stack = block.split()[1]
            assert [line.split()[1] for line in block.splitlines() if line.startswith("planning ")] == [stack]
    assert summaries["1"] == summaries["4"]  # and the summary is in dependency order either way
    assert summaries["4"].index("network-dev") < summaries["4"].index("monitoring-dev")


def test_a_bad_parallelism_is_a_usage_error(engine, dev, run, monkeypatch):
    monkeypatch.setenv("PARALLELISM", "many")
    with pytest.raises(UsageError, match="PARALLELISM='many'"):
        run("plan", dev)


# ---------------------------------------------------------------- plans of what does not exist yet


def test_a_never_deployed_environment_is_planned_end_to_end_speculatively(engine, dev, run, capsys, tmp_path):
    assert run("plan", dev) == 0
    out = capsys.readouterr().out
    summary = out.split("plan dev: summary", 1)[1]
    assert "network-dev              planned" in summary and "speculative" not in summary.splitlines()[1]
    assert "data-dev                 planned" in summary and "speculative: network-dev not deployed" in summary
    compute = next(line for line in summary.splitlines() if "compute-dev" in line)
    assert "network-dev not deployed" in compute and "data-dev not deployed" in compute  # it reads both
    log = [json.loads(line) for line in engine.log.read_text().splitlines()]
    stand_ins = [e for e in log if e["args"][0] == "plan" and e["cwd"].endswith("/.speculative")]
    assert len(stand_ins) == 3 and all("-lock=false" in e["args"] for e in stand_ins)
    for stack in ORDER[1:]:  # no plan file is kept anywhere for them: nothing of it can be applied
        workdir = tmp_path / "cdktf.out/stacks" / stack
        assert not (workdir / f"{stack}.tfplan").exists() and not list((workdir / ".speculative").glob("*.tfplan"))
    assert engine.commands("apply") == []


def test_a_producer_that_lacks_an_output_a_consumer_now_reads_is_filled_in(engine, dev, run, capsys):
    run("deploy", dev)
    state = engine.state / "network-dev.json"
    outputs = json.loads(state.read_text())
    dropped = next(k for k in outputs if k.startswith("cross-stack-output-aws_subnetprivate_0"))
    del outputs[dropped]  # as if data now read something network does not export yet
    state.write_text(json.dumps(outputs))
    capsys.readouterr()
    assert run("plan", dev) == 0
    summary = capsys.readouterr().out.split("plan dev: summary", 1)[1]
    assert "speculative: network-dev lacks 1 output(s) read here" in summary


def test_deploy_never_plans_speculatively(engine, dev, run):
    with pytest.raises(UsageError, match="network-dev has never been deployed"):
        run("deploy", dev, stack_names="compute")
    assert not any(".speculative" in line for line in engine.log.read_text().splitlines())


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
    engine, dev, run, tmp_path, action, monkeypatch
):
    run("deploy", dev)
    engine.clear()
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


CI = {"GITHUB_JOB": "deploy-dev", "GITHUB_RUN_ID": "777", "GITHUB_RUN_ATTEMPT": "1"}


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


def test_a_stopped_emulator_is_named_with_how_to_start_it(engine, run, monkeypatch):
    import socket

    with socket.socket() as free:  # a port nothing listens on: the emulator is not running
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    local = variant(load_environment("local"), "local", aws__endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(UsageError) as refused:
        run("deploy", local)
    assert f"the emulator of local does not answer at http://127.0.0.1:{port}" in str(refused.value)
    assert "start it with `make emulator ENV=local`" in str(refused.value)
    assert engine.commands("plan") == []


@pytest.mark.parametrize("action", ["deploy", "destroy"])
def test_a_copy_that_is_not_a_git_checkout_refuses_a_whole_environment_before_anything_runs(
    engine, dev, run, monkeypatch, tmp_path, action
):
    from shared.ops.state_bucket import releases

    monkeypatch.setattr(releases, "ROOT", tmp_path)  # an unpacked tarball: no .git anywhere above
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(UsageError) as refused:
        run(action, dev, **({"confirm": "dev"} if action == "destroy" else {}))
    assert f"make {action} ENV=dev records the git revision" in str(refused.value)
    assert "Work from a git clone of the repository" in str(refused.value) and "STACK=" in str(refused.value)
    assert engine.calls() == []
    assert run(action, dev, stack_names="network", **({"confirm": "dev"} if action == "destroy" else {})) == 0


def test_a_targeted_deploy_after_a_destroy_says_the_producer_was_destroyed(engine, dev, run):
    assert run("deploy", dev) == 0
    assert run("destroy", dev, confirm="dev") == 0
    with pytest.raises(UsageError) as refused:
        run("deploy", dev, stack_names="compute")
    assert "network-dev was destroyed (" in str(refused.value) and "never" not in str(refused.value)
    assert "make deploy ENV=dev STACK=network" in str(refused.value)
