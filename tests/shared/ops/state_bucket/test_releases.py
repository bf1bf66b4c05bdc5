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
