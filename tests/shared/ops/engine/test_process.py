"""One engine run: output that holds any byte, and the environment it gets."""

import sys

from shared.ops.engine.process import Engine


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
