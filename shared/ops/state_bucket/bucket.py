"""The state bucket of an environment: the layout of its keys, and reading, writing and removing one object.

Everything the tools keep beside an environment's states lives under `<key_prefix>/<suffix>/`:

    <key_prefix>/<suffix>/<stack>.tfstate           the engine's state of one stack (the backend's key)
    <key_prefix>/<suffix>/<stack>.tfstate.tflock    the engine's lock on it (S3-native locking)
    <key_prefix>/<suffix>/fingerprints/<stack>.json what the stack was last applied from
    <key_prefix>/<suffix>/errored/<stack>.json      a state the engine could not save, until it is pushed back
    <key_prefix>/<suffix>/protection.json           what lives at this location, and whether it is protected
    <key_prefix>/<suffix>/releases/<time>-<rev>.json one record per deploy or destroy

"Absent" (no such object, no such bucket) is decided here, once: `get` returns None and `delete` succeeds.
Every other failure raises BucketError, and each caller keeps its own policy for it: a fingerprint that cannot
be read makes the stack plan, a protection record that cannot be read stops the command.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import EnvironmentConfig
from shared.naming import state_key
from shared.ops.aws import client

# The error codes S3 answers with for an object or bucket that is not there (a HEAD answers "404").
ABSENT = ("NoSuchKey", "NoSuchBucket", "404", "NotFound")


class BucketError(Exception):
    """An object of the state bucket could not be read, written or removed for a reason other than absence."""

    def __init__(self, url: str, cause: Exception):
        super().__init__(f"{url}: {cause}")
        self.url, self.cause = url, cause

    @property
    def code(self) -> str:
        """S3's error code ("AccessDenied", "NoSuchBucket", ...), or "" for a failure that never got an answer."""
        if isinstance(self.cause, ClientError):
            return str(self.cause.response.get("Error", {}).get("Code", ""))
        return ""


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@dataclass(frozen=True)
class StateBucket:
    """One environment's location in its state bucket (`env.state.bucket`, under `<key_prefix>/<suffix>/`)."""

    env: EnvironmentConfig
    _clients: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def name(self) -> str:
        return self.env.state.bucket

    # ------------------------------------------------------------------ the layout

    @property
    def prefix(self) -> str:
        return f"{self.env.state.key_prefix}/{self.env.suffix}/"

    def state_key(self, stack: str) -> str:
        return state_key(self.env, stack)

    def lock_key(self, stack: str) -> str:
        return self.state_key(stack) + ".tflock"

    def fingerprint_key(self, stack: str) -> str:
        return f"{self.prefix}fingerprints/{stack}.json"

    def errored_key(self, stack: str) -> str:
        return f"{self.prefix}errored/{stack}.json"

    @property
    def protection_key(self) -> str:
        return f"{self.prefix}protection.json"

    @property
    def releases_prefix(self) -> str:
        return f"{self.prefix}releases/"

    def url(self, key: str, bucket: str | None = None) -> str:
        return f"s3://{bucket or self.name}/{key}"

    # ------------------------------------------------------------------ objects

    def _s3(self):
        if "s3" not in self._clients:  # one client per location and command: its credentials are checked once
            self._clients["s3"] = client("s3", self.env, region=self.env.state_region)
        return self._clients["s3"]

    def get(self, key: str, *, bucket: str | None = None) -> bytes | None:
        """The object's bytes; None when it or the bucket is absent. `bucket`: a state object of another
        bucket (a producer's state, named by the consumer's remote-state configuration)."""
        try:
            return self._s3().get_object(Bucket=bucket or self.name, Key=key)["Body"].read()
        except ClientError as exc:
            if _code(exc) in ABSENT:
                return None
            raise BucketError(self.url(key, bucket), exc) from None
        except BotoCoreError as exc:
            raise BucketError(self.url(key, bucket), exc) from None

    def put(self, key: str, body: bytes) -> None:
        """Write one JSON object (whole: S3 never shows half of one). Raises BucketError, with code
        "NoSuchBucket" when there is no bucket to write to."""
        try:
            self._s3().put_object(Bucket=self.name, Key=key, Body=body, ContentType="application/json")
        except (ClientError, BotoCoreError) as exc:
            raise BucketError(self.url(key), exc) from None

    def delete(self, key: str) -> None:
        """Remove an object; one that is not there (or no bucket) is removed already."""
        try:
            self._s3().delete_object(Bucket=self.name, Key=key)
        except ClientError as exc:
            if _code(exc) not in ABSENT:
                raise BucketError(self.url(key), exc) from None
        except BotoCoreError as exc:
            raise BucketError(self.url(key), exc) from None

    def keys(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted. A bucket that is absent raises (code "NoSuchBucket"): a list of
        records tells "none yet" from "nowhere to keep them"."""
        found: list[str] = []
        try:
            for page in self._s3().get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix):
                found += [o["Key"] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as exc:
            raise BucketError(self.url(prefix), exc) from None
        return sorted(found)
