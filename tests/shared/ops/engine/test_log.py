"""What the engine may log, and where: no secret in any engine output, whatever the shell sets."""

import os
from pathlib import Path

import pytest

from shared.errors import UsageError

# ---------------------------------------------------------------- no secret in any engine output

SECRET = "s3cr&t<pass>word-" + "x" * 20  # & < > as Go's JSON writes them: \u0026 \u003c \u003e
EVERY_LOGGING_VARIABLE = {
    "TF_LOG": "DEBUG",
    "TF_LOG_CORE": "TRACE",
    "TF_LOG_PROVIDER": "TRACE",
    "TF_LOG_PROVIDER_AWS": "TRACE",
    "TF_LOG_CLOUD": "TRACE",
    "TF_LOG_SDK": "TRACE",
    "TF_LOG_SDK_PROTO": "TRACE",
    "TF_LOG_SDK_FRAMEWORK": "TRACE",
    "TF_LOG_SDK_PROTO_DATA_DIR": "{tmp}/proto",
    "TF_LOG_PATH": "{tmp}/tf.log",
    "TF_LOG_PATH_MASK": "{tmp}/tf-%s.log",
    "TF_LOG_SOMETHING_NEW": "TRACE",  # a prefix rule: what the engine adds later is withheld too
    "TF_ACC_LOG": "TRACE",
    "TF_ACC_LOG_PATH": "{tmp}/acc.log",
}


@pytest.fixture
def command_log(monkeypatch):
    """A command's own EngineLog (shared/cli.py makes one per command), as the engine runs follow it."""
    from shared.ops.engine import log as engine_log

    def start(log: engine_log.EngineLog | None = None) -> engine_log.EngineLog:
        log = log or engine_log.EngineLog()
        monkeypatch.setattr(engine_log, "CURRENT", log)
        return log

    return start


def workdir(tmp_path: Path, name: str = "data-dev") -> Path:
    path = tmp_path / name
    path.mkdir()
    (path / "cdk.tf.json").write_text("{}")  # a stack with nothing in it: the stand-in plans it
    return path


@pytest.mark.parametrize("shell", [{"TF_LOG": "DEBUG"}, EVERY_LOGGING_VARIABLE], ids=["TF_LOG", "every one"])
def test_no_logging_variable_reaches_the_engine_and_the_tool_says_so_once(
    engine, command_log, monkeypatch, tmp_path, capsys, shell
):
    # The stand-in logs the secret at a debug level as the AWS provider logs GetSecretValue: with TF_LOG alone
    # on the console and in engine-output.log (a CI job's log and artifact), with TF_LOG_PATH in that file.
    from shared.ops.engine.discovery import find_engine
    from shared.ops.engine.process import ENGINE_OUTPUT

    for name, value in shell.items():
        monkeypatch.setenv(name, value.format(tmp=tmp_path))
    engine.set("SECRET", SECRET)
    command_log()
    found = find_engine()
    stack = workdir(tmp_path)
    assert found.run(["plan", "-input=false"], stack).returncode == 0
    assert found.capture(["plan", "-input=false"], stack).returncode == 0
    assert found.run(["apply", "-input=false", "none"], stack).returncode != 0  # runs, fails: no plan file
    assert [entry["log_env"] for entry in engine.entries()] == [{}] * 4  # version, plan, plan, apply
    shown = capsys.readouterr()
    assert SECRET not in shown.out + shown.err and SECRET not in (stack / ENGINE_OUTPUT).read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data-dev", "engine"]  # no log file, no proto dir
    names = sorted(name for name in shell)
    notice = (
        f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} set in your shell: the engine does not get "
        f"{'it' if len(names) == 1 else 'them'} (its debug log would hold secrets); for engine debugging use "
        "ENGINE_DEBUG=1\n"
    )
    assert shown.err.count(notice) == 1, shown.err


def test_variables_that_would_move_the_engine_elsewhere_never_reach_it(
    engine, command_log, monkeypatch, tmp_path, capsys
):
    """A TF_WORKSPACE left from another project would move every state key off the location whose protection,
    fingerprints and locks the tool reads; TF_CLI_ARGS_plan=-destroy would make every plan a destroy."""
    from shared.ops.engine.discovery import find_engine

    shell = {
        "TF_WORKSPACE": "other-project",
        "TF_CLI_ARGS": "-lock=false",
        "TF_CLI_ARGS_plan": "-destroy",
        "TF_CLI_ARGS_init": "-backend-config=key=elsewhere.tfstate",
        "TF_DATA_DIR": str(tmp_path / "data"),
        "TF_REATTACH_PROVIDERS": '{"registry.terraform.io/hashicorp/aws": {}}',
    }
    for name, value in shell.items():
        monkeypatch.setenv(name, value)
    command_log()
    found = find_engine()
    found.run(["plan"], workdir(tmp_path))
    found.capture(["plan"], tmp_path / "data-dev")
    assert [entry["retarget_env"] for entry in engine.entries()] == [{}] * 3  # version, plan, plan
    err = capsys.readouterr().err
    assert err.count(f"{', '.join(sorted(shell))} are set in your shell: the engine does not get it") == 1, err


