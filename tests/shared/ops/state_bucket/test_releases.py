"""Release records: what runs where, read back robustly from the state bucket."""

from __future__ import annotations

import boto3
import pytest

from shared.config import load_environment
from shared.ops.state_bucket import releases


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


def test_fields_a_later_version_adds_are_ignored(dev):
    key = f"{dev.state.key_prefix}/dev/releases/20260101T000000000000Z-abc.json"
    body = b'{"environment": "dev", "revision": "abc", "image": "i", "deployed_at": "t", "deployed_by": "me", "x": 1}'
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=dev.state.bucket, Key=key, Body=body)
    assert releases.latest(dev).revision == "abc"


def test_uncommitted_paths_are_named_safely_whatever_bytes_they_hold(tmp_path, monkeypatch):
    """A file name is any bytes: one that is not UTF-8, or holds a terminal's escape, must neither crash the gate
    nor reach the terminal as it is (git quotes both)."""
    import os
    import subprocess

    for args in (
        ["init", "-q"],
        ["-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x"],
    ):
        subprocess.run(["git", *args], cwd=tmp_path, check=True)
    monkeypatch.setattr(releases, "ROOT", tmp_path)
    assert releases.uncommitted() == [] and releases.tree_is_clean()
    (tmp_path / "plain.txt").write_text("x")
    with open(os.path.join(os.fsencode(tmp_path), b"vid\xe9o"), "w") as f:
        f.write("x")
    (tmp_path / "evil\x1b[2J").write_text("x")
    found = releases.uncommitted()
    assert "plain.txt" in found and len(found) == 3, found
    assert all(c.isprintable() for name in found for c in name), found
