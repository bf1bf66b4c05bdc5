"""What lives at a state location, recorded beside the state: an environment that has a file (guarded) and
whether it is protected, so that no edit of a local file, rename or SUFFIX= copy takes that away.

The record is one object in the state bucket, `<key_prefix>/<suffix>/protection.json`, beside the
environment's state keys. The first deploy or bootstrap of an environment writes it, and the first of a
protected one records that it is protected (so does a later one, when the file has become protected).
Every later deploy, destroy, promotion or unlock that uses that state location reads it: where it says
protected, the environment is worked on as protected (confirmation, the guard, never destroyed); where it
says an environment with a file lives there, a SUFFIX= copy that names the location is guarded as that
environment is, not a throwaway. Whatever the local file now says: renamed, removed, another suffix
spelling that still points here, `protected: false`. Lifting the protection is one explicit command,
`make unprotect`, recorded in the same object (who, when, from which revision) and shown by
`make releases`; never prod. An environment deployed before these records existed gets its record from its
next deploy (or promotion), before anything of it is applied: until then only its file protects it.

Pure functions decide (`effective`, `needs_recording`, `lift_refusal`); `read` and `write` talk to S3.
"""

from __future__ import annotations

import json
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.state_bucket.bucket import BucketError, StateBucket

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
    throwaway: bool = False  # written by a SUFFIX= copy: nothing of a file environment lives there
    lifted: bool = False  # the protection was lifted by make unprotect

    def describe(self) -> str:
        if self.protected:
            verb = "protected"
        elif self.lifted:
            verb = "protection lifted"
        else:
            verb = "a throwaway copy" if self.throwaway else "guarded, not protected"
        return f"{verb} {self.changed_at} by {self.changed_by} (from {self.environment}, {self.revision[:12] or '?'})"


def key(env: EnvironmentConfig) -> str:
    return StateBucket(env).protection_key


def where(env: EnvironmentConfig) -> str:
    return f"s3://{env.state.bucket}/{key(env)}"


def read(env: EnvironmentConfig) -> Protection | None:
    """The record at the environment's state location; None when there is none (or no bucket yet). One that
    cannot be read or understood raises UsageError: a protection must never pass for absent."""
    try:
        raw = StateBucket(env).get(key(env))
    except BucketError as exc:
        raise UsageError(_unreadable(env, exc.cause)) from None
    if raw is None:
        return None
    try:
        doc = json.loads(raw)
        flags = {name: doc.get(name, False) for name in ("protected", "throwaway", "lifted")}
        if not all(isinstance(v, bool) for v in flags.values()) or "protected" not in doc:
            raise TypeError(f"protected, throwaway and lifted must be true or false: {flags}")  # never "true"
        return Protection(
            environment=str(doc["environment"]),
            changed_by=str(doc["changed_by"]),
            changed_at=str(doc["changed_at"]),
            revision=str(doc.get("revision", "")),
            **flags,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UsageError(f"{where(env)} is not a protection record ({exc!r}); nothing was changed") from None


def _unreadable(env: EnvironmentConfig, exc: Exception) -> str:
    return (
        f"cannot read the protection record {where(env)} ({exc}), so it is unknown whether {env.suffix} is "
        "protected; nothing was changed. Check the credentials' access to the state bucket and run it again"
    )


def effective(env: EnvironmentConfig, recorded: Protection | None) -> EnvironmentConfig:
    """The environment as a command must treat it: protected where its state location says so, and guarded
    (no throwaway) where an environment with a file lives there, whatever the file or SUFFIX= says. A record
    that was lifted does not unprotect a file that says protected."""
    if recorded is None:
        return env
    update = {}
    if recorded.protected and not env.protected:
        update.update(protected=True, throwaway=False)
    if not recorded.throwaway and env.throwaway:
        update.update(throwaway=False)
    return env.model_copy(update=update) if update else env


def needs_recording(env: EnvironmentConfig, recorded: Protection | None) -> bool:
    """Nothing recorded yet; or a protected environment whose location does not say so (after a lift that its
    file does not agree with); or an environment with a file where only a throwaway copy had been."""
    if recorded is None:
        return True
    return (env.protected and not recorded.protected) or (not env.throwaway and recorded.throwaway)


def overridden(file_env: EnvironmentConfig, recorded: Protection | None) -> str:
    """One line when the record protects, or guards, what the file or SUFFIX= does not, else ""."""
    if recorded is None:
        return ""
    if recorded.protected and not file_env.protected:
        return (
            f"{file_env.suffix} is treated as protected: its state location says so ({where(file_env)}: "
            f"{recorded.describe()}), whatever {file_env.name}.yaml says. To lift it: make unprotect "
            f"ENV={file_env.name} CONFIRM={file_env.suffix}"
        )
    if file_env.throwaway and not recorded.throwaway:
        return (
            f"{file_env.suffix} is no throwaway: the environment {recorded.environment} lives at that state "
            f"location ({where(file_env)}), so this copy is guarded as it is"
        )
    return ""


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


def _write(env: EnvironmentConfig, record: Protection) -> Protection | None:
    """The record written; None where the state bucket does not exist (nothing lives there yet, and the
    engine's backend stops the command before anything is applied)."""
    try:
        StateBucket(env).put(key(env), (json.dumps(asdict(record), indent=2, sort_keys=True) + "\n").encode())
    except BucketError as exc:
        if exc.code == "NoSuchBucket":
            return None
        raise UsageError(
            f"cannot write the protection record {where(env)} ({exc.cause}); nothing was changed"
        ) from None
    return record


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def record(env: EnvironmentConfig, *, by: str, revision: str) -> Protection | None:
    """What lives at the state location, written before anything of the command that records it is applied."""
    who = by or f"unknown@{socket.gethostname()}"
    done = _write(env, Protection(env.protected, env.name, who, _now(), revision, throwaway=env.throwaway))
    if done is not None and env.protected:
        print(f"recorded that {env.suffix} is protected at {where(env)}", flush=True)
    return done


def lift(env: EnvironmentConfig, recorded: Protection, *, by: str, revision: str) -> Protection | None:
    """Only the protection goes: what lives there (which environment, not a throwaway) is the record's, never
    the lifting command's (a SUFFIX= copy that names the location must not turn it into a throwaway's)."""
    who = by or f"unknown@{socket.gethostname()}"
    lifted = Protection(False, recorded.environment, who, _now(), revision, throwaway=recorded.throwaway, lifted=True)
    return _write(env, lifted)
