"""The command line: exit codes, messages without tracebacks, nothing written on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess

from shared.cli import main


def test_config_prints_the_resolved_config(capsys):
    assert main(["config", "--env", "staging"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["data"]["kinesis"]["shard_count"] == 2
    assert printed["data"]["aurora"]["engine_version"] == "16.4"  # default filled in


def test_unknown_environment_is_a_usage_error(capsys, tmp_path):
    assert main(["synth", "--env", "qa", "--outdir", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown environment 'qa'" in err and "dev, staging, prod" in err
    assert not (tmp_path / "out").exists()


def test_bad_file_synthesizes_nothing_and_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "dev.yaml").write_text("aws:\n  region: eu-west-1\nstate:\n  bucket: b-b-b\ncompute:\n  cpux: 1\n")
    (tmp_path / "staging.yaml").write_text("aws:\n  region: eu-west-1\nstate:\n  bucket: b-b-b\n")
    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(tmp_path))
    out = tmp_path / "out"
    assert main(["synth", "--outdir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{tmp_path / 'dev.yaml'}:6: compute.cpux: unknown key" in err
    assert not out.exists()  # not even the valid staging


def test_usage_errors_exit_2(capsys):
    assert main(["no-such-command"]) == 2
    assert main(["synth", "--env", "dev", "--suffix", "Bad_Suffix"]) == 2
    assert "SUFFIX='Bad_Suffix'" in capsys.readouterr().err


def test_make_synth_writes_the_contract_paths(repo_copy):
    # The Makefile wiring, end to end, in a copy so the working tree's cdktf.out is untouched.
    clone = repo_copy
    shutil.rmtree(clone / "cdktf.out")  # from nothing, as on a fresh checkout
    proc = subprocess.run(["make", "synth", "ENV=dev"], cwd=clone, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (clone / "cdktf.out/stacks/network-dev/cdk.tf.json").is_file()
    assert json.loads((clone / "cdktf.out/manifest.json").read_text())["stacks"].keys() == {
        "network-dev",
        "data-dev",
        "compute-dev",
        "monitoring-dev",
    }
    bad = subprocess.run(["make", "synth", "ENV=nope"], cwd=clone, capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "unknown environment 'nope'" in bad.stderr


def _plans_of_every_environment(monkeypatch, stop):
    """`plan` without ENV, each environment's plan replaced by `stop(env)`; the environments it reached."""
    from shared.ops.commands import plan as plan_command

    reached = []

    def plan(env, **kwargs):
        reached.append(env.name)
        stop(env)

    monkeypatch.setattr(plan_command, "plan", plan)
    return reached


def test_an_interrupt_stops_plan_of_every_environment_there_and_ends_as_an_interrupt(monkeypatch, capsys):
    # Ctrl-C or a CI cancel during dev's plan went on to plan staging and prod, and ended with exit 1, which
    # a nightly drift job reads as "drift found".
    import signal

    import pytest

    from shared.cli import Terminated
    from shared.ops.engine.process import EngineInterrupted, Result

    for raised, code in (
        (KeyboardInterrupt(), 130),
        (Terminated(), 143),
        (EngineInterrupted(signal.SIGINT, Result(130, "")), 130),
        (EngineInterrupted(signal.SIGTERM, Result(143, "")), 143),
    ):

        def stop(env, raised=raised):
            raise raised

        reached = _plans_of_every_environment(monkeypatch, stop)
        assert main(["plan"]) == code, raised
        assert reached == ["dev"], raised
        assert "plan of every environment: dev interrupted" in capsys.readouterr().out
    with pytest.raises(ZeroDivisionError):  # a defect is not a failure of the environment: it surfaces
        _plans_of_every_environment(monkeypatch, lambda env: 1 / 0)
        main(["plan"])


def test_plan_of_every_environment_goes_on_after_a_failure_and_ends_with_the_worst(monkeypatch, capsys):
    from shared.errors import OperationFailed, UsageError

    def stop(env):
        if env.name == "dev":
            raise OperationFailed("a stack could not be planned")
        if env.name == "staging":
            raise UsageError("no credentials")

    reached = _plans_of_every_environment(monkeypatch, stop)
    assert main(["plan"]) == 2
    assert reached == ["dev", "staging", "prod"]
    out = capsys.readouterr().out
    assert "plan of every environment: dev exit 1, staging exit 2, prod ok" in out
