"""Each command's step for one stack (plan, drift, deploy, destroy), what a STACK= selection needs of the
others, fingerprints that skip what nothing changed, speculative plans, and how each command ends."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import boto3
import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands.releases import show as show_releases
from shared.ops.runner import run as runner
from shared.ops.state_bucket import fingerprint, releases
from tests.support.exit_code import exit_code
from tests.support.synthesized import variant

ORDER = ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]


def served_only(engine) -> None:
    if not engine.served:
        pytest.skip("the Python stand-in run as a process writes no state objects to moto (no C compiler here)")


def test_a_rerun_with_nothing_changed_starts_no_engine_and_says_since_when(engine, dev, run, dev_deployed, capsys):
    served_only(engine)
    capsys.readouterr()
    assert run("deploy", dev) == 0
    assert engine.calls() == []  # no init, no plan, no output: not one engine process but `version`
    out = capsys.readouterr().out
    assert out.count("unchanged since ") == 4 and out.count("(skipped)") == 4
    assert "=== deploy" not in out  # no empty header for a skipped stack
    assert "recorded release" in out  # still a deploy of this revision


def test_force_plans_every_stack_and_a_rerun_with_nothing_to_do_applies_nothing(engine, dev, run, dev_deployed, capsys):
    capsys.readouterr()
    assert run("deploy", dev, force=True) == 0
    assert engine.commands("plan") == ORDER and engine.commands("apply") == []
    out = capsys.readouterr().out
    summary = out.split("deploy dev: summary", 1)[1]
    assert summary.count("no changes") == 4
    assert all(f"--- {stack}: no changes in " in out for stack in ORDER)  # each stack's end, as a log shows it


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


def test_targeted_destroy_refuses_while_dependents_are_deployed(engine, dev, run, dev_deployed):
    with pytest.raises(UsageError, match="compute-dev is deployed and depends on data-dev"):
        run("destroy", dev, stack_names="data", confirm="dev")
    assert engine.commands("apply") == []


def test_drift_lists_the_stacks_that_differ(engine, dev, run, dev_deployed, capsys):
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


def test_drift_checks_every_stack_even_when_one_cannot_be_planned(engine, dev, run, dev_deployed, capsys):
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


def test_a_deploy_that_cannot_record_its_release_fails_and_says_how_to_record_it(engine, dev, run, monkeypatch, capsys):

    def refuse(env, **kwargs):  # what a 403 from the bucket becomes (releases._bucket_problem)
        raise UsageError(f"cannot use state bucket {env.state.bucket}: AccessDenied")

    monkeypatch.setattr(releases, "record", refuse)
    assert run("deploy", dev) == 1
    err = capsys.readouterr().err
    assert "dev is deployed, but its release was not recorded: cannot use state bucket" in err
    assert "run make deploy ENV=dev again: it changes nothing and records the release" in err


def test_a_destroy_is_recorded_and_nothing_runs_afterwards(engine, dev, run, capsys):

    assert run("deploy", dev) == 0
    assert releases.latest(dev) is not None
    assert run("destroy", dev, confirm="dev") == 0
    assert releases.latest(dev) is None and releases.history(dev)[-1].destroyed
    assert exit_code(show_releases, [dev]) == 0
    assert "dev          (destroyed)" in capsys.readouterr().out


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


def test_a_targeted_plan_of_a_stack_whose_producers_were_never_deployed_is_speculative(engine, dev, run, capsys):
    """As `make plan ENV=dev` plans it: STACK=compute alone is no reason to refuse what the full plan shows."""
    assert run("plan", dev, stack_names="compute") == 0
    summary = capsys.readouterr().out.split("plan dev: summary", 1)[1]
    line = next(line for line in summary.splitlines() if "compute-dev" in line)
    assert "planned" in line and "speculative:" in line and "not deployed" in line, line
    assert "network-dev" not in summary.replace(line, "")  # only the stack asked for is planned
    assert engine.commands("apply") == []


def test_a_targeted_deploy_after_a_destroy_says_the_producer_was_destroyed(engine, dev, run):
    assert run("deploy", dev) == 0
    assert run("destroy", dev, confirm="dev") == 0
    with pytest.raises(UsageError) as refused:
        run("deploy", dev, stack_names="compute")
    assert "network-dev was destroyed (" in str(refused.value) and "never" not in str(refused.value)
    assert "make deploy ENV=dev STACK=network" in str(refused.value)


# ---------------------------------------------------------------- a plan that widens access needs a yes

TASK_POLICY = "aws_iam_role_policy.task_policy"


def _policy(*actions: str) -> str:
    return json.dumps({"Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})


def widen_compute(engine) -> None:
    """compute's next plan lets the task role delete streams, which it could not before."""
    before, after = _policy("kinesis:GetRecords"), _policy("kinesis:GetRecords", "kinesis:DeleteStream")
    change = [TASK_POLICY, ["update"], [], {"before": {"policy": before}, "after": {"policy": after}}]
    engine.set("CHANGES", json.dumps({"compute-dev": [change]}))


