"""StateBucket: the key layout of an environment's location, and "absent" decided once (None, never an error),
while every other failure is a BucketError that names the object and keeps S3's code."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared.config import load_environment
from shared.ops.state_bucket.bucket import BucketError, StateBucket


def test_every_key_lives_under_the_environments_own_location():
    bucket = StateBucket(load_environment("staging"))
    prefix = f"{bucket.env.state.key_prefix}/staging/"
    keys = [
        bucket.state_key("data"),
        bucket.lock_key("data"),
        bucket.fingerprint_key("data"),
        bucket.errored_key("data"),
        bucket.protection_key,
        bucket.releases_prefix,
    ]
    assert all(k.startswith(prefix) for k in keys)
    assert len(set(keys)) == len(keys)
    assert bucket.lock_key("data") == bucket.state_key("data") + ".tflock"  # where the engine puts it
    copy = StateBucket(load_environment("staging", suffix="pr-7"))
    assert not {copy.state_key("data"), copy.protection_key} & set(keys)


def test_an_absent_object_or_bucket_is_none_and_a_write_round_trips(state_buckets):
    dev = state_buckets["dev"]
    bucket = StateBucket(dev)
    assert bucket.get(bucket.protection_key) is None
    bucket.put(bucket.protection_key, b'{"protected": false}')
    assert bucket.get(bucket.protection_key) == b'{"protected": false}'
    assert bucket.keys(bucket.prefix) == [bucket.protection_key]
    bucket.delete(bucket.protection_key)
    bucket.delete(bucket.protection_key)  # removed already: no error
    assert bucket.get(bucket.protection_key) is None
    assert bucket.get("any/key", bucket="no-such-bucket-anywhere") is None


def test_a_missing_bucket_refuses_a_write_and_a_listing_with_its_code(aws):
    bucket = StateBucket(load_environment("dev"))  # nothing bootstrapped
    with pytest.raises(BucketError) as written:
        bucket.put(bucket.protection_key, b"{}")
    assert written.value.code == "NoSuchBucket" and bucket.protection_key in str(written.value)
    with pytest.raises(BucketError) as listed:
        bucket.keys(bucket.releases_prefix)
    assert listed.value.code == "NoSuchBucket"
    bucket.delete(bucket.protection_key)  # nothing there to remove


class _Refusing:
    """The bucket as a role that may not touch it, or a network that is gone, sees it."""

    def __init__(self, error: Exception):
        self.error = error

    def _fail(self, **_kwargs):
        raise self.error

    get_object = put_object = delete_object = _fail


@pytest.mark.parametrize(
    "error, code",
    [
        (ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject"), "AccessDenied"),
        (EndpointConnectionError(endpoint_url="https://s3.example.invalid"), ""),
    ],
)
def test_any_other_failure_is_a_bucket_error_never_an_absence(monkeypatch, error, code):
    monkeypatch.setattr(StateBucket, "_s3", lambda self: _Refusing(error))
    bucket = StateBucket(load_environment("dev"))
    for call in (lambda: bucket.get(bucket.protection_key), lambda: bucket.delete(bucket.protection_key)):
        with pytest.raises(BucketError) as raised:
            call()
        assert raised.value.code == code and raised.value.url == f"s3://{bucket.name}/{bucket.protection_key}"
