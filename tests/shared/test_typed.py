"""What counts only when typed (shared/typed.py), through the command line: consent and what a command that
changes something works on, never from the shell's environment."""

from __future__ import annotations

import pytest

from shared.cli import main


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
