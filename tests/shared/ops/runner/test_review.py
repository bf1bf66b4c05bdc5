"""Plan before consent, against the engine stand-in: a destroy and a protected deploy without CONFIRM plan every
chosen stack and show it before the yes; the reviewed plans are what is applied; anything a plan made again adds
is asked about again."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from shared.errors import UsageError

ORDER = ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]


@pytest.fixture
def terminal(monkeypatch, capsys):
    """A terminal whose user gives the answers in turn; each question is kept with what was printed before it."""
    asked: list[tuple[str, str]] = []
    answers: list[str] = []
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def answer(prompt: str) -> str:
        asked.append((capsys.readouterr().out, prompt))
        reply = answers.pop(0)
        return reply() if callable(reply) else reply

    monkeypatch.setattr("builtins.input", answer)
    return answers, asked


def plan_files(tmp_path) -> list:
    return list((tmp_path / "cdktf.out").glob("stacks/*/*.tfplan"))


def test_a_destroy_shows_every_plan_then_asks_and_applies_exactly_those_plans(
    engine, dev, run, dev_deployed, terminal, tmp_path
):
    answers, asked = terminal
    answers.append("dev")
    assert run("destroy", dev) == 0
    ((shown, question),) = asked
    assert "destroy dev: the plan to approve" in shown and "About to destroy every stack of dev, as planned above" in (
        question
    )
    for stack in ORDER:
        assert f"=== plan {stack}, to be approved" in shown and f"{stack:<24} planned" in shown
    # Each stack planned once, before the question; the apply took that saved plan.
    assert engine.commands("plan") == list(reversed(ORDER)) and engine.commands("apply") == list(reversed(ORDER))
    assert plan_files(tmp_path) == []


def test_no_at_the_prompt_applies_nothing_and_keeps_no_plan(engine, dev, run, dev_deployed, terminal, tmp_path):
    answers, asked = terminal
    answers.append("no")
    with pytest.raises(UsageError, match="not confirmed; nothing was changed in dev"):
        run("destroy", dev)
    assert engine.commands("apply") == [] and len(engine.commands("plan")) == 4
    assert plan_files(tmp_path) == []  # a saved plan holds the state it was made from


def test_without_a_terminal_the_plans_are_shown_and_the_confirm_to_give_named(
    engine, dev, run, dev_deployed, monkeypatch, capsys
):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to destroy monitoring-dev without confirmation: run again with"):
        run("destroy", dev, stack_names="monitoring")
    assert "monitoring-dev           planned" in capsys.readouterr().out
    assert engine.commands("apply") == []


def test_a_confirm_typed_plans_each_stack_once_as_before(engine, dev, run, dev_deployed):
    assert run("destroy", dev, confirm="dev") == 0
    assert engine.commands("plan") == list(reversed(ORDER))


def test_a_protected_deploy_replans_a_consumer_after_its_producer_and_asks_about_what_was_not_shown(
    engine, state_buckets, run, terminal
):
    answers, asked = terminal
    prod = load_environment("prod")
    run("deploy", prod, confirm="prod")
    network = ["aws_vpc.vpc", ["update"], [], {"before": {"tags": {}}, "after": {"tags": {"a": "b"}}}]
    engine.set("CHANGES", json.dumps({"network-prod": [network]}))
    engine.clear()

    def yes_and_then_compute_does_more() -> str:
        # What compute plans once network is applied: more than its reviewed plan showed.
        sneaked = ["aws_sqs_queue.extra", ["create"], []]
        engine.set("CHANGES", json.dumps({"network-prod": [network], "compute-prod": [sneaked]}))
        return "prod"

    answers += [yes_and_then_compute_does_more, "no"]
    with pytest.raises(UsageError, match="refusing to apply compute-prod: planned again after the stacks it reads"):
        run("deploy", prod, force=True)
    (reviewed, first), (_, second) = asked
    assert "deploy prod: the plan to approve" in reviewed and "About to apply changes to prod" in first
    assert "+ aws_sqs_queue.extra" in second and "Type 'prod' to apply it" in second
    # network applied its reviewed plan as saved; data and compute read it, so each was planned again: data's
    # plan held nothing new, compute's did, and the no kept it (and monitoring after it) unapplied.
    assert engine.commands("plan") == ORDER_PROD + ["data-prod", "compute-prod"]
    assert engine.commands("apply") == ["network-prod"]


ORDER_PROD = [s.replace("dev", "prod") for s in ORDER]


def _tags(address: str) -> list:
    return [address, ["update"], [], {"before": {"tags": {}}, "after": {"tags": {"a": "b"}}}]


def test_a_consumer_planned_again_with_only_what_was_shown_is_not_asked_again(engine, state_buckets, run, terminal):
    answers, asked = terminal
    prod = load_environment("prod")
    run("deploy", prod, confirm="prod")
    engine.set(
        "CHANGES", json.dumps({"network-prod": [_tags("aws_vpc.vpc")], "compute-prod": [_tags("aws_sqs_queue.q")]})
    )
    engine.clear()
    answers.append("prod")
    assert run("deploy", prod, force=True) == 0
    assert len(asked) == 1  # the one yes, after the review
    assert engine.commands("apply") == ["network-prod", "compute-prod"]


def test_a_policy_planned_again_that_grants_more_than_was_shown_is_asked_about(engine, state_buckets, run, terminal):
    answers, asked = terminal
    prod = load_environment("prod")
    run("deploy", prod, confirm="prod")

    def policy(*actions: str) -> str:
        return json.dumps({"Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": "*"}]})

    def task_policy(*actions: str) -> list:
        before, after = policy("sqs:SendMessage"), policy(*actions)
        return [
            "aws_iam_role_policy.task_policy",
            ["update"],
            [],
            {"before": {"policy": before}, "after": {"policy": after}},
        ]

    shown = {
        "network-prod": [_tags("aws_vpc.vpc")],
        "compute-prod": [task_policy("sqs:SendMessage", "sqs:GetQueueUrl")],
    }
    engine.set("CHANGES", json.dumps(shown))
    engine.clear()

    def yes_then_the_policy_grants_more() -> str:
        engine.set("CHANGES", json.dumps({**shown, "compute-prod": [task_policy("sqs:SendMessage", "sqs:*")]}))
        return "prod"

    answers += [yes_then_the_policy_grants_more, "no"]
    with pytest.raises(UsageError, match="refusing to apply compute-prod"):
        run("deploy", prod, force=True)
    assert "widens: compute: aws_iam_role_policy.task_policy allows sqs:* on *" in asked[1][1]
    assert engine.commands("apply") == ["network-prod"]


def test_ctrl_c_at_the_question_is_a_no(engine, dev, run, dev_deployed, monkeypatch, tmp_path):
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)

    def ctrl_c(prompt: str) -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr("builtins.input", ctrl_c)
    with pytest.raises(UsageError, match="not confirmed; nothing was changed in dev"):
        run("destroy", dev)
    assert engine.commands("apply") == [] and plan_files(tmp_path) == []
