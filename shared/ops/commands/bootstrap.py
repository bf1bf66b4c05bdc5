"""`make bootstrap ENV=<env>`: the environment's state bucket and key, then the account's GitHub OIDC provider,
the environment's permissions boundary and its CI roles, created or put right, idempotently, and what was done
said property by property. The roles' ARNs go to outputs/<env>.json under `ci`."""

from __future__ import annotations

import json
from pathlib import Path

from shared.access.target import Target, read_synthesized, resources_of
from shared.config import PROMOTION_ORDER, EnvironmentConfig, load_environment
from shared.files import owner_only, write_atomically
from shared.ops.access import ensure_ci_roles
from shared.ops.aws import check_credentials
from shared.ops.state_bucket.bootstrap import ensure_state_bucket
from shared.stack import partition_of
from shared.synthesis import synthesize_if_changed


def _report(done: list[tuple[str, str]]) -> None:
    width = max(len(prop) for prop, _ in done)
    for prop, status in done:
        print(f"  {prop:<{width}}  {status}")


def promotion_source(env: EnvironmentConfig) -> EnvironmentConfig | None:
    """The environment a promotion into `env` starts from (staging's is dev), if any."""
    if env.throwaway or env.name not in PROMOTION_ORDER or env.name == PROMOTION_ORDER[0]:
        return None
    return load_environment(PROMOTION_ORDER[PROMOTION_ORDER.index(env.name) - 1])


def target_of(env: EnvironmentConfig, account: str, outdir: Path) -> Target:
    stacks = synthesize_if_changed(env, outdir) / "stacks"
    return Target(env, account, partition_of(env.aws.region), resources_of(read_synthesized(env, stacks)))


def bootstrap(env: EnvironmentConfig, outdir: Path = Path("cdktf.out"), outputs_dir: Path = Path("outputs")) -> None:
    identity = check_credentials(env)
    account = identity["Account"]
    print(f"state bucket {env.state.bucket} ({env.state_region}) for {env.suffix}, account {account}:")
    done = ensure_state_bucket(env)
    _report(done)
    # The roles' permissions are derived from what the stacks hold: synthesized first (before anything of
    # IAM changes), the promotion's source too.
    target = target_of(env, account, outdir)
    source = promotion_source(env)
    source_target = target_of(source, account, outdir) if source else None
    print(f"CI roles of {env.suffix} (repository {env.ci.repository}):")
    role_done, arns = ensure_ci_roles(target, source_target, identity["Arn"])
    _report(role_done)
    path = outputs_dir / f"{env.suffix}.json"
    held = json.loads(path.read_text()) if path.exists() else {}
    outputs_dir.mkdir(parents=True, exist_ok=True)
    write_atomically(path, json.dumps({**held, "ci": arns}, indent=2, sort_keys=True) + "\n")
    owner_only(outputs_dir)
    print(f"role ARNs written to {path}")
    changed = [
        p for p, status in [*done, *role_done] if status in ("created", "updated") or status.startswith("removed")
    ]
    print(f"changed: {', '.join(changed)}" if changed else "nothing to change: everything was in place")
