"""`make bootstrap ENV=<env>`: the environment's state bucket and key, created or put right, idempotently, and
what was done said property by property."""

from __future__ import annotations

from shared.config import EnvironmentConfig
from shared.ops.aws import check_credentials
from shared.ops.state_bucket.bootstrap import ensure_state_bucket


def bootstrap(env: EnvironmentConfig) -> None:
    identity = check_credentials(env)
    print(f"state bucket {env.state.bucket} ({env.state_region}) for {env.suffix}, account {identity['Account']}:")
    done = ensure_state_bucket(env)
    width = max(len(prop) for prop, _ in done)
    for prop, status in done:
        print(f"  {prop:<{width}}  {status}")
    changed = [prop for prop, status in done if status in ("created", "updated")]
    print(f"changed: {', '.join(changed)}" if changed else "nothing to change: everything was in place")
