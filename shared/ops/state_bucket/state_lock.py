"""The engine's lock on one stack's state: the `<state key>.tflock` object beside the state in the bucket
(S3-native locking). How long a step waits for it, what the engine says when it cannot get it, and the
lock as the bucket holds it. Not the environment lock of a checkout (shared/ops/runner/environment_lock.py)."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.state_bucket.bucket import StateBucket
from shared.options import current

DEFAULT_SECONDS = 300


def wait_seconds() -> int:
    """STATE_LOCK_TIMEOUT=: how long each engine step waits for a stack's state lock (default 300)."""
    return current().checked("state_lock_timeout")


def engine_argument() -> str:
    return f"-lock-timeout={wait_seconds()}s"


@dataclass(frozen=True)
class LockInfo:
    id: str
    operation: str
    who: str
    created: str  # as the engine wrote it
    path: str = ""

    def age(self) -> str:
        """How long ago it was taken, in words ("" when the time cannot be read)."""
        text = re.sub(r"(\.\d+)?( [+-]\d{4})?( UTC)?$", "", self.created.strip().rstrip("Z")).replace("T", " ")
        try:
            taken = datetime.fromisoformat(text).replace(tzinfo=UTC)
        except ValueError:
            return ""
        seconds = max(0, int((datetime.now(UTC) - taken).total_seconds()))
        return (
            f"{seconds // 3600} h {seconds % 3600 // 60} min"
            if seconds >= 3600
            else f"{seconds // 60} min {seconds % 60} s"
        )

    def describe(self) -> str:
        age = self.age()
        return (
            f"held by {self.who or 'an unnamed holder'} for {self.operation or 'an unnamed operation'} since "
            f"{self.created}{f' ({age} ago)' if age else ''}, lock ID {self.id}"
        )


# "  ID:  ..." under "Lock Info:"; with colour, each line of the engine's diagnostic box starts with "│".
_FIELD = re.compile(r"^[\s│]*(ID|Path|Operation|Who|Version|Created|Info):[ \t]*(.*?)\s*$", re.MULTILINE)


def from_engine_output(text: str) -> LockInfo | None:
    """The lock another run holds, from the engine's "Error acquiring the state lock" (None: not that)."""
    if "Error acquiring the state lock" not in text or "Lock Info:" not in text:
        return None
    fields = dict(_FIELD.findall(text.split("Lock Info:", 1)[1]))
    if not fields.get("ID"):
        return None
    return LockInfo(
        fields["ID"],
        fields.get("Operation", ""),
        fields.get("Who", ""),
        fields.get("Created", ""),
        fields.get("Path", ""),
    )


def what_to_do(env: EnvironmentConfig, stack: str, stack_id: str, info: LockInfo) -> str:
    return (
        f"{stack_id}: its state is locked, {info.describe()}. Another run is working on it: wait for it to "
        f"finish (each step waits STATE_LOCK_TIMEOUT={wait_seconds()} s). If nothing holds it any more (a run "
        f"that crashed), release it: make unlock ENV={env.name} STACK={stack} LOCK_ID={shlex.quote(info.id)}"
    )


def lock_object_key(env: EnvironmentConfig, stack: str) -> str:
    return StateBucket(env).lock_key(stack)


def read(env: EnvironmentConfig, stack: str) -> LockInfo | None:
    """The lock on a stack's state as the bucket holds it (None: not locked). Raises BucketError when it
    cannot be told."""
    body = StateBucket(env).get(lock_object_key(env, stack))
    if body is None:
        return None
    try:
        doc = json.loads(body)
        return LockInfo(
            doc["ID"], doc.get("Operation", ""), doc.get("Who", ""), doc.get("Created", ""), doc.get("Path", "")
        )
    except (ValueError, KeyError, TypeError):
        raise UsageError(
            f"s3://{env.state.bucket}/{lock_object_key(env, stack)} is not a lock the engine wrote; look at it "
            "before removing it by hand"
        ) from None
