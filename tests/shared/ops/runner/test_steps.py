"""The engine steps of one stack: what a planned change alters, by attribute name; a plan that is not JSON."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from shared.ops.runner import run as runner
from shared.ops.runner.steps import changed_attributes, forcing_replacement
from tests.support.exit_code import exit_code


def test_only_attributes_whose_known_value_changes_are_named():
    change = {
        "before": {"name": "a", "tags": {"x": "1"}, "arn": "arn:1", "same": 1},
        "after": {"name": "b", "tags": {"x": "2"}, "arn": None, "same": 1, "new": True},
        "after_unknown": {"arn": True},
    }
    assert changed_attributes(change) == ["name", "new", "tags"]  # arn: the engine's to fill in


def test_a_create_or_a_delete_names_what_it_sets_or_removes():
    assert changed_attributes({"before": None, "after": {"a": 1}}) == ["a"]
    assert changed_attributes({"before": {"a": 1}, "after": None}) == ["a"]


def test_what_forces_a_replacement_is_named_by_its_top_level_attribute():
    paths = [["name"], ["ingress", 0, "cidr_blocks"], ["name"]]
    assert forcing_replacement({"replace_paths": paths}) == ["ingress", "name"]
    assert forcing_replacement({"replace_paths": None}) == [] == forcing_replacement({})


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ("warning", "'Warning: a provider printed this on stdout"),
        ("truncated", "read "),
        ("text", "not json at all"),
        ("list", "is not a JSON object: list"),
        ("empty", "is not a plan as Terraform writes it: no format_version"),
        ("null", "resource_changes is NoneType, not a list"),
        ("actionless", "resource_changes[0] has no address or change"),
    ],
)
def test_a_plan_the_engine_shows_as_anything_but_json_fails_its_stack_in_one_line(
    engine, state_buckets, tmp_path, presynthesized, capsys, how, words
):
    dev = load_environment("dev")
    paths = {"outdir": presynthesized(tmp_path / "cdktf.out"), "outputs_dir": tmp_path / "outputs"}
    engine.set("SHOW", f"network-dev:{how}")
    assert exit_code(runner.perform, "deploy", dev, **paths) == 1
    assert engine.commands("apply") == []  # nothing of it, nor of any later stack
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    (line,) = [line for line in err.splitlines() if "the engine's plan of network-dev" in line]
    assert words in line and len(line) < 400, line
    assert "network-dev              failed" in out and "data-dev                 not run" in out
    report = json.loads((tmp_path / "reports/dev-deploy.json").read_text())
    assert [s["status"] for s in report["stacks"]][:2] == ["failed", "not run"]


def test_a_plan_step_returns_what_the_plan_changes_and_nothing_else_is_touched(engine, tmp_path):
    import dataclasses

    from shared.ops.engine.discovery import find_engine
    from shared.ops.engine.workdir import Stack, initialize
    from shared.ops.runner import steps

    workdir = tmp_path / "compute-dev"
    workdir.mkdir()
    (workdir / "cdk.tf.json").write_text(json.dumps({"resource": {"aws_ecs_service": {"service": {}}}}))
    stack = Stack("compute", "compute-dev", workdir, ())
    found = find_engine()
    initialize(found, stack)
    plan = steps.plan(found, stack)  # nothing deployed: the stand-in creates what the JSON holds
    assert (plan.changed, plan.add, plan.change, plan.destroy) == (True, 1, 0, 0)
    assert plan.addresses == ["aws_ecs_service.service"] and plan.document["resource_changes"]
    assert plan.changes[0]["actions"] == ["create"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        plan.changed = False  # a value: the runner records it, nobody writes into it
    assert steps.plan(found, stack, destroy=True) == steps.NOTHING_TO_APPLY  # nothing there to destroy


def test_a_plan_keeps_the_engines_own_words_for_the_report(engine, dev, run, tmp_path):
    run("deploy", dev)
    engine.set("CHANGES", json.dumps({"network-dev": [["aws_vpc.vpc", ["update"], []]]}))
    assert run("plan", dev) == 0
    markdown = (tmp_path / "reports" / "dev-plan.md").read_text()
    folded = markdown.split("<details><summary>network-dev: the engine's plan</summary>", 1)[1]
    assert "Plan: 1 to change." in folded.split("</details>", 1)[0]  # the stand-in engine's own line
    assert "data-dev: the engine's plan" not in markdown  # nothing planned there, nothing to show
