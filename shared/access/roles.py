"""The roles CI assumes, as values: name, trust, session length and policies of `streamflix-deploy-<suffix>` and
`streamflix-plan-<suffix>`, and the environment's permissions boundary. `make bootstrap` makes AWS match them
(shared/ops/access.py); docs/secrets-and-state.md's table is generated from them.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass

from shared.access import policies
from shared.access.target import Target
from shared.config import EnvironmentConfig
from shared.emulator_quirks import EMULATOR_IAM
from shared.naming import ci_role_name, permissions_boundary_name

GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"
GITHUB_AUDIENCE = "sts.amazonaws.com"
# IAM's limit on one customer-managed policy (characters, whitespace not counted); a role holds at most 10.
POLICY_LIMIT = 6144
MAX_POLICIES = 10


@dataclass(frozen=True)
class RoleSpec:
    """A CI role as the configuration alone says it: what the workflow names and docs/secrets-and-state.md lists."""

    kind: str  # deploy | plan
    name: str
    github_environment: str  # the GitHub environment whose jobs it trusts
    session_seconds: int  # its maximum session
    used_by: str  # the workflow's jobs that assume it
    may: str  # its permissions in one sentence (shared/access/policies.py summary)

    def subject(self, repository: str) -> str:
        """The OIDC token's `sub` the trust requires: exactly this repository's jobs in this GitHub environment."""
        return f"repo:{repository}:environment:{self.github_environment}"


def role_specs(env: EnvironmentConfig) -> tuple[RoleSpec, RoleSpec]:
    """The environment's deploy and plan roles, without their policies (those need the synthesized stacks)."""
    return (
        RoleSpec("deploy", ci_role_name(env, "deploy"), env.name, env.ci.deploy_session_seconds,
                 "deploy, promotion into it, smoke", policies.summary(env, "deploy")),
        RoleSpec("plan", ci_role_name(env, "plan"), f"{env.name}-plan", env.ci.plan_session_seconds,
                 "pull-request plans, the drift check", policies.summary(env, "plan")),
    )  # fmt: skip


@dataclass(frozen=True)
class CiRole:
    """A CI role as it goes to AWS: its spec, its trust, and its permissions as managed policies."""

    spec: RoleSpec
    trust: dict
    policies: tuple[dict, ...]  # customer-managed policies, each within POLICY_LIMIT

    def policy_names(self) -> list[str]:
        return [f"{self.spec.name}-{i}" for i in range(1, len(self.policies) + 1)]


def oidc_provider_arn(target: Target) -> str:
    return f"arn:{target.partition}:iam::{target.account}:oidc-provider/{GITHUB_OIDC_HOST}"


def trust_policy(target: Target, spec: RoleSpec, caller: str | None = None) -> dict:
    """Exactly this repository's jobs in this GitHub environment, through the account's GitHub OIDC provider.
    An emulated environment also trusts `caller` (whoever ran make bootstrap): the emulator ignores OIDC trust
    and checks AssumeRole's (shared/emulator_quirks.py EMULATOR_IAM)."""
    statements = [
        {
            "Sid": "GitHubEnvironment",
            "Effect": "Allow",
            "Principal": {"Federated": oidc_provider_arn(target)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {
                "StringEquals": {
                    f"{GITHUB_OIDC_HOST}:aud": GITHUB_AUDIENCE,
                    f"{GITHUB_OIDC_HOST}:sub": spec.subject(target.env.ci.repository),
                }
            },
        }
    ]
    if target.env.emulated and caller:
        statements.append(
            {"Sid": "EmulatorCaller", "Effect": "Allow", "Principal": {"AWS": caller}, "Action": "sts:AssumeRole"}
        )
    return policies.document(statements)


def _size(doc: dict) -> int:
    return len(json.dumps(doc, separators=(",", ":")))


@functools.cache
def _actions_of(service: str) -> dict[str, str]:
    """Every action of `service` today: lowercase (IAM compares actions case-insensitively) -> AWS's spelling."""
    from policy_sentry.querying.actions import get_actions_for_service

    return {a.lower(): a for a in get_actions_for_service(service)}


def shortest_prefixes(actions: list[str]) -> list[str]:
    """The same actions as the shortest `prefix*` patterns that match exactly them among every action AWS has
    today (policy_sentry's database), each action kept whole where no shorter prefix is exact, in AWS's spelling
    (IAM ignores case; the emulator does not, and people read them). Written here rather than taken from
    policy_sentry's minimize, which over-grants (measured: it compares lowercase wanted actions with AWS's
    casing, and its wildcard-only reads came back with seven actions more)."""
    spelled = {a.lower(): a for a in actions}
    found = set()
    for action in sorted(spelled):
        service, name = action.split(":", 1)
        every = _actions_of(service)
        spelling = every.get(action, spelled[action])
        for length in range(1, len(name) + 1):
            prefix = f"{service}:{name[:length]}"
            if all(a in spelled for a in every if a.startswith(prefix)):
                found.add(spelling[: len(service) + 1 + length] + "*" if length < len(name) else spelling)
                break
        else:
            found.add(spelling)
    return sorted(found, key=str.lower)


def compact(doc: dict) -> dict:
    """The same grants in fewer characters (shortest_prefixes), as IAM's size limits require."""
    statements = []
    for s in doc["Statement"]:
        actions = s["Action"] if isinstance(s["Action"], list) else [s["Action"]]
        statements.append({**s, "Action": shortest_prefixes(actions)})
    return policies.document(statements)


def split(doc: dict, what: str) -> tuple[dict, ...]:
    """Statements packed in order into managed policies of at most POLICY_LIMIT characters each."""
    chunks: list[list[dict]] = [[]]
    for s in doc["Statement"]:
        if _size(policies.document([s])) > POLICY_LIMIT:
            raise ValueError(f"{what}: statement {s['Sid']} alone exceeds IAM's {POLICY_LIMIT} characters")
        if _size(policies.document([*chunks[-1], s])) > POLICY_LIMIT:
            chunks.append([])
        chunks[-1].append(s)
    if len(chunks) > MAX_POLICIES:
        raise ValueError(f"{what}: needs {len(chunks)} managed policies, more than IAM's {MAX_POLICIES} per role")
    return tuple(policies.document(c) for c in chunks)


def deployed(doc: dict, target: Target, what: str) -> tuple[dict, ...]:
    """A policy as it goes to AWS: compacted, widened where an emulator needs it, split to IAM's limits."""
    doc = compact(doc)
    if target.env.emulated:
        doc = EMULATOR_IAM.widen(doc)
    return split(doc, what)


def ci_roles(target: Target, source: Target | None = None, caller: str | None = None) -> tuple[CiRole, CiRole]:
    """The environment's deploy and plan roles. `source`: the environment a promotion into this one starts from."""
    deploy, plan = role_specs(target.env)
    documents = {"deploy": policies.deploy_policy(target, source), "plan": policies.plan_policy(target)}
    return tuple(  # type: ignore[return-value]
        CiRole(spec, trust_policy(target, spec, caller), deployed(documents[spec.kind], target, spec.name))
        for spec in (deploy, plan)
    )  # fmt: skip


def boundary(target: Target) -> tuple[str, dict]:
    """The permissions boundary's name and document (one managed policy)."""
    doc = policies.boundary_policy(target)
    if target.env.emulated:
        doc = EMULATOR_IAM.widen(doc)
    (only,) = split(doc, permissions_boundary_name(target.env))
    return permissions_boundary_name(target.env), only
