"""`make bootstrap`'s second half: the account's GitHub OIDC provider, the environment's permissions boundary and
its CI roles (shared/access/roles.py), made to match, idempotently, and what was done said property by property.

A role's permissions are customer-managed policies named `<role>-<n>`: a changed one gets a new default version
(the oldest non-default one is deleted when IAM's five are reached), extra ones from a larger earlier version
are detached and deleted. Nothing else of the account is touched.
"""

from __future__ import annotations

import json
import urllib.parse

from botocore.exceptions import ClientError

from shared.access.roles import GITHUB_AUDIENCE, GITHUB_OIDC_HOST, CiRole, boundary, ci_roles, oidc_provider_arn
from shared.access.target import Target
from shared.ops.aws import client

# GitHub's OIDC certificate thumbprints: IAM no longer checks them for GitHub (it trusts its root CAs), but older
# API versions and emulators require a list.
GITHUB_THUMBPRINTS = ["6938fd4d98bab03faadb97b34396831e3780aea1", "1c58a3a8518e8759bf075b76b750d4f2df264fcd"]

Done = list[tuple[str, str]]


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _same(a: dict | str, b: dict) -> bool:
    if isinstance(a, str):
        a = json.loads(urllib.parse.unquote(a))
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def ensure_oidc_provider(iam, target: Target, done: Done) -> None:
    arn = oidc_provider_arn(target)
    try:
        found = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
        iam.create_open_id_connect_provider(
            Url=f"https://{GITHUB_OIDC_HOST}", ClientIDList=[GITHUB_AUDIENCE], ThumbprintList=GITHUB_THUMBPRINTS
        )
        done.append((f"GitHub OIDC provider {GITHUB_OIDC_HOST}", "created"))
        return
    if GITHUB_AUDIENCE in found.get("ClientIDList", []):
        done.append((f"GitHub OIDC provider {GITHUB_OIDC_HOST}", "already there"))
    else:  # made by hand for another audience: ours is added, theirs stays
        iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=GITHUB_AUDIENCE)
        done.append((f"GitHub OIDC provider {GITHUB_OIDC_HOST}: audience {GITHUB_AUDIENCE}", "updated"))


def _policy_arn(target: Target, name: str) -> str:
    return f"arn:{target.partition}:iam::{target.account}:policy/{name}"


def ensure_managed_policy(iam, target: Target, name: str, doc: dict, description: str, done: Done) -> str:
    arn = _policy_arn(target, name)
    try:
        policy = iam.get_policy(PolicyArn=arn)["Policy"]
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
        iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc), Description=description)
        done.append((f"policy {name}", "created"))
        return arn
    current = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    if _same(current["Document"], doc):
        done.append((f"policy {name}", "already there"))
        return arn
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    if len(versions) >= 5:  # IAM keeps five: the oldest that is not the default goes
        oldest = min((v for v in versions if not v["IsDefaultVersion"]), key=lambda v: v["CreateDate"])
        iam.delete_policy_version(PolicyArn=arn, VersionId=oldest["VersionId"])
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(doc), SetAsDefault=True)
    done.append((f"policy {name}", "updated"))
    return arn


def ensure_role(iam, target: Target, role: CiRole, boundary_arn: str, done: Done) -> str:
    spec = role.spec
    label = f"role {spec.name}"
    try:
        found = iam.get_role(RoleName=spec.name)["Role"]
    except ClientError as exc:
        if _code(exc) != "NoSuchEntity":
            raise
        found = iam.create_role(
            RoleName=spec.name,
            AssumeRolePolicyDocument=json.dumps(role.trust),
            Description=f"CI {spec.kind} role of {target.env.suffix}: {spec.used_by}",
            MaxSessionDuration=spec.session_seconds,
            PermissionsBoundary=boundary_arn,
            Tags=[{"Key": "environment", "Value": target.env.suffix}, {"Key": "managed-by", "Value": "bootstrap"}],
        )["Role"]
        done.append((label, "created"))
        created = True
    else:
        done.append((label, "already there"))
        created = False
    settle = _settler(done, label, created)
    trust = json.dumps(role.trust)
    settle("trust", _same(found["AssumeRolePolicyDocument"], role.trust),
           lambda: iam.update_assume_role_policy(RoleName=spec.name, PolicyDocument=trust))  # fmt: skip
    settle(f"session {spec.session_seconds} s", found.get("MaxSessionDuration") == spec.session_seconds,
           lambda: iam.update_role(RoleName=spec.name, MaxSessionDuration=spec.session_seconds))  # fmt: skip
    settle("boundary", (found.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn") == boundary_arn,
           lambda: iam.put_role_permissions_boundary(RoleName=spec.name, PermissionsBoundary=boundary_arn))  # fmt: skip
    wanted = [
        ensure_managed_policy(iam, target, name, doc, f"CI {spec.kind} role of {target.env.suffix}", done)
        for name, doc in zip(role.policy_names(), role.policies, strict=True)
    ]
    attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=spec.name)["AttachedPolicies"]]
    for arn in wanted:
        settle(f"policy {arn.rsplit('/', 1)[-1]} attached", arn in attached,
               lambda arn=arn: iam.attach_role_policy(RoleName=spec.name, PolicyArn=arn))  # fmt: skip
    prefix = _policy_arn(target, f"{spec.name}-")
    for arn in attached:  # ours from a larger earlier version
        if arn.startswith(prefix) and arn not in wanted:
            iam.detach_role_policy(RoleName=spec.name, PolicyArn=arn)
            iam.delete_policy(PolicyArn=arn)
            done.append((f"policy {arn.rsplit('/', 1)[-1]}", "removed (no longer needed)"))
    return found["Arn"]


def _settler(done: Done, label: str, created: bool):
    def settle(prop: str, in_place: bool, fix) -> None:
        if not in_place:
            fix()
            done.append((f"{label}: {prop}", "created" if created else "updated"))

    return settle


def ensure_ci_roles(target: Target, source: Target | None, caller: str) -> tuple[Done, dict[str, str]]:
    """The OIDC provider, the boundary and both roles in place; returns what was done and the roles' ARNs."""
    done: Done = []
    iam = client("iam", target.env)
    ensure_oidc_provider(iam, target, done)
    name, doc = boundary(target)
    boundary_arn = ensure_managed_policy(
        iam, target, name, doc, f"The most any role of {target.env.suffix} may do", done
    )
    arns = {
        f"{role.spec.kind}_role_arn": ensure_role(iam, target, role, boundary_arn, done)
        for role in ci_roles(target, source, caller)
    }
    return done, {**arns, "permissions_boundary_arn": boundary_arn}
