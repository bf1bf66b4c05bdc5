"""A stack's fingerprint: everything that decides what a deploy of it would do, so that a deploy can skip a
stack that nothing changed since it was last applied.

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

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import EnvironmentConfig
from shared.ops.aws import client
from shared.ops.engine import Engine
from shared.ops.provider_install import required
from shared.ops.speculative import INPUT_PREFIX, reads
from shared.ops.stacks import Stack

_ABSENT = ("NoSuchKey", "404", "NotFound")


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


def _digest(data: bytes | str | dict) -> str:
    if isinstance(data, dict):
        data = json.dumps(data, sort_keys=True, separators=(",", ":"))
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def key(env: EnvironmentConfig, stack_name: str) -> str:
    return f"{env.state.key_prefix}/{env.suffix}/fingerprints/{stack_name}.json"


def _s3(env: EnvironmentConfig):
    return client("s3", env, region=env.state_region)


def state_document(env: EnvironmentConfig, bucket: str, state_key: str) -> dict | None:
    """A state object, read directly and parsed (None: there is no such state)."""
    try:
        body = _s3(env).get_object(Bucket=bucket, Key=state_key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise Unreadable(f"s3://{bucket}/{state_key}: {exc}") from None
    except BotoCoreError as exc:
        raise Unreadable(f"s3://{bucket}/{state_key}: {exc}") from None
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


def compute(env: EnvironmentConfig, stack: Stack, engine: Engine) -> Fingerprint:
    """The stack's fingerprint now. Raises Unreadable when a part cannot be read, or when a producer it
    reads has no state (a stack is never skipped on the strength of what is not there)."""
    synthesized = (stack.workdir / "cdk.tf.json").read_bytes()
    doc = json.loads(synthesized)
    producer_reads = {}
    for name, (config, outputs) in sorted(reads(doc).items()):
        values = state_outputs(env, config["bucket"], config["key"])
        if values is None:
            raise Unreadable(f"{name.removeprefix(INPUT_PREFIX)} has no state")
        producer_reads[name.removeprefix(INPUT_PREFIX)] = _digest({o: values.get(o) for o in sorted(outputs)})
    pins = stack.lock_file.read_bytes() if stack.lock_file is not None and stack.lock_file.is_file() else b""
    parts = {
        "stack_json": _digest(synthesized),
        "provider_pins": _digest(pins),
        "engine": f"{engine.name} {engine.version}",
        "providers": required(doc),
        "reads": producer_reads,
    }
    return Fingerprint(_digest(parts), parts)


def recorded(env: EnvironmentConfig, stack_name: str) -> Fingerprint | None:
    """The fingerprint recorded when the stack was last applied; None when there is none, or it cannot be
    read or understood (the stack is then planned)."""
    try:
        body = _s3(env).get_object(Bucket=env.state.bucket, Key=key(env, stack_name))["Body"].read()
        doc = json.loads(body)
        return Fingerprint(str(doc["digest"]), dict(doc["parts"]), str(doc["revision"]), str(doc["recorded_at"]))
    except (ClientError, BotoCoreError, ValueError, KeyError, TypeError, AttributeError):
        return None


def compare(env: EnvironmentConfig, stack: Stack, engine: Engine) -> tuple[Fingerprint | None, Fingerprint | None]:
    """The stack's fingerprint now (None: a part cannot be read) and the one recorded when it was last
    applied (None: there is none)."""
    try:
        now = compute(env, stack, engine)
    except Unreadable:
        now = None
    return now, recorded(env, stack.name)


def record(env: EnvironmentConfig, stack_name: str, fingerprint: Fingerprint, revision: str) -> Fingerprint:
    done = Fingerprint(
        fingerprint.digest, fingerprint.parts, revision, datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    body = json.dumps(asdict(done), indent=2, sort_keys=True).encode()
    _s3(env).put_object(Bucket=env.state.bucket, Key=key(env, stack_name), Body=body, ContentType="application/json")
    return done


def forget(env: EnvironmentConfig, stack_name: str) -> None:
    """Before an apply: the record goes, so that an apply that does not finish leaves none. Raises
    Unreadable when it may still be there (the apply must then not start)."""
    try:
        _s3(env).delete_object(Bucket=env.state.bucket, Key=key(env, stack_name))
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in ("NoSuchBucket", *_ABSENT):  # then none is recorded
            raise Unreadable(f"the fingerprint of {stack_name} could not be removed before its apply: {exc}") from None
    except BotoCoreError as exc:
        raise Unreadable(f"the fingerprint of {stack_name} could not be removed before its apply: {exc}") from None
