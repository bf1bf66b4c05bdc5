"""Protection recorded beside the state: once a protected environment is deployed, its state location
remembers that it is protected, so that no edit of a local file lifts it.

The record is one object in the state bucket, `<key_prefix>/<suffix>/protection.json`, beside the
environment's state keys. The first deploy (or bootstrap) of a protected environment writes it. Every
later deploy, destroy, promotion or unlock that uses that state location reads it and, where it says
protected, works on the environment as protected (confirmation, the guard, never destroyed), whatever
the local file now says: renamed, another suffix spelling that still points here, `protected: false`, or
a SUFFIX= copy that names this location. Lifting it is one explicit command, `make unprotect`, recorded
in the same object (who, when, from which revision) and shown by `make releases`; never prod.

Pure functions decide (`effective`, `needs_recording`, `lift_refusal`); `read` and `write` talk to S3.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.aws import client

_ABSENT = ("NoSuchKey", "404", "NotFound", "NoSuchBucket")
# The environment that can never be unprotected by the tool, whatever its file or record says.
ALWAYS_PROTECTED = "prod"


@dataclass(frozen=True)
class Protection:
    """What the state location records: protected or lifted, by whom, when, from which file."""

    protected: bool
    environment: str  # the environment file's name that wrote it (prod stays prod under another spelling)
    changed_by: str
    changed_at: str
    revision: str = ""

    def describe(self) -> str:
        verb = "protected" if self.protected else "protection lifted"
        return f"{verb} {self.changed_at} by {self.changed_by} (from {self.environment}, {self.revision[:12] or '?'})"


def key(env: EnvironmentConfig) -> str:
    return f"{env.state.key_prefix}/{env.suffix}/protection.json"


def where(env: EnvironmentConfig) -> str:
    return f"s3://{env.state.bucket}/{key(env)}"


def read(env: EnvironmentConfig) -> Protection | None:
    """The record at the environment's state location; None when there is none (or no bucket yet). One that
    cannot be read or understood raises UsageError: a protection must never pass for absent."""
    try:
        body = client("s3", env, region=env.state_region).get_object(Bucket=env.state.bucket, Key=key(env))
        raw = body["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _ABSENT:
            return None
        raise UsageError(_unreadable(env, exc)) from None
    except BotoCoreError as exc:
        raise UsageError(_unreadable(env, exc)) from None
    try:
        doc = json.loads(raw)
        return Protection(
            protected=doc["protected"] is True,
            environment=str(doc["environment"]),
            changed_by=str(doc["changed_by"]),
            changed_at=str(doc["changed_at"]),
            revision=str(doc.get("revision", "")),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"{where(env)} is not a protection record ({exc!r}); nothing was changed") from None


def _unreadable(env: EnvironmentConfig, exc: Exception) -> str:
    return (
        f"cannot read the protection record {where(env)} ({exc}), so it is unknown whether {env.suffix} is "
        "protected; nothing was changed. Check the credentials' access to the state bucket and run it again"
    )


def effective(env: EnvironmentConfig, recorded: Protection | None) -> EnvironmentConfig:
    """The environment as a command must treat it: protected where its state location says so, whatever the
    file says. A record that was lifted does not unprotect a file that says protected."""
    if recorded is not None and recorded.protected and not env.protected:
        return env.model_copy(update={"protected": True, "throwaway": False})
    return env


def needs_recording(env: EnvironmentConfig, recorded: Protection | None) -> bool:
    """A protected environment whose state location does not say so yet (its first deploy, or after a lift
    that its file does not agree with)."""
    return env.protected and not (recorded is not None and recorded.protected)


def overridden(file_env: EnvironmentConfig, recorded: Protection | None) -> str:
    """One line when the record protects what the file does not, else ""."""
    if recorded is None or not recorded.protected or file_env.protected:
        return ""
    return (
        f"{file_env.suffix} is treated as protected: its state location says so ({where(file_env)}: "
        f"{recorded.describe()}), whatever {file_env.name}.yaml says. To lift it: make unprotect "
        f"ENV={file_env.name} CONFIRM={file_env.suffix}"
    )


def lift_refusal(file_env: EnvironmentConfig, recorded: Protection | None) -> str:
    """Why `make unprotect` may not lift this protection ("" when it may)."""
    if ALWAYS_PROTECTED in (file_env.name, recorded.environment if recorded else None):
        return f"{ALWAYS_PROTECTED} is always protected: the tool never lifts its protection"
    if file_env.protected:
        return (
            f"{file_env.name}.yaml says protected: true, and the next deploy would record it again: set "
            f"protected: false there first (with data.aurora.deletion_protection and final_snapshot as you need)"
        )
    return ""


def _write(env: EnvironmentConfig, record: Protection) -> Protection:
    try:
        client("s3", env, region=env.state_region).put_object(
            Bucket=env.state.bucket,
            Key=key(env),
            Body=(json.dumps(asdict(record), indent=2, sort_keys=True) + "\n").encode(),
            ContentType="application/json",
        )
    except (ClientError, BotoCoreError) as exc:
        raise UsageError(f"cannot write the protection record {where(env)} ({exc}); nothing was changed") from None
    return record


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(env: EnvironmentConfig, *, by: str, revision: str) -> Protection:
    """The state location now says protected (before anything of a first protected deploy is applied)."""
    done = _write(env, Protection(True, env.name, by or f"unknown@{socket.gethostname()}", _now(), revision))
    print(f"recorded that {env.suffix} is protected at {where(env)}", flush=True)
    return done


def lift(env: EnvironmentConfig, *, by: str, revision: str) -> Protection:
    return _write(env, Protection(False, env.name, by or f"unknown@{socket.gethostname()}", _now(), revision))
