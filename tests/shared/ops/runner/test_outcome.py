"""Outcomes and the report: a status is one of a fixed set of words; counts are shown where they mean something."""

from __future__ import annotations

import json
from pathlib import Path

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
