"""A stack's fingerprint as the state bucket keeps it: the record of what decided what the stack's last apply
did, so that a deploy can skip a stack that nothing changed since (shared/ops/runner/fingerprinting.py computes
one now; this module reads, records and forgets them, and reads producers' states for it).

The parts: a digest of the stack's synthesized JSON, of the committed provider pins its init uses, the
engine and the providers it requires, and of the value of every producer output it reads (read from the
producers' state objects, not through the engine). After a stack is applied, or found with nothing to
change, the fingerprint is recorded beside the state, in the state bucket
(`<key_prefix>/<suffix>/fingerprints/<stack>.json`), with the revision and the time. Before a stack is
applied its record is removed first: an apply that fails or is interrupted leaves no record, so the next
deploy plans it. Anything that cannot be read makes the stack plan (fail safe). A skipped stack is not
refreshed: drift is `make drift`'s to find, and FORCE=1 plans every stack.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from shared.config import EnvironmentConfig
from shared.ops.state_bucket.bucket import BucketError, StateBucket


class Unreadable(Exception):
    """Something a fingerprint is made of could not be read: the stack is planned."""


@dataclass(frozen=True)
class Fingerprint:
    digest: str
    parts: dict
    revision: str = ""
    recorded_at: str = ""

    def since(self) -> str:
        """`<revision> <time>`, as a summary says it."""
        return f"{self.revision[:12] or 'an unknown revision'} {self.recorded_at}".strip()


def digest(data: bytes | str | dict) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, sort_keys=True, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def key(env: EnvironmentConfig, stack_name: str) -> str:
    return StateBucket(env).fingerprint_key(stack_name)


def state_document(env: EnvironmentConfig, bucket: str, state_key: str) -> dict | None:
    """A state object, read directly and parsed (None: there is no such state)."""
    try:
        body = StateBucket(env).get(state_key, bucket=bucket)
    except BucketError as exc:
        raise Unreadable(str(exc)) from None
    if body is None:
        return None
    try:
        doc = json.loads(body)
    except ValueError as exc:
        raise Unreadable(f"s3://{bucket}/{state_key} is not a state: {exc}") from None
    if not isinstance(doc, dict):
        raise Unreadable(f"s3://{bucket}/{state_key} is not a state: {type(doc).__name__}")
    return doc


def state_outputs(env: EnvironmentConfig, bucket: str, state_key: str) -> dict | None:
    """The output values held in a state object, read directly (None: there is no such state)."""
    doc = state_document(env, bucket, state_key)
    if doc is None:
        return None
    try:
        return {name: out.get("value") for name, out in doc.get("outputs", {}).items()}
    except AttributeError as exc:
        raise Unreadable(f"s3://{bucket}/{state_key} is not a state: {exc}") from None


def recorded(env: EnvironmentConfig, stack_name: str) -> Fingerprint | None:
    """The fingerprint recorded when the stack was last applied; None when there is none, or it cannot be
    read or understood (the stack is then planned)."""
    try:
        body = StateBucket(env).get(key(env, stack_name))
        if body is None:
            return None
        doc = json.loads(body)
        return Fingerprint(str(doc["digest"]), dict(doc["parts"]), str(doc["revision"]), str(doc["recorded_at"]))
    except (BucketError, ValueError, KeyError, TypeError, AttributeError):
        return None


def record(env: EnvironmentConfig, stack_name: str, fingerprint: Fingerprint, revision: str) -> Fingerprint:
    done = Fingerprint(
        fingerprint.digest, fingerprint.parts, revision, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    StateBucket(env).put(key(env, stack_name), json.dumps(asdict(done), indent=2, sort_keys=True).encode())
    return done


def forget(env: EnvironmentConfig, stack_name: str) -> None:
    """Before an apply: the record goes, so that an apply that does not finish leaves none. Raises
    Unreadable when it may still be there (the apply must then not start)."""
    try:
        StateBucket(env).delete(key(env, stack_name))  # absent (or no bucket): none is recorded
    except BucketError as exc:
        raise Unreadable(f"the fingerprint of {stack_name} could not be removed before its apply: {exc}") from None
