"""Outcomes and the report: a status is one of a fixed set of words; counts are shown where they mean something."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.config import load_environment
from shared.ops.engine.workdir import Stack
from shared.ops.runner.outcome import Outcome, Report, Status


def outcome(status: Status, **kw) -> Outcome:
    return Outcome(Stack("data", "data-dev", Path("/nowhere"), ()), status=status, **kw)


def test_a_status_is_written_as_its_word_in_the_summary_and_the_json(tmp_path, capsys):
    report = Report("plan", load_environment("dev"), [outcome(Status.PLANNED, add=2), outcome(Status.NO_CHANGES)])
    report.print()
    out = capsys.readouterr().out
    assert "data-dev                 planned     +2 ~0 -0" in out
    assert "data-dev                 no changes" in out and "no changes  +0" not in out
    doc = json.loads(report.write(tmp_path).read_text())
    assert [s["status"] for s in doc["stacks"]] == ["planned", "no changes"]


def test_the_statuses_are_the_words_reports_have_always_used():
    assert {s.value for s in Status} == {
        "not run",
        "planned",
        "no changes",
        "applied",
        "destroyed",
        "refused",
        "failed",
        "interrupted",
        "drifted",
        "in sync",
        "unchanged",
    }


def test_failed_and_refused_are_what_the_report_says(capsys):
    report = Report("deploy", load_environment("dev"), [outcome(Status.REFUSED), outcome(Status.FAILED, error="boom")])
    assert report.failed and [o.status for o in report.refused] == [Status.REFUSED]
    report.print()
    assert "data-dev failed; the engine said:\nboom" in capsys.readouterr().err


CHANGES = [
    {"address": "aws_sqs_queue.new", "actions": ["create"], "attributes": ["name", "tags"], "forces_replacement": []},
    {"address": "aws_ecs_service.service", "actions": ["update"], "attributes": ["desired_count", "task_definition"],
     "forces_replacement": []},
    {"address": "aws_sqs_queue.dlq", "actions": ["delete", "create"], "attributes": ["name", "tags"],
     "forces_replacement": ["name"]},
    {"address": "aws_kms_key.old", "actions": ["delete"], "attributes": ["arn"], "forces_replacement": []},
    {"address": "aws_iam_role.task", "actions": ["create", "delete"], "attributes": [],
     "forces_replacement": ["name"]},
]  # fmt: skip


def test_every_changed_resource_is_a_line_under_its_stack_a_replacement_as_one(capsys):
    report = Report(
        "plan", load_environment("dev"), [outcome(Status.PLANNED, add=3, change=1, destroy=3, changes=CHANGES)]
    )
    report.print()
    out = capsys.readouterr().out
    assert "data-dev                 planned     +3 ~1 -3\n" in out
    lines = out.split("+3 ~1 -3\n", 1)[1].splitlines()[:5]
    assert lines == [
        "        + aws_sqs_queue.new",  # what a create sets is not news: the address says it
        "        ~ aws_ecs_service.service: desired_count, task_definition",
        "      -/+ aws_sqs_queue.dlq: name (forces replacement), tags",
        "        - aws_kms_key.old",
        "      +/- aws_iam_role.task: name (forces replacement)",
    ]


@pytest.mark.parametrize(
    ("action", "where"),
    [("plan", ": all in reports/dev-plan.json"), ("destroy", ": all in reports/dev-destroy.json"), ("outputs", "")],
)
def test_a_long_list_folds_into_a_count_and_says_where_the_rest_is(capsys, action, where):
    many = [{"address": f"aws_sqs_queue.q{i:02}", "actions": ["delete"], "attributes": []} for i in range(25)]
    Report(action, load_environment("dev"), [outcome(Status.PLANNED, destroy=25, changes=many)]).print()
    out = capsys.readouterr().out
    assert "aws_sqs_queue.q19" in out and "aws_sqs_queue.q20" not in out
    assert f"      ... and 5 more{where}\n" in out


def test_no_resource_lines_where_nothing_was_planned_or_applied(capsys):
    report = Report("deploy", load_environment("dev"), [outcome(Status.FAILED, changes=CHANGES, error="boom")])
    report.print()
    assert "aws_sqs_queue" not in capsys.readouterr().out


def test_the_markdown_report_holds_every_line_folded_per_stack():
    many = CHANGES * 6  # past the terminal's fold: the page keeps all of them
    markdown = Report("plan", load_environment("dev"), [outcome(Status.PLANNED, add=1, changes=many)]).markdown()
    assert "<details><summary>data-dev: +1 ~0 -0</summary>" in markdown
    assert markdown.count("-/+ aws_sqs_queue.dlq: name (forces replacement), tags") == 6
    assert markdown.count("aws_") == len(many)


def test_the_json_report_says_what_ran_when_and_why_a_stack_failed_or_was_refused(tmp_path):
    outcomes = [outcome(Status.FAILED, error="Error: boom"), outcome(Status.REFUSED, refusal="refusing to apply")]
    doc = json.loads(Report("deploy", load_environment("dev"), outcomes).write(tmp_path).read_text())
    assert len(doc["revision"]) == 40 and doc["generated_at"].endswith("Z")
    assert doc["failed"] is True and doc["refused"] == ["data-dev"]
    assert [(s["error"], s["refusal"]) for s in doc["stacks"]] == [("Error: boom", ""), ("", "refusing to apply")]


def test_the_markdown_report_says_the_revision_why_a_stack_failed_and_keeps_its_fence():
    markdown = Report(
        "plan", load_environment("dev"), [outcome(Status.FAILED, error="Error: ``` in a value\n")]
    ).markdown("0123456789abcdef0123", "2026-12-05T10:00:00Z")
    assert "revision `0123456789ab` · 2026-12-05T10:00:00Z" in markdown
    assert "<details><summary>data-dev failed: why</summary>" in markdown
    assert "Error: ''' in a value" in markdown and markdown.count("```") == 2  # the engine's text cannot close it
    assert "To apply it" not in markdown  # nothing to apply from a failed plan


@pytest.mark.parametrize(
    ("name", "suffix", "command"),
    [
        ("dev", None, "make deploy ENV=dev"),
        ("staging", None, "make promote FROM=dev TO=staging"),
        ("prod", None, "make promote FROM=staging TO=prod"),
        ("prod", "pr-7", "make deploy ENV=prod SUFFIX=pr-7"),  # a copy is nobody's promotion
    ],
)
def test_a_plan_ends_with_the_command_that_applies_it(name, suffix, command):
    env = load_environment(name, suffix=suffix) if suffix else load_environment(name)
    changed = [outcome(Status.PLANNED, add=1, changes=CHANGES[:1])]
    assert f"To apply it: `{command}`" in Report("plan", env, changed).markdown()
    assert "To apply it" not in Report("plan", env, [outcome(Status.NO_CHANGES)]).markdown()


def test_the_command_that_applies_a_plan_with_precious_findings_names_each_as_a_refusal_asks():
    from shared.ops.runner.guard import Finding

    found = Finding("data", "aws_sqs_queue.dlq", "delete", ("name",), "every failed job")
    report = Report("plan", load_environment("dev"), [outcome(Status.PLANNED, changes=CHANGES[2:3], precious=[found])])
    assert report.next_step() == "make deploy ENV=dev ALLOW_REPLACE=data:aws_sqs_queue.dlq"


def test_each_stack_says_its_seconds_and_the_summary_the_total(tmp_path, capsys):
    report = Report(
        "deploy",
        load_environment("dev"),
        [outcome(Status.APPLIED, add=1, seconds=12.34), outcome(Status.UNCHANGED, seconds=0.01)],
        seconds=15.0,
    )
    report.print()
    out = capsys.readouterr().out
    assert "data-dev                 applied     +1 ~0 -0       (12.3 s)" in out
    assert "unchanged" in out and "(0.0 s)" not in out  # a skipped stack took no time worth saying
    assert "  2 stacks in 15.0 s" in out
    assert json.loads(report.write(tmp_path).read_text())["seconds"] == 15.0


@pytest.mark.parametrize(
    ("terminal", "no_color", "coloured"), [(True, "", True), (True, "1", False), (False, "", False)]
)
def test_colour_only_on_a_terminal_that_wants_it(capsys, monkeypatch, terminal, no_color, coloured):
    import sys

    monkeypatch.setenv("NO_COLOR", no_color)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: terminal)
    Report("deploy", load_environment("dev"), [outcome(Status.FAILED), outcome(Status.APPLIED)]).print()
    out = capsys.readouterr().out
    assert ("\033[31mfailed" in out and "\033[32mapplied" in out) is coloured
    assert ("\033[" in out) is coloured


def test_the_engines_own_plan_is_folded_under_its_stack_and_cut_where_very_long(monkeypatch):
    from shared.ops.runner import outcome as module

    text = "Terraform will perform the following actions:\n  # aws_sqs_queue.dlq will be updated in-place\n```"
    planned = outcome(Status.PLANNED, change=1, changes=CHANGES[:1], plan_text=text)
    markdown = Report("plan", load_environment("dev"), [planned]).markdown()
    folded = markdown.split("<details><summary>data-dev: the engine's plan</summary>", 1)[1].split("</details>", 1)[0]
    assert "# aws_sqs_queue.dlq will be updated in-place" in folded and "'''" in folded  # its fence cannot close ours
    monkeypatch.setattr(module, "PLAN_TEXT_KEPT", 20)
    cut = Report("plan", load_environment("dev"), [planned]).markdown()
    assert "... (cut at 20 characters: the job's log has it all)" in cut and "will be updated" not in cut
