"""Release records: which git revision and container image runs in each environment, kept in its state bucket.

One object per deploy under `<key_prefix>/<suffix>/releases/<UTC time>-<revision>.json`: no
read-modify-write, and the newest key is the current release.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import ClientError

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.aws import check_credentials, client

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Release:
    environment: str
    revision: str
    image: str
    deployed_at: str
    deployed_by: str
    clean: bool = True  # False: deployed from a working tree with uncommitted changes


def git(*args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise UsageError(f"git {' '.join(args)} failed: {proc.stderr.strip() or 'not a git checkout'}")
    return proc.stdout.strip()


def current_revision() -> str:
    return git("rev-parse", "HEAD")


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


def record(
    env: EnvironmentConfig, *, deployed_by: str, revision: str | None = None, image: str | None = None
) -> Release:
    now = datetime.now(UTC)
    release = Release(
        environment=env.suffix,
        revision=revision or current_revision(),
        image=image or env.compute.image,
        deployed_at=now.isoformat(timespec="seconds"),
        deployed_by=deployed_by,
        clean=True if revision else tree_is_clean(),
    )
    key = f"{_prefix(env)}{now.strftime('%Y%m%dT%H%M%S%fZ')}-{release.revision[:12]}.json"
    try:
        _s3(env).put_object(Bucket=env.state.bucket, Key=key, Body=json.dumps(asdict(release), indent=2).encode(),
                            ContentType="application/json")  # fmt: skip
    except ClientError as exc:
        raise _bucket_problem(env, exc) from None
    note = "" if release.clean else ", from a tree with uncommitted changes"
    print(f"recorded release {release.revision[:12]} ({release.image}) in {env.suffix}{note}")
    return release


def history(env: EnvironmentConfig) -> list[Release]:
    """Every release of the environment, oldest first."""
    s3, keys = _s3(env), []
    try:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=env.state.bucket, Prefix=_prefix(env)):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return [
            Release(**json.loads(s3.get_object(Bucket=env.state.bucket, Key=k)["Body"].read())) for k in sorted(keys)
        ]
    except ClientError as exc:
        raise _bucket_problem(env, exc) from None


def latest(env: EnvironmentConfig) -> Release | None:
    releases = history(env)
    return releases[-1] if releases else None


def show(envs: list[EnvironmentConfig]) -> int:
    """`make releases`: what runs where."""
    rows = [("ENVIRONMENT", "REVISION", "IMAGE", "DEPLOYED AT", "BY")]
    for env in envs:
        try:
            check_credentials(env)
            rel = latest(env)
        except UsageError as exc:
            rows.append((env.suffix, f"({exc})", "", "", ""))
            continue
        if rel is None:
            rows.append((env.suffix, "(never deployed)", "", "", ""))
        else:
            revision = rel.revision[:12] + ("" if rel.clean else " (dirty)")
            rows.append((env.suffix, revision, rel.image, rel.deployed_at, rel.deployed_by))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
    return 0
