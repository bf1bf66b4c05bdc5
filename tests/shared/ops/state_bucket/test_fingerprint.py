"""Fingerprints: what decides a stack, recorded beside its state; anything unreadable is no fingerprint."""

from __future__ import annotations

import boto3
import pytest

from shared.config import load_environment
from shared.ops.runner import fingerprinting
from shared.ops.state_bucket import fingerprint
from tests.support.fingerprints import ENGINE, stack


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


def test_a_record_is_read_back_and_a_broken_one_is_none(dev, synth, tmp_path):
    network = stack(synth, tmp_path, "network")
    assert fingerprint.recorded(dev, "network") is None
    done = fingerprint.record(dev, "network", fingerprinting.compute(dev, network, ENGINE), "0123456789abcdef")
    back = fingerprint.recorded(dev, "network")
    assert back == done and back.since().startswith("0123456789ab 20")
    boto3.client("s3", region_name="us-east-1").put_object(
        Bucket=dev.state.bucket, Key=fingerprint.key(dev, "network"), Body=b'{"digest": 1}'
    )
    assert fingerprint.recorded(dev, "network") is None
    fingerprint.forget(dev, "network")
    fingerprint.forget(dev, "network")  # nothing there: nothing to do
    assert fingerprint.recorded(dev, "network") is None


def test_a_state_object_that_is_not_a_state_is_unreadable(dev):
    boto3.client("s3", region_name="us-east-1").put_object(Bucket=dev.state.bucket, Key="x.tfstate", Body=b"[1]")
    with pytest.raises(fingerprint.Unreadable, match="is not a state"):
        fingerprint.state_outputs(dev, dev.state.bucket, "x.tfstate")
    assert fingerprint.state_outputs(dev, dev.state.bucket, "absent.tfstate") is None
