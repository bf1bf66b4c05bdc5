"""Test plugin: AWS without an account: moto in-process, its state buckets, and a moto_server on 127.0.0.1 for
tools run as subprocesses (stopped at the end of the session)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest


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
