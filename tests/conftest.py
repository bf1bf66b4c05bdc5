"""Shared fixtures: every environment is synthesized once per session; tests read the JSON."""

from __future__ import annotations

import json
import os
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from shared import cdk  # noqa: E402
from shared.config import EnvironmentConfig, available_environments, load_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = available_environments()


class Synthesized:
    """Read access to one synthesized output folder."""

    def __init__(self, outdir: Path):
        self.outdir = outdir

    @cache  # noqa: B019 - one instance per session
    def stack(self, stack: str, env: str) -> dict:
        return json.loads((self.outdir / "stacks" / f"{stack}-{env}" / "cdk.tf.json").read_text())

    def resources(self, stack: str, env: str, rtype: str) -> dict[str, dict]:
        return self.stack(stack, env).get("resource", {}).get(rtype, {})

    def one(self, stack: str, env: str, rtype: str) -> dict:
        found = self.resources(stack, env, rtype)
        assert len(found) == 1, f"expected one {rtype} in {stack}-{env}, found {sorted(found)}"
        return next(iter(found.values()))

    def outputs(self, stack: str, env: str) -> dict[str, dict]:
        return self.stack(stack, env).get("output", {})

    def manifest(self) -> dict:
        return json.loads((self.outdir / "manifest.json").read_text())


