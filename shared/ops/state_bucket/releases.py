"""Release records: which git revision and container image runs in each environment, kept in its state bucket.

One object per deploy under `<key_prefix>/<suffix>/releases/<UTC time>-<revision>.json`: no
read-modify-write, and the newest key is the current release.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.state_bucket.bucket import BucketError, StateBucket
from shared.paths import ROOT


@dataclass(frozen=True)
class Release:
    environment: str
    revision: str
    image: str
    deployed_at: str
    deployed_by: str
    clean: bool = True  # False: deployed from a working tree with uncommitted changes
    digest: str = ""  # the image's digest (sha256:...), where the deploy resolved it
    destroyed: bool = False  # True: the environment was destroyed (nothing runs there)


def git(*args: str) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed (not on PATH): install it, the release records need it") from None
    if proc.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {proc.stderr.strip() or 'not a git checkout'}")
    return proc.stdout.rstrip("\n")  # only the newline: a status line begins with a blank that is its meaning


def current_revision() -> str:
    return git("rev-parse", "HEAD")


def revision_or_unknown() -> str:
    """The checked-out revision, or "" in a copy that is not a git checkout (STACK= allows one)."""
    try:
        return current_revision()
    except UsageError:
        return ""


def uncommitted() -> list[str]:
    """The paths of the working tree that differ from the checked-out revision (changed, new or removed)."""
    # Each line "XY path". A path is any bytes: git quotes one holding a control character or (core.quotePath,
    # whatever the user's setting) any byte outside ASCII, so every name decodes and prints as text.
    lines = git("-c", "core.quotePath=true", "status", "--porcelain", "--no-renames").splitlines()
    return [line[3:] for line in lines if line]


def tree_is_clean() -> bool:
    return not uncommitted()


def _prefix(env: EnvironmentConfig) -> str:
    return StateBucket(env).releases_prefix


def _bucket_problem(env: EnvironmentConfig, exc: BucketError) -> UsageError:
    if exc.code in ("NoSuchBucket", "404"):
        return UsageError(f"state bucket {env.state.bucket} does not exist: run make bootstrap ENV={env.name}")
    return UsageError(f"cannot use state bucket {env.state.bucket}: {exc.code}: {exc.cause}")


def _put(env: EnvironmentConfig, now: datetime, label: str, release: Release) -> None:
    """One object per record; keys sort by time, so the newest is the current state of the environment."""
    key = f"{_prefix(env)}{now.strftime('%Y%m%dT%H%M%S%fZ')}-{label}.json"
    try:
        StateBucket(env).put(key, json.dumps(asdict(release), indent=2).encode())
    except BucketError as exc:
        raise _bucket_problem(env, exc) from None


def record(
    env: EnvironmentConfig,
    *,
    deployed_by: str,
    revision: str | None = None,
    image: str | None = None,
    digest: str = "",
) -> Release:
    now = datetime.now(UTC)
    release = Release(
        environment=env.suffix,
        revision=revision or current_revision(),
        image=image or env.compute.image,
        deployed_at=now.isoformat(timespec="seconds"),
        deployed_by=deployed_by,
        clean=True if revision else tree_is_clean(),
        digest=digest,
    )
    _put(env, now, release.revision[:12], release)
    note = "" if release.clean else ", from a tree with uncommitted changes"
    pinned = f" {release.digest}" if release.digest else ""
    print(f"recorded release {release.revision[:12]} ({release.image}{pinned}) in {env.suffix}{note}")
    return release


def record_destroyed(env: EnvironmentConfig, *, destroyed_by: str) -> Release:
    """A destroy is a release too: afterwards nothing runs in the environment."""
    now = datetime.now(UTC)
    release = Release(env.suffix, "", "", now.isoformat(timespec="seconds"), destroyed_by, destroyed=True)
    _put(env, now, "destroyed", release)
    print(f"recorded that {env.suffix} was destroyed")
    return release


_FIELDS = {f.name for f in fields(Release)}


def _parse(env: EnvironmentConfig, key: str, body: bytes) -> Release:
    """One record; a record that is not one is named, not a traceback."""
    try:
        doc = json.loads(body)
        return Release(**{k: v for k, v in doc.items() if k in _FIELDS})  # fields added later are ignored
    except (ValueError, TypeError, AttributeError) as exc:
        raise UsageError(
            f"s3://{env.state.bucket}/{key} is not a release record ({type(exc).__name__}); move it out of "
            f"{_prefix(env)}"
        ) from None


def history(env: EnvironmentConfig) -> list[Release]:
    """Every release of the environment, oldest first."""
    bucket = StateBucket(env)
    try:
        bodies = [(key, bucket.get(key)) for key in bucket.keys(_prefix(env))]
    except BucketError as exc:
        raise _bucket_problem(env, exc) from None
    return [_parse(env, key, body) for key, body in bodies if body is not None]  # None: removed meanwhile


def latest(env: EnvironmentConfig) -> Release | None:
    """What runs in the environment now; None when nothing does (never deployed, or destroyed)."""
    releases = history(env)
    return releases[-1] if releases and not releases[-1].destroyed else None
