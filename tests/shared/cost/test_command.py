"""make cost through the command line: every real environment without ENV, the reports written, exit codes."""

from __future__ import annotations

import json

from shared.cli import main


def test_make_cost_writes_each_real_environment_s_reports(presynthesized, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    presynthesized(tmp_path / "cdktf.out")
    assert main(["cost"]) == 0
    written = sorted(p.name for p in (tmp_path / "reports").iterdir())
    assert written == [f"{e}-cost.{x}" for e in ("dev", "prod", "staging") for x in ("json", "md")]
    out = capsys.readouterr().out
    assert "staging: monthly estimate, USD, us-east-1 on-demand prices" in out
    assert "up to date (synthesis skipped)" in out


def test_an_emulator_environment_is_priced_when_named(presynthesized, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    presynthesized(tmp_path / "cdktf.out")
    assert main(["cost", "--env", "local"]) == 0
    assert json.loads((tmp_path / "reports" / "local-cost.json").read_text())["env"] == "local"


def test_an_unknown_environment_is_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["cost", "--env", "qa"]) == 2
    assert not (tmp_path / "reports").exists()
