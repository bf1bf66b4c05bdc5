"""`make local` stops before anything starts where it cannot finish, saying what is missing (stand-in); the
whole run, twice, and `make local-down` are in the real-engine e2e (tests/test_e2e.py)."""

from __future__ import annotations

import pytest

from shared.cli import main


@pytest.fixture
def checkout(tmp_path, presynthesized, monkeypatch):
    """A working directory whose cdktf.out holds every environment's synthesis (no synthesis here)."""
    from shared.ops.commands import emulator

    presynthesized(tmp_path / "cdktf.out")
    monkeypatch.chdir(tmp_path)
    # What is tested here stops before the emulator; were it to go on, it must not start one on local's port.
    monkeypatch.setattr(emulator, "start", lambda env: pytest.fail(f"an emulator was started at {env.aws.endpoint}"))
    return tmp_path


def nothing_started(checkout) -> bool:
    return not (checkout / ".emulator").exists() and not (checkout / "outputs").exists()


def test_without_an_engine_nothing_starts_and_the_message_says_what_to_install(checkout, monkeypatch, capsys):
    monkeypatch.setenv("TF_BIN", str(checkout / "no-such-terraform"))
    assert main(["local", "--env", "local"]) == 2
    err = capsys.readouterr().err
    assert "make local needs a deploy engine: TF_BIN=" in err and "install Terraform 1.11 or newer" in err
    assert "make synth and make test work without them" in err and "nothing was started" in err
    assert "Traceback" not in err and nothing_started(checkout)


def test_offline_without_a_mirror_nothing_starts_and_the_message_names_the_provider(checkout, engine, capsys):
    engine.set("UNINSTALLABLE", "hashicorp/aws")
    assert main(["local", "--env", "local"]) == 2
    err = capsys.readouterr().err
    assert "local needs the provider hashicorp/aws 5.100.0, and the engine cannot install it" in err, err
    assert "nothing was started. make synth and make test work without them" in err
    assert "TF_PROVIDER_MIRROR=/path/to/mirror make local" in err
    assert [args[:2] for cmd, _, args in engine.calls() if cmd != "init"] == []  # only the preflight's init
    assert engine.commands("init") == ["local"]  # one init, in a scratch directory, removed again
    assert nothing_started(checkout)


def test_the_preflight_installs_exactly_the_providers_the_stacks_require(checkout, engine):
    from shared.config import load_environment
    from shared.ops.commands import local
    from shared.ops.engine.discovery import find_engine

    engine.set("UNINSTALLABLE", "hashicorp/random")  # local's stacks need only AWS's: the preflight passes
    local._providers_installable(find_engine(), load_environment("local"), checkout / "cdktf.out")
    ((_, stack, args),) = engine.calls()
    assert stack == "local" and args == ["init", "-backend=false", "-input=false", "-no-color"]


def test_a_real_environment_is_refused(checkout, engine, capsys):
    assert main(["local", "--env", "dev"]) == 2
    assert "dev lives in AWS: use make deploy ENV=dev" in capsys.readouterr().err
    assert engine.calls() == []


def test_local_down_with_no_emulator_running_says_so_and_succeeds(checkout, engine, capsys, monkeypatch):
    import shutil

    from shared.paths import ENVIRONMENTS_DIR
    from tests.support.local_pipeline import LOCAL
    from tests.support.ports import free_port

    environments = checkout / "environments"  # local on a port nothing listens on
    shutil.copytree(ENVIRONMENTS_DIR, environments)
    config = environments / "local.yaml"
    config.write_text(config.read_text().replace(LOCAL.aws.endpoint, f"http://127.0.0.1:{free_port()}"))
    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(environments))
    assert main(["local-down", "--env", "local"]) == 0
    assert "nothing is deployed there" in capsys.readouterr().out
    assert engine.calls() == []


def test_local_down_reads_the_states_to_know_whether_anything_is_deployed(state_buckets):
    """No engine and no init for an environment whose stacks' states hold nothing (as after a destroy)."""
    import json

    from shared.config import load_environment
    from shared.naming import state_key
    from shared.ops.commands import local
    from tests.support.moto_pipeline import mocked_client

    dev = load_environment("dev")  # in this process's moto, as local is in its emulator
    s3 = mocked_client("s3", dev.state_region)
    assert not local._anything_deployed(dev)  # no state at all
    empty = {"version": 4, "outputs": {}, "resources": []}
    for name in ("network", "data", "compute", "monitoring"):
        s3.put_object(Bucket=dev.state.bucket, Key=state_key(dev, name), Body=json.dumps(empty).encode())
    assert not local._anything_deployed(dev)  # destroyed: states without outputs or resources
    failed = {"version": 4, "outputs": {}, "resources": [{"mode": "managed", "type": "aws_vpc", "name": "vpc"}]}
    s3.put_object(Bucket=dev.state.bucket, Key=state_key(dev, "network"), Body=json.dumps(failed).encode())
    assert local._anything_deployed(dev)  # a first apply that failed: resources, no outputs yet
    deployed = {"version": 4, "outputs": {"vpc_id": {"value": "vpc-1", "type": "string"}}}
    s3.put_object(Bucket=dev.state.bucket, Key=state_key(dev, "network"), Body=json.dumps(deployed).encode())
    assert local._anything_deployed(dev)
    s3.put_object(Bucket=dev.state.bucket, Key=state_key(dev, "network"), Body=b"\xff not a state")
    assert local._anything_deployed(dev)  # unreadable: the destroy finds out


@pytest.mark.parametrize("how", ["failed", "interrupted"])
def test_a_local_down_that_stops_half_way_keeps_the_emulator_and_says_how_to_stop_it(monkeypatch, capsys, how):
    import signal

    from shared.config import load_environment
    from shared.errors import OperationFailed
    from shared.ops.commands import emulator, local
    from shared.ops.engine.process import EngineInterrupted, Result
    from shared.ops.runner import run as runner

    stopped = []
    monkeypatch.setattr(emulator, "answers", lambda endpoint: True)
    monkeypatch.setattr(emulator, "stop", stopped.append)
    monkeypatch.setattr(local, "_anything_deployed", lambda env: True)
    raised = OperationFailed("destroy failed") if how == "failed" else EngineInterrupted(signal.SIGINT, Result(130, ""))

    def destroy(*args, **kwargs):
        raise raised

    monkeypatch.setattr(runner, "perform", destroy)
    with pytest.raises(type(raised)):
        local.down(load_environment("local"))
    assert "the emulator keeps running, to look at: make emulator-stop ENV=local stops it" in capsys.readouterr().out
    assert stopped == []