UNGROUPED = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """The tests that read the variant shapes run on one worker, which alone synthesizes them (some name
    the fixture in a parameter and get it with request.getfixturevalue)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "variants" in getattr(item, "fixturenames", ()) or "variants" in params.values():
            item.add_marker(pytest.mark.xdist_group("variants"))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")  # after pytest-xdist tags groups
def _check_groups(config, items):
    """Under `--dist loadgroup` an xdist_group runs on one worker, so what its module sets up (one
    checkov run, one synthesis on the other toolchain) happens once. Some pytest/xdist pairs ignore
    the groups without a word (pytest-dev/pytest-xdist#1386): those tests then fail, saying so."""
    if not config.getoption("loadgroup", default=False):  # set in pytest-xdist workers only
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            item.stash[UNGROUPED] = (
                "--dist loadgroup did not keep this xdist_group on one worker: this pytest and pytest-xdist "
                "do not work together (pytest-dev/pytest-xdist#1386); install the versions pyproject.toml pins"
            )


@pytest.fixture(autouse=True)
def _grouped_as_marked(request):
    if UNGROUPED in request.node.stash:
        pytest.fail(request.node.stash[UNGROUPED], pytrace=False)


@pytest.fixture(autouse=True)
def _release_environment_locks():
    """Each test's commands run as if in a process of their own: no lock carries over."""
    from shared.ops import locks

    yield
    locks.release_all()


@pytest.fixture(scope="session")
def configs() -> dict[str, EnvironmentConfig]:
    return {name: load_environment(name) for name in ENVIRONMENTS}


@pytest.fixture(scope="session")
def synth(configs, tmp_path_factory) -> Synthesized:
    from shared.app import synthesize

    out = synthesize(list(configs.values()), tmp_path_factory.mktemp("synth") / "cdktf.out")
    return Synthesized(out)


@pytest.fixture
def presynthesized(synth):
    """`seed(outdir)`: outdir holds the session's synthesis of every environment, stamps included, so a
    command there finds its stacks up to date and skips synthesis (shared/synth_cache.py), as a
    second command in a checkout does. Tests of synthesis itself start from an empty folder instead."""
    import shutil

    def seed(outdir: Path) -> Path:
        shutil.copytree(synth.outdir, outdir, ignore=shutil.ignore_patterns(".locks", ".manifest.lock"))
        return outdir

    return seed


def variant(base: EnvironmentConfig, suffix: str, **changes: Any) -> EnvironmentConfig:
    """`base` as the environment `suffix`, with dotted-key changes, validated like a file would be."""
    data = base.model_dump(mode="json")
    data["environment_suffix"] = suffix
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[key] = value
    return EnvironmentConfig.model_validate(data)


# Shapes no environment file has today, synthesized once per session like the environments.
VARIANTS = {
    "fanout": {"data__kinesis__consumer": "enhanced_fan_out"},
    "paused": {"data__aurora__min_acu": 0, "data__aurora__seconds_until_auto_pause": 900},
    "ondemand": {"data__kinesis__mode": "on_demand"},
    "alerted": {
        "monitoring__alarm_emails": ["oncall@example.com"],
        "monitoring__alarm_https_endpoints": ["https://hooks.example.com/alarms"],
    },
    "ecr": {"compute__image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/video/worker:2.3.1"},
    "rotated": {"data__aurora__password_version": 2},
    # An emulated environment whose resources ignore changes of their own (auto scaling, a final snapshot).
    "emulated": {"aws__endpoint": "http://127.0.0.1:4566", "data__aurora__final_snapshot": True},
}


@pytest.fixture(scope="session")
def variants(configs, tmp_path_factory) -> Synthesized:
    """dev in the VARIANTS shapes, each under its own suffix (the key)."""
    from shared.app import synthesize

    envs = [variant(configs["dev"], suffix, **changes) for suffix, changes in VARIANTS.items()]
    return Synthesized(synthesize(envs, tmp_path_factory.mktemp("variants") / "cdktf.out"))


# The S3 backend settings an emulator environment adds; no real environment may carry any of them.
def emulator_backend(env: EnvironmentConfig) -> dict:
    if not env.emulated:
        return {}
    return {
        "endpoints": {"s3": env.aws.endpoint, "sts": env.aws.endpoint, "iam": env.aws.endpoint},
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
    }


def remote_state_config(env: EnvironmentConfig, stack: str) -> dict:
    """What a consumer's terraform_remote_state must say to read `stack` of its own environment."""
    return {
        "bucket": env.state.bucket,
        "key": f"streamflix/{env.suffix}/{stack}.tfstate",
        "region": env.aws.region,
        "encrypt": True,
        "kms_key_id": f"alias/{env.state.bucket.replace('.', '-')}-state",  # the state key bootstrap makes
        **emulator_backend(env),
    }


def policy(resource: dict, key: str = "policy") -> dict:
    """A JSON policy document attribute, parsed (tokens stay as ${...} strings)."""
    return json.loads(resource[key])


# ---------------------------------------------------------------- engine stand-in and AWS


class FakeEngine:
    """Handle on the stand-in engine: what it was asked to do, and knobs to make it misbehave.

    `terraform` on PATH is the native client of the session's engine server when a C compiler was
    there to build it, else a script running the Python stand-in per call (the same behaviour)."""

    def __init__(self, root: Path, monkeypatch, served: tuple[Path, str] | None):
        self.root = root
        self.bin = root / "bin"
        self.log = root / "engine.log"
        self.state = root / "state"
        self.bin.mkdir(parents=True)
        self.state.mkdir()
        self.log.touch()
        wrapper = self.bin / "terraform"
        if served:
            client, socket_path = served
            wrapper.symlink_to(client)
            monkeypatch.setenv("FAKE_TF_SOCKET", socket_path)
        else:
            script = ROOT / "tests/support/fake_engine.py"
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{script}" "$@"\n')
            wrapper.chmod(0o755)
            monkeypatch.delenv("FAKE_TF_SOCKET", raising=False)
        self._mp = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.delenv("TF_BIN", raising=False)
        monkeypatch.delenv("CONFIRM", raising=False)
        for name in (
            "FAKE_TF_FAIL",
            "FAKE_TF_DRIFT",
            "FAKE_TF_CHANGES",
            "FAKE_TF_OUTPUTS",
            "FAKE_TF_VERSION",
            "FAKE_TF_SLOW",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("FAKE_TF_LOG", str(self.log))
        monkeypatch.setenv("FAKE_TF_STATE", str(self.state))

    def set(self, name: str, value: str | None) -> None:
        if value is None:
            self._mp.delenv(f"FAKE_TF_{name}", raising=False)
        else:
            self._mp.setenv(f"FAKE_TF_{name}", value)

    def entries(self) -> list[dict]:
        """Every invocation as the stand-in logged it (args, cwd, and for an apply the plan file's modes)."""
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self) -> list[tuple[str, str, list[str]]]:
        """(command, stack id, arguments) of every invocation but `version`, in order."""
        found = []
        for line in self.log.read_text().splitlines():
            entry = json.loads(line)
            if entry["args"][0] != "version":
                found.append((entry["args"][0], Path(entry["cwd"]).name, entry["args"]))
        return found

    def commands(self, command: str) -> list[str]:
        """Stack ids that `command` ran in, in order."""
        return [stack for cmd, stack, _ in self.calls() if cmd == command]

    def clear(self) -> None:
        self.log.write_text("")


@pytest.fixture
def aws(monkeypatch):
    """moto in-process, with dummy credentials that never reach a real account."""
    from moto import mock_aws

    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield


@pytest.fixture
def state_buckets(aws, configs):
    from tests.support.moto_pipeline import mocked_client

    for env in configs.values():
        mocked_client("s3", env.state_region).create_bucket(Bucket=env.state.bucket)
    return configs


@pytest.fixture(scope="session")
def served_engine(tmp_path_factory):
    """The stand-in engine served from this process to a native client, for the session; None where
    the client cannot be built (no C compiler)."""
    from tests.support import fake_engine_server

    client = fake_engine_server.build_client(tmp_path_factory.mktemp("fake-engine"))
    if client is None:
        yield None
        return
    with fake_engine_server.serving() as socket_path:
        yield client, socket_path


@pytest.fixture
def engine(tmp_path, monkeypatch, served_engine) -> FakeEngine:
    return FakeEngine(tmp_path / "engine", monkeypatch, served_engine)


@pytest.fixture(scope="session")
def moto_server():
    """A moto_server on 127.0.0.1 for tests that run the tools as subprocesses; stopped at the end."""
    import socket
    import subprocess
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    binary = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError("moto_server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


MOTO_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def served_aws_env(url: str) -> dict[str, str]:
    """The environment of a command started as a user starts it, with moto_server at `url` as AWS:
    dummy keys only (no profile or session token of the machine's), and not a sub-make of `make test`."""
    env = dict(os.environ, AWS_ENDPOINT_URL=url, AWS_DEFAULT_REGION="us-east-1", **MOTO_CREDENTIALS)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):
        env.pop(name, None)
    return env


def served_aws_client(url: str, service: str):
    """A boto3 client of moto_server at `url`, with the dummy keys."""
    import boto3

    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=MOTO_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=MOTO_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture
def fresh_aws(moto_server):
    """The session's moto_server, emptied: a test starts from no AWS resources, whatever ran before."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"), timeout=10)
    return moto_server


@pytest.fixture
def repo_copy(tmp_path, presynthesized):
    """A git checkout of the working tree in tmp (sharing .venv), so make targets write nothing here;
    its cdktf.out holds an up-to-date synthesis of every environment (an edited file resynthesizes)."""
    import shutil
    import subprocess

    clone = tmp_path / "repo"
    shutil.copytree(ROOT, clone, ignore=shutil.ignore_patterns(".venv*", "cdktf.out*", ".git", "outputs", ".emulator"))
    for toolchain in cdk.TOOLCHAINS.values():  # each installed toolchain's virtual environment
        if (ROOT / toolchain.venv).is_dir():
            (clone / toolchain.venv).symlink_to(ROOT / toolchain.venv)
    # The copy shares the real .venv: its make must never reinstall (the editable install would then
    # point into this temporary copy), so its pyproject.toml is older than any install stamp.
    os.utime(clone / "pyproject.toml", (0, 0))
    for args in (
        ["init", "-q"],
        ["add", "."],
        ["-c", "user.email=ci@example.com", "-c", "user.name=CI", "commit", "-qm", "copy"],
    ):
        subprocess.run(["git", *args], cwd=clone, check=True, capture_output=True)
    presynthesized(clone / "cdktf.out")
    return clone


@pytest.fixture
def pipeline(repo_copy, tmp_path):
    """The local pipeline in a repository copy, its emulator on a port of its own (a developer's emulator is
    left alone), stopped at the end; skipped, saying why, where the machine has no engine or AWS provider."""
    from tests.support.local_pipeline import LOCAL, Pipeline, free_port
    from tests.support.real_engine import missing

    lacking = missing(LOCAL.aws.provider_version)
    if lacking:
        pytest.skip(f"real-engine test: {lacking}")
    endpoint = f"http://127.0.0.1:{free_port()}"
    config = repo_copy / "environments" / "local.yaml"
    config.write_text(config.read_text().replace(LOCAL.aws.endpoint, endpoint))
    p = Pipeline(repo_copy, endpoint, tmp_path)
    p.make("emulator")
    try:
        yield p
    finally:
        p.make("emulator-stop", ok=False)


def pytest_terminal_summary(terminalreporter):
    """The end-to-end test's steps and wall time, at the end of the run (a test worker's own output is
    not shown under pytest-xdist; what a test records is)."""
    for key in ("passed", "failed"):
        for report in terminalreporter.stats.get(key, []):
            logs = [value for name, value in getattr(report, "user_properties", []) if name == "e2e"]
            if logs and report.when == "call":  # the test records its log as it grows: the last is all of it
                terminalreporter.write_sep("-", f"end-to-end test ({key})")
                terminalreporter.write_line(logs[-1])
