"""Test plugin: the engine stand-in (served to a native client where one can be built), a git copy of the
working tree for make-level tests, and the local pipeline on the real engine."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from shared import cdk
from shared.paths import ROOT
from tests.support.standin import FakeEngine


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


_COPIED = shutil.ignore_patterns(".venv*", "cdktf.out*", ".git", "outputs", ".emulator")


def _git(clone: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=clone, check=True, capture_output=True)


def _commit_as_is(clone: Path, objects: Path | None = None) -> None:
    """Make `clone` a git checkout whose one commit is its tree. With `objects` (another copy's object store,
    read through git's alternates) git finds every file's object there and writes next to none of its own."""
    _git(clone, "init", "-q")
    if objects is not None:
        (clone / ".git" / "objects" / "info" / "alternates").write_text(f"{objects}\n")
    _git(clone, "add", ".")
    _git(clone, "-c", "user.email=ci@example.com", "-c", "user.name=CI", "commit", "-qm", "copy")


@pytest.fixture(scope="session")
def _copied_objects(tmp_path_factory) -> Path:
    """The git objects of the working tree, written once per session for every repository copy to share:
    each copy then costs half the time and a tenth of the files (~350 objects less to write and delete)."""
    base = tmp_path_factory.mktemp("copied-objects") / "repo"
    shutil.copytree(ROOT, base, ignore=_COPIED)
    _commit_as_is(base)
    return base / ".git" / "objects"


@pytest.fixture
def repo_copy(tmp_path, presynthesized, _copied_objects):
    """A git checkout of the working tree in tmp (sharing .venv), so make targets write nothing here;
    its cdktf.out holds an up-to-date synthesis of every environment (an edited file resynthesizes)."""
    clone = tmp_path / "repo"
    shutil.copytree(ROOT, clone, ignore=_COPIED)
    for toolchain in cdk.TOOLCHAINS.values():  # each installed toolchain's virtual environment
        if (ROOT / toolchain.venv).is_dir():
            (clone / toolchain.venv).symlink_to(ROOT / toolchain.venv)
    # The copy shares the real .venv: its make must never reinstall (the editable install would then
    # point into this temporary copy), so its pyproject.toml is older than any install stamp.
    os.utime(clone / "pyproject.toml", (0, 0))
    _commit_as_is(clone, _copied_objects)
    presynthesized(clone / "cdktf.out")
    return clone


@pytest.fixture
def pipeline(repo_copy, tmp_path):
    """The local pipeline in a repository copy, its emulator on a port of its own (a developer's emulator is
    left alone), stopped at the end; skipped, saying why, where the machine has no engine or AWS provider."""
    from tests.support.local_pipeline import LOCAL, Pipeline
    from tests.support.ports import free_port
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


@pytest.fixture(scope="session")
def _worlds() -> dict:
    return {}


@pytest.fixture
def session_world(_worlds, tmp_path, tmp_path_factory, state_buckets):
    """`session_world(key, build)`: this test's tmp_path and state buckets as `build()` leaves them, built by the
    session's first test that asks for `key` and restored for every one (tests/support/worlds.py). `key` names
    all the build depends on (the environment's whole configuration, say)."""
    from shared.ops.runner import environment_lock
    from tests.support import worlds
    from tests.support.moto_pipeline import mocked_client

    def give(key: str, build) -> None:
        regions = {env.state_region for env in state_buckets.values()}
        assert len(regions) == 1, regions  # moto's S3 is one store; one client reads every bucket
        buckets = [env.state.bucket for env in state_buckets.values()]

        def built() -> None:
            build()
            environment_lock.release_all()  # the building command's locks are not the test's

        s3 = mocked_client("s3", regions.pop())
        worlds.once(_worlds, key, tmp_path, lambda: tmp_path_factory.mktemp("world"), s3, buckets, built)

    return give
