"""What must hold before the engine touches anything: the engine, the words of consent, the credentials and
account, a git checkout, a running emulator, the selection and the options."""

from __future__ import annotations

import boto3
import pytest

from shared.cli import main
from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.state_bucket import releases
from tests.support.synthesized import variant

ORDER = ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]


def test_force_is_for_deploy_only(engine, dev, run):
    with pytest.raises(UsageError, match="FORCE=1 is for make deploy and make promote, not make plan"):
        run("plan", dev, force=True)


def test_unknown_stack_name_is_a_usage_error(engine, dev, run):
    with pytest.raises(UsageError, match="unknown stack.*cmopute.*known: network, data, compute, monitoring"):
        run("deploy", dev, stack_names="cmopute")


def test_prod_is_never_applied_without_confirmation(engine, state_buckets, run, monkeypatch, tmp_path, capsys):
    prod = load_environment("prod")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="refusing to apply changes to prod without confirmation.*CONFIRM=prod"):
        run("deploy", prod)
    # Planned and shown first, so that the CONFIRM given next approves what was seen; nothing applied or kept.
    assert "deploy prod: the plan to approve" in capsys.readouterr().out
    assert engine.commands("apply") == [] and engine.commands("plan")
    assert not list((tmp_path / "cdktf.out").glob("stacks/*/*.tfplan"))
    engine.clear()
    with pytest.raises(UsageError, match="CONFIRM=staging does not name"):
        run("deploy", prod, confirm="staging")
    assert engine.calls() == []
    assert run("deploy", prod, confirm="prod") == 0
    assert engine.commands("apply") == [s.replace("dev", "prod") for s in ORDER]


def test_destroy_asks_for_any_environment_and_runs_in_reverse(engine, dev, run, dev_deployed, monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(UsageError, match="CONFIRM=dev"):
        run("destroy", dev)
    assert engine.commands("apply") == []
    engine.clear()
    assert run("destroy", dev, confirm="dev") == 0
    assert engine.commands("apply") == list(reversed(ORDER))
    assert all("-destroy" in args for cmd, _, args in engine.calls() if cmd == "plan")


def test_missing_engine_stops_before_anything(dev, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no terraform, no tofu
    monkeypatch.delenv("TF_BIN", raising=False)
    assert main(["deploy", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "no deploy engine found" in err and "install Terraform 1.11 or newer" in err and "OpenTofu" in err
    assert not (tmp_path / "cdktf.out").exists()


def test_tf_bin_names_the_engine(engine, dev, run, monkeypatch):
    monkeypatch.setenv("TF_BIN", str(engine.bin / "missing"))
    with pytest.raises(UsageError, match="TF_BIN=.*missing is not an executable"):
        run("plan", dev)
    tofu = engine.bin / "tofu"
    tofu.symlink_to(engine.bin / "terraform")
    monkeypatch.setenv("TF_BIN", str(tofu))
    assert run("plan", dev) == 0


@pytest.mark.parametrize("version", ["1.5.7", "1.10.5"])  # 1.10 has no write-only arguments
def test_an_old_engine_is_refused(engine, dev, run, version):
    engine.set("VERSION", version)
    with pytest.raises(UsageError, match=f"version {version}; 1.11 or newer is needed .write-only arguments"):
        run("plan", dev)
    assert [c for c, _, _ in engine.calls() if c != "version"] == []


def test_missing_credentials_give_a_clear_message(engine, run, monkeypatch, tmp_path, capsys):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    assert main(["plan", "--env", "dev"]) == 2
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err and "Traceback" not in err
    assert engine.calls() == []


def test_wrong_credentials_give_a_clear_message(engine, dev, run):
    from moto.core import set_initial_no_auth_action_count

    @set_initial_no_auth_action_count(0)  # moto checks the keys like AWS does
    def attempt():
        with pytest.raises(UsageError, match="AWS rejected the credentials \\(InvalidClientTokenId"):
            run("plan", dev)

    attempt()
    assert engine.calls() == []


def test_the_wrong_account_is_refused(engine, dev, run):
    other = dev.model_copy(update={"aws": dev.aws.model_copy(update={"account_id": "999999999999"})})
    with pytest.raises(UsageError, match="credentials are for account 123456789012, but dev lives in account 999"):
        run("plan", other)
    boto3.client("sts").get_caller_identity()  # moto's account, for the record


def test_a_bad_parallelism_is_a_usage_error(engine, dev, run, monkeypatch):
    monkeypatch.setenv("PARALLELISM", "many")
    with pytest.raises(UsageError, match="PARALLELISM='many'"):
        run("plan", dev)


def test_a_stopped_emulator_is_named_with_how_to_start_it(engine, run, monkeypatch):
    import socket

    with socket.socket() as free:  # a port nothing listens on: the emulator is not running
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    local = variant(load_environment("local"), "local", aws__endpoint=f"http://127.0.0.1:{port}")
    with pytest.raises(UsageError) as refused:
        run("deploy", local)
    assert f"the emulator of local does not answer at http://127.0.0.1:{port}" in str(refused.value)
    assert "start it with `make emulator ENV=local`" in str(refused.value)
    assert engine.commands("plan") == []


@pytest.mark.parametrize("action", ["deploy", "destroy"])
def test_a_copy_that_is_not_a_git_checkout_refuses_a_whole_environment_before_anything_runs(
    engine, dev, run, monkeypatch, tmp_path, action
):

    monkeypatch.setattr(releases, "ROOT", tmp_path)  # an unpacked tarball: no .git anywhere above
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    with pytest.raises(UsageError) as refused:
        run(action, dev, **({"confirm": "dev"} if action == "destroy" else {}))
    assert f"make {action} ENV=dev records the git revision" in str(refused.value)
    assert "Work from a git clone of the repository" in str(refused.value) and "STACK=" in str(refused.value)
    assert engine.calls() == []
    assert run(action, dev, stack_names="network", **({"confirm": "dev"} if action == "destroy" else {})) == 0
