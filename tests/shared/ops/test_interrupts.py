"""Interrupts at exact moments, with the stand-in engine (it traps signals and takes a second to save
state, as Terraform does): the engine stops gracefully once, the summary names where, nothing half-done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest


@pytest.fixture
def cli(repo_copy, engine, fresh_aws):
    moto_server = fresh_aws
    """Start `python -m shared.cli ...` in the repository copy as a terminal's foreground job would."""

    def start(*args: str) -> subprocess.Popen:
        env = dict(os.environ, AWS_ENDPOINT_URL=moto_server, AWS_ACCESS_KEY_ID="testing",
                   AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
        env.pop("AWS_PROFILE", None)
        return subprocess.Popen([sys.executable, "-m", "shared.cli", *args], cwd=repo_copy, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                text=True, start_new_session=True)  # fmt: skip

    return start


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(
                f"the command ended ({proc.returncode}) first:\n{proc.stdout.read()}\n{proc.stderr.read()}"
            )
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def slow_deploy(cli, engine, stack: str) -> subprocess.Popen:
    """`deploy --env dev`, returned once the stand-in engine is inside the slow apply of `stack`."""
    engine.set("SLOW", f"apply:{stack}")
    proc = cli("deploy", "--env", "dev")
    wait_for(engine.state / f"{stack}.trapping", proc)
    return proc


def signals_received(engine, stack: str) -> list[str]:
    path = engine.state / f"{stack}.signals"
    return path.read_text().split() if path.exists() else []


def ctrl_c(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGINT)  # a terminal signals the whole foreground group
    time.sleep(0.3)


def test_ctrl_c_during_apply_lets_that_apply_finish_and_starts_nothing_more(cli, engine, repo_copy):
    proc = slow_deploy(cli, engine, "compute-dev")
    ctrl_c(proc)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert signals_received(engine, "compute-dev") == []  # not stopped: nothing it creates is orphaned
    assert "compute-dev              applied" in out and "monitoring-dev           not run" in out
    assert "interrupted after compute-dev finished; no further stack was started" in err
    assert "letting the engine finish this apply" in err and "Traceback" not in err
    assert "bytes: caf\ufffd" in out  # a byte that is not UTF-8 is shown, not fatal
    assert not (repo_copy / "outputs" / "dev.json").exists()  # no partial outputs, no release
    assert "monitoring-dev" not in {stack for _, stack, _ in engine.calls()}


def test_a_second_ctrl_c_passes_on_exactly_one_graceful_stop(cli, engine):
    proc = slow_deploy(cli, engine, "compute-dev")
    ctrl_c(proc)
    ctrl_c(proc)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert signals_received(engine, "compute-dev") == ["SIGINT"]
    assert json.loads((engine.state / "compute-dev.json").read_text()) == {"partial": "saved"}  # it saved
    assert "compute-dev              interrupted" in out
    assert "interrupted during apply of compute-dev; the engine stopped with its state saved" in err


def test_a_third_ctrl_c_only_warns_and_a_fourth_forces_the_stop(cli, engine):
    proc = slow_deploy(cli, engine, "network-dev")
    ctrl_c(proc)
    ctrl_c(proc)
    wait_for(engine.state / "network-dev.signals", proc)
    ctrl_c(proc)
    assert signals_received(engine, "network-dev") == ["SIGINT"]  # the third one was not passed on
    ctrl_c(proc)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "still saving state" in err and "forcing" in err
    assert signals_received(engine, "network-dev") == ["SIGINT", "SIGINT"]
    assert not (engine.state / "network-dev.json").exists()  # the forced stop saved nothing, as warned


def test_sigterm_to_the_tool_alone_stops_the_engine_gracefully_at_once(cli, engine):
    proc = slow_deploy(cli, engine, "data-dev")
    proc.send_signal(signal.SIGTERM)  # what CI sends on cancel (with a deadline): to the tool only
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert signals_received(engine, "data-dev") == ["SIGINT"]
    assert (engine.state / "data-dev.json").exists()
    assert "data-dev                 interrupted" in out and "Traceback" not in err


def test_ctrl_c_during_synthesis_keeps_the_previous_tree(cli, repo_copy):
    out = repo_copy / "cdktf.out"  # holds an earlier synthesis (conftest's repo_copy)
    before = {p: p.read_bytes() for p in out.rglob("cdk.tf.json")}
    proc = cli("synth", "--env", "dev")
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".synth-") for p in out.iterdir()):
        assert time.monotonic() < deadline and proc.poll() is None, "synthesis never started"
        time.sleep(0.02)
    # now inside the synthesis (the jsii runtime is loaded before the scratch folder is made)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert err.strip().endswith("interrupted") and "Traceback" not in err, err
    assert {p: p.read_bytes() for p in out.rglob("cdk.tf.json")} == before
    assert not any(p.name.startswith(".synth-") for p in out.iterdir())


def test_a_second_command_on_the_environment_is_refused_naming_the_first(cli, engine, repo_copy, moto_server):
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_server, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")  # fmt: skip
    s3.create_bucket(Bucket="streamflix-tfstate-dev")  # where the deploy records its release
    first = slow_deploy(cli, engine, "network-dev")
    second = cli("synth", "--env", "dev")  # would rewrite the JSON the deploy is using
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert f"dev is in use by another command in this checkout (pid {first.pid}, `shared.cli deploy --env dev`" in err
    other = cli("synth", "--env", "staging")  # another environment runs side by side
    assert other.wait(timeout=120) == 0
    out, err = first.communicate(timeout=60)
    assert first.returncode == 0, err  # the deploy was not disturbed
    assert (repo_copy / "cdktf.out/stacks/network-staging/cdk.tf.json").is_file()
