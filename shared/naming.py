"""Resource names and tags: every name carries the environment suffix, every resource the same tags."""

from __future__ import annotations

from shared.config import ACCESS_LOG_SUFFIX, EnvironmentConfig

STACK_NAMES = ("network", "data", "compute", "monitoring")


def stack_id(stack: str, suffix: str) -> str:
    """`network-dev`: the contract's stack id."""
    return f"{stack}-{suffix}"


def resource_name(env: EnvironmentConfig, component: str) -> str:
    """`streamflix-<component>-<suffix>`, the name of one AWS resource of the environment."""
    return f"{env.project}-{component}-{env.suffix}"


def default_tags(env: EnvironmentConfig, stack: str) -> dict[str, str]:
    """Tags the AWS provider puts on every taggable resource of `stack`."""
    return {
        "project": env.project,
        "environment": env.suffix,
        "stack": stack,
        "managed-by": "cdktf",
    }


def state_kms_alias(env: EnvironmentConfig) -> str:
    """`alias/<bucket>-state`: the customer-managed key of the environment's state (dots are not allowed in
    alias names). `make bootstrap` makes it; every stack's backend names it."""
    return f"alias/{env.state.bucket.replace('.', '-')}-state"


def access_log_bucket(env: EnvironmentConfig) -> str:
    """The bucket that receives the state bucket's server access logs."""
    return f"{env.state.bucket}{ACCESS_LOG_SUFFIX}"


def state_key(env: EnvironmentConfig, stack: str) -> str:
    """The one place state keys are derived: `<prefix>/<suffix>/<stack>.tfstate`."""
    return f"{env.state.key_prefix}/{env.suffix}/{stack}.tfstate"


def ci_role_name(env: EnvironmentConfig, role: str) -> str:
    """`streamflix-deploy-<suffix>` / `streamflix-plan-<suffix>`: the roles CI assumes (make bootstrap makes them)."""
    return f"{env.project}-{role}-{env.suffix}"


def permissions_boundary_name(env: EnvironmentConfig) -> str:
    """`streamflix-boundary-<suffix>`: the managed policy every role of the environment carries as its boundary."""
    return f"{env.project}-boundary-{env.suffix}"
