"""The engine wrapper: offline provider installation, version reporting, output that holds any byte."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from shared.errors import UsageError
from shared.ops.engine import interrupts as interrupts_module
from shared.ops.engine.interrupts import _Interrupts
from shared.ops.engine.process import Engine
from shared.ops.engine.providers import mirrored_providers, provider_mirror, write_cli_config


def make_mirror(root: Path, *providers: str) -> Path:
    for spec in providers:  # "hashicorp/aws/5.100.0"
        namespace, name, version = spec.split("/")
        (root / "registry.terraform.io" / namespace / name / version / "linux_amd64").mkdir(parents=True)
    return root


def test_a_mirror_lists_its_providers_and_versions(tmp_path):
    mirror = make_mirror(tmp_path, "hashicorp/aws/5.100.0", "hashicorp/aws/6.25.0", "hashicorp/random/3.7.2")
    assert mirrored_providers(mirror) == {
        "registry.terraform.io/hashicorp/aws": ["5.100.0", "6.25.0"],
        "registry.terraform.io/hashicorp/random": ["3.7.2"],
    }


def test_the_cli_config_takes_mirrored_providers_only_from_the_mirror(tmp_path):
    mirror = make_mirror(tmp_path / "m", "hashicorp/aws/5.100.0")
    text = write_cli_config(mirror, tmp_path / "out" / "terraform.rc").read_text()
    assert f'path    = "{mirror}"' in text
    # Both blocks name the provider: without the exclude, the engine would also ask the registry for it.
    assert text.count('"registry.terraform.io/hashicorp/aws"') == 2
    assert "include = [" in text and "exclude = [" in text


def test_a_mirror_that_holds_nothing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path))
    with pytest.raises(UsageError, match="holds no providers"):
        provider_mirror()
    monkeypatch.delenv("TF_PROVIDER_MIRROR")
    assert provider_mirror() is None


def test_output_with_bytes_that_are_not_utf8_is_shown_not_fatal(tmp_path, capsys):
    script = tmp_path / "engine"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.buffer.write(b'caf\\xe9\\n'); sys.exit(3)\n")
    script.chmod(0o755)
    engine = Engine(str(script), "1.11.0")
    result = engine.run([], tmp_path)
    assert result.returncode == 3 and result.output == "caf\ufffd\n"
    assert "caf\ufffd" in capsys.readouterr().out
    assert engine.capture([], tmp_path).output == "caf\ufffd\n"


def test_an_emulator_environment_never_gets_real_credentials(monkeypatch, tmp_path):
    from shared.config import load_environment
    from shared.ops.aws import engine_environment

    monkeypatch.setenv("AWS_PROFILE", "production-admin")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "real-token")
    engine = Engine("terraform", "1.11.0").configured(engine_environment(load_environment("local")), tmp_path)
    env = engine._variables()
    assert env["AWS_ACCESS_KEY_ID"] == "test" and "AWS_PROFILE" not in env and "AWS_SESSION_TOKEN" not in env
    real = Engine("terraform", "1.11.0").configured(engine_environment(load_environment("dev")), tmp_path)._variables()
    assert real["AWS_PROFILE"] == "production-admin"


def test_a_ctrl_c_that_lands_while_the_last_one_is_being_passed_on_only_warns(monkeypatch, capsys):
    # A signal's handler runs between any two bytecodes of the main thread, also inside the handler
    # of the signal before: here the third Ctrl-C lands while the second is being passed on. With a
    # plain lock the tool waited for itself forever; counting the stop after sending it made the
    # third Ctrl-C send another one (the engine then quits without saving).
    import signal
    import threading

    interrupts = _Interrupts()
    sent = []

    def stop(proc) -> None:
        sent.append(proc)
        if len(sent) == 1:
            interrupts._on_signal(signal.SIGINT, None)  # the third Ctrl-C, inside the second's handler

    monkeypatch.setattr(interrupts_module, "_stop", stop)
    interrupts.register("apply", applying=True)
    interrupts._on_signal(signal.SIGINT, None)  # first: let the apply finish
    done = threading.Event()
    worker = threading.Thread(target=lambda: (interrupts._on_signal(signal.SIGINT, None), done.set()), daemon=True)
    worker.start()  # the second, where a deadlock cannot hang the suite
    assert done.wait(timeout=10), "the handler waited for itself"
    assert sent == ["apply"]  # exactly one graceful stop
    assert "the engine is still saving state" in capsys.readouterr().err


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
