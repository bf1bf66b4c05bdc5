"""`make releases`: which revision and image runs in each environment, and the protections recorded beside
their states, read from the state buckets."""

from __future__ import annotations

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.aws import EmulatorDown, NoCredentials, check_credentials
from shared.ops.state_bucket import protection
from shared.ops.state_bucket.releases import history


def show(envs: list[EnvironmentConfig], *, named: bool = True) -> None:
    """`make releases`: what runs where. Exit 2 when an environment's records cannot be read. Without
    ENV (`named` false), an environment this machine has no AWS credentials for at all is a row that
    says so, not an error: a machine with only the local emulator still sees its own releases."""
    rows = [HEADER]
    protections: list[str] = []  # what each state location records of its protection
    problems: list[str] = []
    unreadable: list[str] = []
    missing: NoCredentials | None = None
    earlier: list[tuple[str, ...]] = []
    for env in envs:
        try:
            check_credentials(env)
            releases = history(env)
            if (recorded := protection.read(env)) is not None and (recorded.protected or recorded.lifted):
                protections.append(f"  {env.suffix:<12} {recorded.describe()}")
        except EmulatorDown:
            if named:
                raise
            # As plan and drift skip it: an emulator that is not running has nothing deployed to read.
            rows.append((env.suffix, "(its emulator is not running)", "", "", "", ""))
            continue
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
        if not releases:
            rows.append((env.suffix, "(never deployed)", "", "", "", ""))
        else:
            rows.append(_row(env.suffix, releases[-1]))
        if named and len(envs) == 1 and len(releases) > 1:  # `make releases ENV=<env>`: what ran there before
            earlier = [_row(env.suffix, rel) for rel in reversed(releases[:-1])]
    _table(rows)
    if named and len(envs) == 1 and earlier:
        print(f"\nbefore that in {envs[0].suffix} (newest first; docs/promotion.md says how to roll back to one):")
        _table([HEADER, *earlier])
    if protections:
        print("\nprotection recorded beside the state (make unprotect lifts it):\n" + "\n".join(protections))
    if unreadable:
        if len(unreadable) == len(envs) and missing is not None:
            raise missing
        print(
            f"\n{', '.join(unreadable)}: not read, as this machine has no AWS credentials; set AWS_PROFILE "
            "(after `aws sso login`) to see them too"
        )
    if problems:
        raise UsageError("\n".join(problems))


HEADER = ("ENVIRONMENT", "REVISION", "IMAGE", "DIGEST", "DEPLOYED AT", "BY")


def _row(suffix: str, rel) -> tuple[str, ...]:
    if rel.destroyed:
        return (suffix, "(destroyed)", "", "", rel.deployed_at, rel.deployed_by)
    revision = rel.revision[:12] + ("" if rel.clean else " (dirty)")
    digest = rel.digest[:19] if rel.digest else "(by tag)"  # sha256: and 12 hex digits
    return (suffix, revision, rel.image, digest, rel.deployed_at, rel.deployed_by)


def _table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
