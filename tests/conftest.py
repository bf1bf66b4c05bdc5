"""What every test runs under: no request leaves this machine, no lock or image resolution carries over between
tests. The fixtures live in plugins of tests/support/ (fixtures_*.py): synthesis once per session, AWS through
moto, the engine stand-in, a repository copy, the local pipeline."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
# No test reaches past this machine: an HTTPS request (a registry asked for an image's digest) fails at once
# through a proxy nobody listens on; everything on 127.0.0.1 (moto_server, the emulator) is reached directly.
for _name in ("HTTPS_PROXY", "https_proxy"):
    os.environ[_name] = "http://127.0.0.1:9"
for _name in ("NO_PROXY", "no_proxy"):
    os.environ[_name] = "127.0.0.1,localhost"

pytest_plugins = [
    "tests.support.fixtures_grouping",
    "tests.support.fixtures_synthesis",
    "tests.support.fixtures_aws",
    "tests.support.fixtures_engine",
]


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


def pytest_terminal_summary(terminalreporter):
    """The end-to-end test's steps and wall time, at the end of the run (a test worker's own output is
    not shown under pytest-xdist; what a test records is)."""
    for key in ("passed", "failed"):
        for report in terminalreporter.stats.get(key, []):
            logs = [value for name, value in getattr(report, "user_properties", []) if name == "e2e"]
            if logs and report.when == "call":  # the test records its log as it grows: the last is all of it
                terminalreporter.write_sep("-", f"end-to-end test ({key})")
                terminalreporter.write_line(logs[-1])
