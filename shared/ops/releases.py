"""Release records: which git revision and container image runs in each environment, kept in its state bucket.

One object per deploy under `<key_prefix>/<suffix>/releases/<UTC time>-<revision>.json`: no
read-modify-write, and the newest key is the current release.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops import protection
from shared.ops.aws import NoCredentials, check_credentials, client
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
    return proc.stdout.strip()


def current_revision() -> str:
    return git("rev-parse", "HEAD")


def revision_or_unknown() -> str:
    """The checked-out revision, or "" in a copy that is not a git checkout (STACK= allows one)."""
    try:
        return current_revision()
    except UsageError:
        return ""


def tree_is_clean() -> bool:
    return not git("status", "--porcelain")


def _prefix(env: EnvironmentConfig) -> str:
    return f"{env.state.key_prefix}/{env.suffix}/releases/"


def _s3(env: EnvironmentConfig):
    return client("s3", env, region=env.state_region)


def _bucket_problem(env: EnvironmentConfig, exc: ClientError) -> UsageError:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in ("NoSuchBucket", "404"):
        return UsageError(f"state bucket {env.state.bucket} does not exist: run make bootstrap ENV={env.name}")
    return UsageError(f"cannot use state bucket {env.state.bucket}: {code}: {exc}")


def _put(env: EnvironmentConfig, now: datetime, label: str, release: Release) -> None:
    """One object per record; keys sort by time, so the newest is the current state of the environment."""
    key = f"{_prefix(env)}{now.strftime('%Y%m%dT%H%M%S%fZ')}-{label}.json"
    try:
        _s3(env).put_object(
            Bucket=env.state.bucket,
            Key=key,
            Body=json.dumps(asdict(release), indent=2).encode(),
            ContentType="application/json",
        )
    except ClientError as exc:
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
    s3, keys = _s3(env), []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env.state.bucket, Prefix=_prefix(env)):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return [_parse(env, k, s3.get_object(Bucket=env.state.bucket, Key=k)["Body"].read()) for k in sorted(keys)]
    except ClientError as exc:
        raise _bucket_problem(env, exc) from None


def latest(env: EnvironmentConfig) -> Release | None:
    """What runs in the environment now; None when nothing does (never deployed, or destroyed)."""
    releases = history(env)
    return releases[-1] if releases and not releases[-1].destroyed else None


def show(envs: list[EnvironmentConfig], *, named: bool = True) -> int:
    """`make releases`: what runs where. Exit 2 when an environment's records cannot be read. Without
    ENV (`named` false), an environment this machine has no AWS credentials for at all is a row that
    says so, not an error: a machine with only the local emulator still sees its own releases."""
    rows = [("ENVIRONMENT", "REVISION", "IMAGE", "DIGEST", "DEPLOYED AT", "BY")]
    protections: list[str] = []  # what each state location records of its protection
    problems: list[str] = []
    unreadable: list[str] = []
    missing: NoCredentials | None = None
    for env in envs:
        try:
            check_credentials(env)
            releases = history(env)
            if (recorded := protection.read(env)) is not None and (recorded.protected or recorded.lifted):
                protections.append(f"  {env.suffix:<12} {recorded.describe()}")
        except NoCredentials as exc:
            if named:
                raise
            missing = exc
            unreadable.append(env.suffix)
            rows.append((env.suffix, "(no AWS credentials here)", "", "", "", ""))
            continue
        except UsageError as exc:
            if str(exc) not in problems:
                problems.append(str(exc))
            rows.append((env.suffix, "(unknown: see below)", "", "", "", ""))
            continue
        rel = releases[-1] if releases else None
        if rel is None:
            rows.append((env.suffix, "(never deployed)", "", "", "", ""))
        elif rel.destroyed:
            rows.append((env.suffix, "(destroyed)", "", "", rel.deployed_at, rel.deployed_by))
        else:
            revision = rel.revision[:12] + ("" if rel.clean else " (dirty)")
            digest = rel.digest[:19] if rel.digest else "(by tag)"  # sha256: and 12 hex digits
            rows.append((env.suffix, revision, rel.image, digest, rel.deployed_at, rel.deployed_by))
    widths = [max(len(r[i]) for r in rows) for i in range(6)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    if protections:
        print("\nprotection recorded beside the state (make unprotect lifts it):\n" + "\n".join(protections))
    if unreadable:
        if len(unreadable) == len(envs) and missing is not None:
            raise missing
        print(
            f"\n{', '.join(unreadable)}: not read, as this machine has no AWS credentials; set AWS_PROFILE "
            "(after `aws sso login`) to see them too"
        )
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    return 2 if problems else 0
