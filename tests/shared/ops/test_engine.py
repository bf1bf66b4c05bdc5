"""The engine wrapper: offline provider installation, version reporting, output that holds any byte."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from shared.errors import UsageError
from shared.ops.engine import Engine, mirrored_providers, provider_mirror, write_cli_config


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

    from shared.ops import engine

    interrupts = engine._Interrupts()
    sent = []

    def stop(proc) -> None:
        sent.append(proc)
        if len(sent) == 1:
            interrupts._on_signal(signal.SIGINT, None)  # the third Ctrl-C, inside the second's handler

    monkeypatch.setattr(engine, "_stop", stop)
    interrupts.register("apply", applying=True)
    interrupts._on_signal(signal.SIGINT, None)  # first: let the apply finish
    done = threading.Event()
    worker = threading.Thread(target=lambda: (interrupts._on_signal(signal.SIGINT, None), done.set()), daemon=True)
    worker.start()  # the second, where a deadlock cannot hang the suite
    assert done.wait(timeout=10), "the handler waited for itself"
    assert sent == ["apply"]  # exactly one graceful stop
    assert "the engine is still saving state" in capsys.readouterr().err
