"""Plugins and fixtures only (support code is tests/support/): every environment is synthesized once per
session and tests read the JSON; the engine stand-in, moto, a repository copy, the local pipeline."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# No test reaches past this machine: an HTTPS request (a registry asked for an image's digest) fails at once
# through a proxy nobody listens on; everything on 127.0.0.1 (moto_server, the emulator) is reached directly.
for _name in ("HTTPS_PROXY", "https_proxy"):
    os.environ[_name] = "http://127.0.0.1:9"
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = "127.0.0.1,localhost"

from shared import cdk  # noqa: E402
from shared.config import EnvironmentConfig, load_environment  # noqa: E402
from shared.paths import ROOT  # noqa: E402
from tests.support.standin import FakeEngine  # noqa: E402
from tests.support.synthesized import ENVIRONMENTS, VARIANTS, Synthesized, variant  # noqa: E402

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
def _images_run_by_tag(request, monkeypatch):
    """In the test process a command runs the configured image, as it does where no registry answers:
    resolving it would resynthesize every environment a test deploys. The tests of the resolution
    itself (tests/shared/ops/runner/test_images.py) get the real thing."""
    if request.node.path.name == "test_images.py":
        return
    from shared.ops.runner import images

    monkeypatch.setattr(images, "for_deploy", lambda env: (env, images.Resolved(env.compute.image)))


@pytest.fixture(autouse=True)
def _release_environment_locks():
    """Each test's commands run as if in a process of their own: no lock carries over."""
    from shared.ops.runner import environment_lock

    yield
    environment_lock.release_all()


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


@pytest.fixture(scope="session")
def variants(configs, tmp_path_factory) -> Synthesized:
    """dev in the VARIANTS shapes, each under its own suffix (the key)."""
    from shared.app import synthesize

    envs = [variant(configs["dev"], suffix, **changes) for suffix, changes in VARIANTS.items()]
    return Synthesized(synthesize(envs, tmp_path_factory.mktemp("variants") / "cdktf.out"))


# ---------------------------------------------------------------- engine stand-in and AWS


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
def state_buckets(aws, configs, monkeypatch):
    from tests.support.moto_pipeline import mocked_client

    for env in configs.values():
        mocked_client("s3", env.state_region).create_bucket(Bucket=env.state.bucket)
    monkeypatch.setenv("FAKE_TF_S3", "1")  # the stand-in writes state objects where moto holds the buckets
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