def applied(engine) -> list[str]:
    return [stack for command, stack, _ in engine.calls() if command == "apply"]


@pytest.fixture
def widened(engine, dev, run, monkeypatch):
    """dev deployed; compute's next plan widens its task role's policy; no terminal."""
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert run("deploy", dev, force=True) == 0
    widen_compute(engine)
    engine.clear()


def test_a_plan_that_widens_access_is_not_applied_without_a_yes(engine, dev, run, widened, capsys):
    with pytest.raises(UsageError) as refused:  # exit 2
        run("deploy", dev, force=True)
    message, out = str(refused.value), capsys.readouterr().out
    assert "refusing to apply compute-dev: its plan widens access and nobody said yes" in message
    assert f"compute: {TASK_POLICY} allows kinesis:DeleteStream on *" in message
    assert "\n    CONFIRM=dev\n" in message  # on a line of its own: copied as it is
    assert applied(engine) == []  # network and data had nothing to apply; compute's plan was not applied
    assert "monitoring-dev           not run" in out and "WIDENS: 1" in out


def test_confirm_typed_for_the_environment_is_the_yes(engine, dev, run, widened):
    assert run("deploy", dev, force=True, confirm="dev") == 0
    assert applied(engine) == ["compute-dev"]


@pytest.mark.parametrize(("answer", "code", "applies"), [("dev", 0, ["compute-dev"]), ("yes", 2, [])])
def test_on_a_terminal_the_widening_is_shown_and_asked(engine, dev, run, widened, monkeypatch, answer, code, applies):
    asked = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: asked.append(prompt) or answer)
    if code:
        with pytest.raises(UsageError, match="its plan widens access and nobody said yes"):
            run("deploy", dev, force=True)
    else:
        assert run("deploy", dev, force=True) == 0
    assert applied(engine) == applies
    assert len(asked) == 1 and "kinesis:DeleteStream" in asked[0] and "Type 'dev' to apply it" in asked[0]


def test_an_emulator_environment_shows_a_widening_without_asking(monkeypatch):
    """Its IAM and security groups grant nothing real (the emulator's test keys): shown, not asked."""
    from shared.ops.runner.actions import _widening_agreed
    from shared.ops.runner.outcome import Outcome
    from shared.ops.runner.widening import Widening

    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    local, dev = load_environment("local"), load_environment("dev")
    outcome = Outcome(
        stack=SimpleNamespace(id="compute-dev"),
        widens=[Widening("compute", TASK_POLICY, "allows kinesis:DeleteStream on *")],
    )
    for env, agreed in ((local, True), (dev, False)):
        job = SimpleNamespace(env=env, agreed=False)
        assert _widening_agreed(job, outcome) is agreed, env.name
    job = SimpleNamespace(env=dev, agreed=True)
    assert _widening_agreed(job, outcome)


def test_plan_shows_what_widens_in_its_summary_and_reports(engine, dev, run, widened, tmp_path, capsys):
    assert run("plan", dev) == 0
    out = capsys.readouterr().out
    assert re.search(r"compute-dev +planned +\+0 ~1 -0 +WIDENS: 1", out), out
    assert f"access these plans widen (shared/ops/runner/widening.py):\n  - compute: {TASK_POLICY} allows" in out
    report = json.loads((tmp_path / "reports" / "dev-plan.json").read_text())
    compute = next(s for s in report["stacks"] if s["stack"] == "compute-dev")
    assert compute["widens"] == [{"address": TASK_POLICY, "widens": "allows kinesis:DeleteStream on *"}]
    markdown = (tmp_path / "reports" / "dev-plan.md").read_text()
    assert f"- `compute`: `{TASK_POLICY}` allows kinesis:DeleteStream on *" in markdown
