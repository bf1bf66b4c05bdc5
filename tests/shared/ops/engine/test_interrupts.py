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

from shared.ops.engine import interrupts as interrupts_module
from shared.ops.engine.interrupts import _Interrupts
from tests.support.served_aws import served_aws_client, served_aws_env


class Command:
    """`python -m shared.cli ...` started in the repository copy as a terminal's foreground job would
    be: a process group of its own. Its output goes to files, so the test can wait for what it says
    (each step moves on when the tool has shown it handled the last, not after a guessed sleep)."""

    def __init__(self, args: tuple[str, ...], cwd: Path, env: dict[str, str], logs: Path):
        logs.mkdir(parents=True, exist_ok=True)
        self.out_file, self.err_file = logs / "stdout", logs / "stderr"
        with open(self.out_file, "wb") as out, open(self.err_file, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shared.cli", *args],
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = self.proc.pid

    def err(self) -> str:
        return self.err_file.read_text(errors="replace")

    def said(self, text: str, timeout: float = 60) -> None:
        """Wait until the tool has printed `text` to stderr."""
        deadline = time.monotonic() + timeout
        while text not in self.err():
            if self.proc.poll() is not None and text not in self.err():
                raise AssertionError(f"ended ({self.proc.returncode}) without saying {text!r}:\n{self.err()}")
            assert time.monotonic() < deadline, f"never said {text!r}:\n{self.err()}"
            time.sleep(0.01)

    def ctrl_c(self, then_says: str) -> None:
        os.killpg(self.pid, signal.SIGINT)  # a terminal signals the whole foreground group
        self.said(then_says)

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        return code, self.out_file.read_text(errors="replace"), self.err()


@pytest.fixture
def cli(repo_copy, engine, fresh_aws, tmp_path):
    started = []

    def start(*args: str, **variables: str) -> Command:
        logs = tmp_path / "commands" / str(len(started))
        started.append(Command(args, repo_copy, {**served_aws_env(fresh_aws), **variables}, logs))
        return started[-1]

    yield start
    for command in started:  # a failed test leaves nothing running
        if command.proc.poll() is None:
            os.killpg(command.pid, signal.SIGKILL)
            command.proc.wait()


def wait_for(path: Path, command: Command, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if command.proc.poll() is not None:
            raise AssertionError(f"the command ended ({command.proc.returncode}) first:\n{command.err()}")
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def slow_deploy(cli, engine, stack: str) -> Command:
    """`deploy --env dev`, returned once the stand-in engine is inside the slow apply of `stack` (which
    works until the test touches <stack>.finish)."""
    engine.set("SLOW", f"apply:{stack}")
    command = cli("deploy", "--env", "dev")
    wait_for(engine.state / f"{stack}.trapping", command)
    return command


def signals_received(engine, stack: str) -> list[str]:
    path = engine.state / f"{stack}.signals"
    return path.read_text().split() if path.exists() else []


LETTING_IT_FINISH = "interrupted: letting the engine finish this apply"
STOPPING = "interrupted: the engine is stopping gracefully"


def test_ctrl_c_during_apply_lets_that_apply_finish_and_starts_nothing_more(cli, engine, repo_copy):
    deploy = slow_deploy(cli, engine, "compute-dev")
    deploy.ctrl_c(then_says=LETTING_IT_FINISH)
    (engine.state / "compute-dev.finish").touch()  # the apply ends as it would have
    code, out, err = deploy.finish()
    assert code == 130, err
    assert signals_received(engine, "compute-dev") == []  # not stopped: nothing it creates is orphaned
    assert "compute-dev              applied" in out and "monitoring-dev           not run" in out
    assert "interrupted after compute-dev finished and saved its state; no further stack was started." in err
    assert "Traceback" not in err
    assert "bytes: caf\ufffd" in out  # a byte that is not UTF-8 is shown, not fatal
    assert not (repo_copy / "outputs" / "dev.json").exists()  # no partial outputs, no release
    assert "monitoring-dev" not in {stack for cmd, stack, _ in engine.calls() if cmd != "init"}  # installed only


def test_a_second_ctrl_c_passes_on_exactly_one_graceful_stop(cli, engine):
    deploy = slow_deploy(cli, engine, "compute-dev")
    deploy.ctrl_c(then_says=LETTING_IT_FINISH)
    deploy.ctrl_c(then_says=STOPPING)
    code, out, err = deploy.finish()
    assert code == 130, err
    assert signals_received(engine, "compute-dev") == ["SIGINT"]
    assert json.loads((engine.state / "compute-dev.json").read_text()) == {"partial": "saved"}  # it saved
    assert "compute-dev              interrupted" in out
    assert "interrupted during apply of compute-dev; the engine stopped with its state saved" in err


def test_a_third_ctrl_c_only_warns_and_a_fourth_forces_the_stop(cli, engine):
    (engine.state / "network-dev.hold").touch()  # the engine keeps saving state until told otherwise
    deploy = slow_deploy(cli, engine, "network-dev")
    deploy.ctrl_c(then_says=LETTING_IT_FINISH)
    deploy.ctrl_c(then_says=STOPPING)
    wait_for(engine.state / "network-dev.signals", deploy)
    deploy.ctrl_c(then_says="the engine is still saving state")
    assert signals_received(engine, "network-dev") == ["SIGINT"]  # the third one was not passed on
    deploy.ctrl_c(then_says="forcing the engine to stop now")
    code, out, err = deploy.finish()
    assert code == 130, err
    assert signals_received(engine, "network-dev") == ["SIGINT", "SIGINT"]
    assert not (engine.state / "network-dev.json").exists()  # the forced stop saved nothing, as warned


def test_sigterm_to_the_tool_alone_stops_the_engine_gracefully_at_once(cli, engine):
    deploy = slow_deploy(cli, engine, "data-dev")
    deploy.proc.send_signal(signal.SIGTERM)  # what CI sends on cancel (with a deadline): to the tool only
    code, out, err = deploy.finish()
    assert code == 143, err
    assert signals_received(engine, "data-dev") == ["SIGINT"]
    assert (engine.state / "data-dev.json").exists()
    assert "data-dev                 interrupted" in out and "Traceback" not in err


def test_ctrl_c_during_synthesis_keeps_the_previous_tree(cli, repo_copy):
    out = repo_copy / "cdktf.out"  # holds an earlier synthesis (repo_copy, tests/support/fixtures_engine.py)
    before = {p: p.read_bytes() for p in out.rglob("cdk.tf.json")}
    synth = cli("synth", "--env", "dev")
    deadline = time.monotonic() + 60
    while not any(p.name.startswith(".synth-") for p in out.iterdir()):
        assert time.monotonic() < deadline and synth.proc.poll() is None, "synthesis never started"
        time.sleep(0.01)
    # now inside the synthesis (the jsii runtime is loaded before the scratch folder is made)
    os.killpg(synth.pid, signal.SIGINT)
    code, _, err = synth.finish()
    assert code == 130
    assert err.strip().endswith("interrupted") and "Traceback" not in err, err
    assert {p: p.read_bytes() for p in out.rglob("cdk.tf.json")} == before
    assert not any(p.name.startswith(".synth-") for p in out.iterdir())


def test_a_second_command_on_the_environment_is_refused_naming_the_first(cli, engine, repo_copy, moto_server):
    served_aws_client(moto_server, "s3").create_bucket(Bucket="streamflix-tfstate-dev")  # the release goes there
    deploy = slow_deploy(cli, engine, "network-dev")
    code, _, err = cli("synth", "--env", "dev").finish()  # it would rewrite the JSON the deploy is using
    assert code == 2
    assert f"dev is in use by another command in this checkout (pid {deploy.pid}, `shared.cli deploy --env dev`" in err
    code, out, err = cli("plan", "--env", "staging").finish()  # another environment runs side by side
    assert code == 0, err
    assert "plan staging: summary" in out and deploy.proc.poll() is None  # done while dev's deploy still runs
    (engine.state / "network-dev.finish").touch()
    code, _, err = deploy.finish()
    assert code == 0, err  # the deploy was not disturbed


def engine_pid_in_lock(repo_copy: Path, suffix: str) -> int:
    (engine,) = json.loads((repo_copy / "cdktf.out" / ".locks" / f"{suffix}.lock").read_text())["engines"]
    return engine["pid"]


def test_the_engine_outlives_a_killed_tool_and_keeps_the_environment_locked_naming_itself(
    cli, engine, repo_copy, fresh_aws
):
    served_aws_client(fresh_aws, "s3").create_bucket(Bucket="streamflix-tfstate-dev")  # the release goes there
    deploy = slow_deploy(cli, engine, "data-dev")
    engine_pid = engine_pid_in_lock(repo_copy, "dev")
    os.kill(deploy.pid, signal.SIGKILL)  # the out-of-memory killer, kill -9: no handler runs
    assert deploy.proc.wait(timeout=30) == -signal.SIGKILL
    os.kill(engine_pid, 0)  # the engine still runs: its output is a file, not a pipe to the dead tool
    code, _, err = cli("deploy", "--env", "dev").finish()
    assert code == 2, err
    assert f"engine pid {engine_pid} in the apply of data-dev since" in err
    assert f"left running by `shared.cli deploy --env dev` (pid {deploy.pid}, which has ended)" in err
    (engine.state / "data-dev.finish").touch()  # the apply ends as it would have
    deadline = time.monotonic() + 30
    while Path(f"/proc/{engine_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    outputs = json.loads((engine.state / "data-dev.json").read_text())
    assert outputs and "partial" not in outputs  # it finished and saved its state, untouched by the kill
    output = (repo_copy / "cdktf.out/stacks/data-dev/engine-output.log").read_bytes()
    assert b"Apply complete!" in output and b"bytes: caf\xe9" in output  # every byte, as the engine wrote it
    engine.set("SLOW", None)
    code, out, err = cli("deploy", "--env", "dev").finish()  # the environment is free again and converges
    assert code == 0, err
    assert "data-dev                 no changes" in out


def test_a_hangup_is_handled_like_sigterm(cli, engine):
    deploy = slow_deploy(cli, engine, "compute-dev")
    deploy.proc.send_signal(signal.SIGHUP)  # the SSH session dropped
    code, out, err = deploy.finish()
    assert code == 143, err
    assert signals_received(engine, "compute-dev") == ["SIGINT"]  # one graceful stop: it saved its state
    assert json.loads((engine.state / "compute-dev.json").read_text()) == {"partial": "saved"}
    assert "compute-dev              interrupted" in out and "Traceback" not in err


def test_a_command_that_waits_for_the_environment_says_so(cli, engine, fresh_aws):
    served_aws_client(fresh_aws, "s3").create_bucket(Bucket="streamflix-tfstate-dev")
    deploy = slow_deploy(cli, engine, "network-dev")
    waiting = cli("plan", "--env", "dev", LOCK_TIMEOUT="2")
    waiting.said(f"waiting up to 2 s (LOCK_TIMEOUT) for dev, in use by pid {deploy.pid}")  # not a silent hang
    code, _, err = waiting.finish()
    assert code == 2 and "after waiting 2 s" in err
    (engine.state / "network-dev.finish").touch()
    assert deploy.finish()[0] == 0


def test_a_cancelled_apply_that_cannot_save_its_state_is_recorded_with_its_ci_artifact(
    cli, engine, repo_copy, fresh_aws
):
    s3 = served_aws_client(fresh_aws, "s3")
    s3.create_bucket(Bucket="streamflix-tfstate-dev")
    engine.set("SLOW", "apply:data-dev")
    engine.set("ERRORED", "apply:data-dev")  # its graceful stop cannot reach the bucket: the session expired
    ci = {"GITHUB_JOB": "deploy-dev", "GITHUB_RUN_ID": "99", "GITHUB_RUN_ATTEMPT": "3", "GITHUB_REPOSITORY": "o/r"}
    deploy = cli("deploy", "--env", "dev", **ci, GITHUB_SERVER_URL="https://github.com")
    wait_for(engine.state / "data-dev.trapping", deploy)
    deploy.proc.send_signal(signal.SIGTERM)  # the runner cancels the job (a cancel, or its timeout)
    code, out, err = deploy.finish()
    assert code == 143, err
    assert (repo_copy / "cdktf.out/stacks/data-dev/errored.tfstate").is_file()  # for the workflow to upload
    record = json.loads(
        s3.get_object(Bucket="streamflix-tfstate-dev", Key="streamflix/dev/errored/data.json")["Body"].read()
    )
    assert record["artifact"] == "errored-state-deploy-dev-99-3" and record["command"] == "deploy"
    assert record["run_url"] == "https://github.com/o/r/actions/runs/99"
    assert "data-dev                 interrupted" in out and "state not saved: errored.tfstate" in out
    assert "gh run download 99 --name errored-state-deploy-dev-99-3" in err and "Traceback" not in err


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
