"""The command line: exit codes, messages without tracebacks, nothing written on bad input."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

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


# ---------------------------------------------------------------- consent only from the command line


@pytest.fixture
def checkout(tmp_path, monkeypatch, presynthesized):
    """A working directory as a command's (cdktf.out synthesized), so that nothing lands in this checkout."""
    presynthesized(tmp_path / "cdktf.out")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("argv", "variable", "value", "flag"),
    [
        (["destroy", "--env", "dev", "--stack", "monitoring"], "CONFIRM", "dev", "--confirm dev"),
        (["deploy", "--env", "dev", "--stack", "network"], "FORCE", "1", "--force"),
        (["deploy", "--env", "dev", "--stack", "data"], "ALLOW_REPLACE", "data:aws_sqs_queue.dlq", "--allow-replace"),
        (["promote", "--from", "dev", "--to", "staging"], "CONFIRM", "staging", "--confirm staging"),
        (["plan", "--env", "dev"], "CONFIRM", "dev", "--confirm dev"),
    ],
)
def test_called_directly_a_consent_variable_in_its_environment_is_refused(
    checkout, engine, monkeypatch, capsys, argv, variable, value, flag
):
    # The command line never read FORCE or ALLOW_REPLACE from its environment, but it read CONFIRM: whoever
    # calls it directly with one exported believes it counts. Make never passes them on (it unexports them).
    monkeypatch.setenv(variable, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"{variable}={value} is set in your environment, and this command never reads consent from it" in err
    assert f"pass {flag}" in err and f"unset {variable}" in err and "nothing was run" in err
    assert engine.calls() == []


def test_called_directly_consent_counts_as_a_flag(checkout, state_buckets, engine, monkeypatch, capsys):
    monkeypatch.setenv("CONFIRM", "")  # set, but empty: nothing anyone could take for a yes
    monkeypatch.setenv("FORCE", "0")
    assert main(["destroy", "--env", "dev", "--stack", "monitoring", "--confirm", "dev"]) == 0, capsys.readouterr()
    assert engine.commands("plan") == ["monitoring-dev"]
    monkeypatch.setenv("CONFIRM", "dev")
    assert main(["destroy", "--env", "dev", "--stack", "monitoring", "--confirm", "dev"]) == 2


@pytest.mark.parametrize(
    ("not_typed", "argv", "message"),
    [
        (
            "CONFIRM=environment",
            ["destroy", "--env", "dev", "--stack", "monitoring", "--confirm", "dev"],
            "CONFIRM=dev came from your shell's environment, not the make command line: consent counts only on the "
            "command line (make destroy ENV=dev STACK=monitoring CONFIRM=dev); unset CONFIRM; nothing was run",
        ),
        (
            "FORCE=makeflags",
            ["deploy", "--env", "dev", "--force"],
            "FORCE came from MAKEFLAGS in your shell's environment (or a make that runs this one), not the make "
            "command line: consent counts only on the command line (make deploy ENV=dev FORCE=1); take it out of "
            "MAKEFLAGS",
        ),
        (
            "ALLOW_REPLACE=file",
            ["deploy", "--env", "dev", "--allow-replace", "data:aws_sqs_queue.dlq"],
            "ALLOW_REPLACE=data:aws_sqs_queue.dlq came from a makefile other than the project's (MAKEFILES, -f or "
            "--eval)",
        ),
        (
            "ENV=environment",
            ["unlock", "--env", "/home/someone/.shrc", "--stack", "data", "--lock-id", "x"],
            "ENV=/home/someone/.shrc came from your shell's environment, not the make command line: a command that "
            "changes something takes what it works on only from the command line (make unlock ENV=<env> STACK=data "
            "LOCK_ID=x); unset ENV",
        ),
        ("LOCK_ID=environment", ["unlock", "--env", "dev", "--stack", "data", "--lock-id", "x"], "LOCK_ID=x came"),
        ("SUFFIX=environment", ["smoke", "--env", "dev", "--suffix", "pr-1"], "SUFFIX=pr-1 came from your shell's"),
    ],
)
def test_what_make_did_not_get_typed_is_refused_before_anything_runs(
    checkout, engine, monkeypatch, capsys, not_typed, argv, message
):
    monkeypatch.setenv("STREAMFLIX_NOT_TYPED", not_typed)
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert engine.calls() == []


def test_a_command_that_changes_something_says_where_the_environment_files_come_from(monkeypatch, tmp_path, capsys):
    from shared.cli import main

    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(tmp_path))  # holds no environment
    assert main(["destroy", "--env", "dev", "--confirm", "dev"]) == 2
    err = capsys.readouterr().err
    assert f"environments are read from {tmp_path} (STREAMFLIX_ENVIRONMENTS_DIR), not environments/" in err
    assert main(["config", "--env", "dev"]) == 2
    assert "environments are read from" not in capsys.readouterr().err  # a read says nothing