def test_engine_debugging_is_off_when_it_says_so(monkeypatch):
    from shared.ops.engine import log as engine_log

    for off in ("", "0", "false", "OFF", "no"):
        assert engine_log.EngineLog.from_environment({"ENGINE_DEBUG": off}).debug_level is None


def test_without_logging_variables_the_tool_says_nothing(engine, command_log, monkeypatch, tmp_path, capsys):
    for name in [n for n in os.environ if n.startswith(("TF_LOG", "TF_ACC_LOG"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TF_LOG", "")  # set, empty: off
    command_log()
    from shared.ops.engine.discovery import find_engine

    find_engine().run(["plan"], workdir(tmp_path))
    assert "set in your shell" not in capsys.readouterr().err


def test_engine_debugging_writes_only_to_a_private_file(engine, command_log, monkeypatch, tmp_path, capsys):
    import stat
    import tempfile

    from shared.ops.engine import log as engine_log
    from shared.ops.engine.discovery import find_engine
    from shared.ops.engine.process import ENGINE_OUTPUT

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("TF_LOG", "INFO")  # the shell's: still withheld
    monkeypatch.setenv("TF_LOG_PATH", str(tmp_path / "shell.log"))
    engine.set("SECRET", SECRET)
    log = command_log(engine_log.EngineLog.from_environment({"ENGINE_DEBUG": "1"}))
    found = find_engine()
    stacks = [workdir(tmp_path, "network-dev"), workdir(tmp_path, "data-dev")]
    for stack in stacks:
        found.run(["plan"], stack)
    debug = log.debug_file
    assert debug is not None and debug.parent.parent == tmp_path / "tmp"
    assert [entry["log_env"] for entry in engine.entries()] == [{"TF_LOG": "TRACE", "TF_LOG_PATH": str(debug)}] * 3
    assert stat.S_IMODE(debug.stat().st_mode) == 0o600 and stat.S_IMODE(debug.parent.stat().st_mode) == 0o700
    assert debug.read_text().count(SECRET) == 2  # what the engine logged is there, and only there
    shown = capsys.readouterr()
    assert SECRET not in shown.out + shown.err
    assert all(SECRET not in (stack / ENGINE_OUTPUT).read_text() for stack in stacks)
    assert not (tmp_path / "shell.log").exists()
    assert shown.err.count(f"engine debug log (ENGINE_DEBUG, TF_LOG=TRACE): {debug}; it may hold secrets") == 1
    assert shown.err.count("TF_LOG, TF_LOG_PATH are set in your shell") == 1
    # A level may be named; a second command gets a folder of its own.
    again = command_log(engine_log.EngineLog.from_environment({"ENGINE_DEBUG": "debug"}))
    found.run(["plan"], stacks[0])
    assert engine.entries()[-1]["log_env"]["TF_LOG"] == "DEBUG" and again.debug_file.parent != debug.parent


@pytest.mark.parametrize("ci", [{"CI": "true"}, {"CI": "1"}, {"CI": "true "}, {"CI": "", "GITHUB_ACTIONS": "true"}])
def test_engine_debugging_is_refused_under_ci(engine, monkeypatch, tmp_path, capsys, ci):
    from shared.cli import main

    monkeypatch.chdir(tmp_path)  # were it not refused, nothing would land in this checkout
    for name, value in ci.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ENGINE_DEBUG", "1")
    assert main(["plan", "--env", "dev"]) == 2
    assert "ENGINE_DEBUG=1 is refused under CI=true: the engine's debug log holds secrets" in capsys.readouterr().err
    assert engine.calls() == []


def test_engine_debugging_never_writes_where_ci_uploads(tmp_path, monkeypatch):
    import tempfile

    from shared.ops.engine import log as engine_log

    monkeypatch.chdir(tmp_path)
    for top in ("cdktf.out", "reports", "outputs"):
        (tmp_path / top / "tmp").mkdir(parents=True)
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / top / "tmp"))
        with pytest.raises(UsageError, match=f"is inside {top}/, which CI uploads"):
            engine_log.EngineLog.from_environment({"ENGINE_DEBUG": "1"})
