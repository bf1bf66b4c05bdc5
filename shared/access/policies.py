"""The policy documents of an environment's CI roles and of its permissions boundary, derived from its synthesized
stacks (shared/access/target.py) through policy_sentry's database of AWS actions: pure functions, no AWS call.

- deploy: manages the environment's resources (exact ARNs, or the environment's tag), writes only its own state
  keys, creates and changes roles only under the environment's permissions boundary, passes only its own roles;
  and, for a promotion, reads its source environment as the source's plan role does, and runs its smoke checks.
- plan: reads (configuration, never data: no secret value, no stream record, no table item), writes nothing,
  decrypts only state.
- boundary: the most any role the stacks create may ever do: the environment's resources and the few calls AWS
  offers no resource for that the stacks' roles make; never IAM, never STS.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from shared.access.grants import RDS_SECRET_ARN, RDS_SECRET_CLUSTER_TAG
from shared.access.target import Target
from shared.config import EnvironmentConfig
from shared.naming import state_kms_alias

# What each role may do to the resources it reaches by name or tag (policy_sentry's access levels).
DEPLOY_LEVELS = ("Read", "List", "Write", "Tagging", "Permissions management")
PLAN_LEVELS = ("Read", "List")

# Reads of data rather than configuration, which no plan or refresh makes: the plan role never gets them.
DATA_READS = frozenset({
    "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
    "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:SubscribeToShard",
    "dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:GetRecords",
    "dynamodb:GetShardIterator", "dynamodb:PartiQLSelect", "dynamodb:ExportTableToPointInTime",
    "logs:GetLogEvents", "logs:FilterLogEvents", "logs:GetQueryResults", "logs:StartQuery", "logs:StartLiveTail",
    "logs:GetLogRecord", "logs:Unmask", "sqs:ReceiveMessage", "rds:DownloadDBLogFilePortion",
    "rds:DownloadCompleteDBLogFile", "kms:Decrypt", "kms:ReEncryptFrom", "ecs:ExecuteCommand",
})  # fmt: skip

# IAM calls that create or change a role's permissions: allowed only with the environment's boundary on the
# role (iam:PermissionsBoundary is their condition key). Removing a boundary is never allowed.
BOUNDED_IAM = frozenset({
    "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:DetachRolePolicy",
    "iam:DeleteRolePolicy", "iam:PutRolePermissionsBoundary",
})  # fmt: skip
NEVER = frozenset({"iam:DeleteRolePermissionsBoundary", "iam:UpdateAssumeRolePolicy"})

# AWS-managed policies the stacks attach, and what a boundary must let through for each (from the policy's
# current version in AWS's managed-policy reference).
MANAGED = {
    "AmazonRDSEnhancedMonitoringRole": [
        ("logs:CreateLogGroup", "logs:PutRetentionPolicy", "logs:CreateLogStream", "logs:PutLogEvents",
         "logs:DescribeLogStreams", "logs:GetLogEvents"),
        ("arn:{partition}:logs:*:{account}:log-group:RDS*",
         "arn:{partition}:logs:*:{account}:log-group:RDS*:log-stream:*"),
    ],
    # Its part for an Aurora cluster: the snapshots AWS Backup takes (named awsbackup:job-<id>) here, and their
    # copies in the copy region. The cluster, the vaults and the keys are the environment's own, let through above.
    "AWSBackupServiceRolePolicyForBackup": [
        ("rds:AddTagsToResource", "rds:CopyDBClusterSnapshot", "rds:CreateDBClusterSnapshot",
         "rds:DeleteDBClusterSnapshot", "rds:DescribeDBClusterSnapshots", "rds:ListTagsForResource",
         "rds:ModifyDBClusterSnapshotAttribute"),
        ("arn:{partition}:rds:{region}:{account}:cluster-snapshot:awsbackup:*",
         "arn:{partition}:rds:{copy_region}:{account}:cluster-snapshot:awsbackup:*"),
    ],
}  # fmt: skip


def _sid(*words: str) -> str:
    """`Manage`, `named` -> `ManageNamed`: IAM takes only letters and digits in a statement id."""
    parts = (w for word in words for w in word.replace(":", " ").replace("-", " ").split())
    return "".join(w[:1].upper() + w[1:] for w in parts)


@functools.cache
def _actions(service: str, resource_type: str, level: str) -> tuple[str, ...]:
    from policy_sentry.querying.actions import get_actions_with_arn_type_and_access_level

    return tuple(sorted(get_actions_with_arn_type_and_access_level(service, resource_type, level)))


@functools.cache
def _resource_type(arn: str) -> str:
    from policy_sentry.querying.arns import get_matching_raw_arns, get_resource_type_name_with_raw_arn
    from policy_sentry.util.arns import get_service_from_arn

    raws = get_matching_raw_arns(arn)
    if not raws:
        raise ValueError(f"{arn}: policy_sentry knows no resource type of {get_service_from_arn(arn)} with this ARN")
    # The most specific type that matches: a fan-out consumer's ARN (stream/*/consumer/<name>:*) also matches
    # the stream's pattern, whose actions cannot touch a consumer.
    return get_resource_type_name_with_raw_arn(max(raws, key=lambda raw: (len(re.split("[:/]", raw)), len(raw))))


def actions_on(arn: str, levels: tuple[str, ...]) -> list[str]:
    """Every action AWS lets a policy scope to this ARN, at these access levels."""
    service = arn.split(":")[2]
    rtype = _resource_type(arn)
    return sorted({a for level in levels for a in _actions(service, rtype, level)})


@functools.cache
def wildcard_only(service: str, level: str) -> tuple[str, ...]:
    """The actions of `service` at `level` that AWS offers no resource for: they can only be granted on `*`."""
    from policy_sentry.querying.actions import get_actions_at_access_level_that_support_wildcard_arns_only

    return tuple(sorted(get_actions_at_access_level_that_support_wildcard_arns_only(service, level)))


def _grouped(sid: str, by_arn: dict[str, list[str]], **extra: Any) -> list[dict]:
    """One statement per distinct action list, naming every ARN that takes exactly it."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for arn, actions in by_arn.items():
        if actions:
            groups.setdefault(tuple(actions), []).append(arn)
    return [
        {"Sid": f"{sid}{i}" if len(groups) > 1 else sid, "Effect": "Allow", "Action": list(actions),
         "Resource": arns, **extra}
        for i, (actions, arns) in enumerate(sorted(groups.items(), key=lambda g: g[1]), 1)
    ]  # fmt: skip


def _tag(target: Target) -> dict:
    return {"StringEquals": {"aws:ResourceTag/environment": target.env.suffix}}


def _resources(target: Target, levels: tuple[str, ...], exclude: frozenset[str], prefix: str) -> list[dict]:
    """Statements on the environment's named and tagged resources, and its services' wildcard-only reads."""
    statements = []
    named = {arn: [a for a in actions_on(arn, levels) if a not in exclude] for arn in target.named_arns()}
    iam = {arn: acts for arn, acts in named.items() if arn.split(":")[2] == "iam"}
    rest = {arn: acts for arn, acts in named.items() if arn not in iam}
    statements += _grouped(_sid(prefix, "named"), rest)
    boundary = boundary_arn(target)
    if iam:  # role changes only under the boundary
        free = {arn: [a for a in acts if a not in BOUNDED_IAM | NEVER] for arn, acts in iam.items()}
        statements += _grouped(_sid(prefix, "roles"), free)
        bounded = {arn: [a for a in acts if a in BOUNDED_IAM] for arn, acts in iam.items()}
        statements += _grouped(
            _sid(prefix, "roles under the boundary"),
            bounded,
            Condition={"ArnEquals": {"iam:PermissionsBoundary": boundary}},
        )
    tagged: dict[str, list[str]] = {}
    for _, arn in target.tagged_arns():
        tagged[arn] = [a for a in actions_on(arn, levels) if a not in exclude]
    statements += _grouped(_sid(prefix, "tagged"), tagged, Condition=_tag(target))
    # Reads of other resources that reading ours makes (grants.py Related says which and why): only reads.
    reading = tuple(lv for lv in levels if lv in PLAN_LEVELS)
    related = {arn: [a for a in actions_on(arn, reading) if a not in exclude] for arn in target.related_arns()}
    statements += _grouped(_sid(prefix, "related"), related)
    reads = sorted({a for s in target.services() for lv in PLAN_LEVELS for a in wildcard_only(s, lv)} - exclude)
    if reads:
        # AWS offers no resource for these (policy_sentry's wildcard-only reads): `*` is the narrowest there is.
        statements.append({"Sid": _sid(prefix, "no resource in AWS"), "Effect": "Allow", "Action": reads,
                           "Resource": ["*"]})  # fmt: skip
    if "aws_rds_cluster" in target.types():
        rds_secret = [a for a in actions_on(target.fill(RDS_SECRET_ARN), levels) if a not in exclude]
        statements.append({
            "Sid": _sid(prefix, "RDS secret"), "Effect": "Allow", "Action": rds_secret,
            "Resource": [target.fill(RDS_SECRET_ARN)], "Condition": _rds_secret_of(target),
        })  # fmt: skip
    return statements


def _rds_secret_of(target: Target) -> dict:
    """RDS names every cluster's secret rds!cluster-<uuid>, in every environment alike: only the tag RDS puts on
    it, naming its cluster, tells this environment's from another's."""
    clusters = _clusters(target)
    return {"StringEquals": {f"secretsmanager:ResourceTag/{RDS_SECRET_CLUSTER_TAG}": clusters}}


def _state(target: Target, prefix: str, *, write: bool, releases_only: bool = False) -> list[dict]:
    """The environment's own state keys (and what is recorded beside them), and the state key's use."""
    env = target.env
    bucket = f"arn:{target.partition}:s3:::{env.state.bucket}"
    keys = f"{bucket}/{env.state.key_prefix}/{env.suffix}/{'releases/' if releases_only else ''}*"
    objects = ["s3:GetObject", "s3:GetObjectVersion", *(("s3:PutObject", "s3:DeleteObject") if write else ())]
    crypto = ["kms:Decrypt", "kms:DescribeKey", *(("kms:Encrypt", "kms:GenerateDataKey") if write else ())]
    return [
        {"Sid": _sid(prefix, "state objects"), "Effect": "Allow", "Action": sorted(objects), "Resource": [keys]},
        # Listing shows keys, never contents; a record that is not there must read as absent, not as denied.
        {"Sid": _sid(prefix, "state listing"), "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [bucket]},
        {
            "Sid": _sid(prefix, "state key"), "Effect": "Allow", "Action": sorted(crypto),
            "Resource": [target.fill("arn:{partition}:kms:{region}:{account}:key/*")],
            # The state key is known by its alias (make bootstrap makes it), in every account the same way.
            "Condition": {"ForAnyValue:StringEquals": {"kms:ResourceAliases": [state_kms_alias(env)]}},
        },
    ]  # fmt: skip


def boundary_arn(target: Target) -> str:
    from shared.naming import permissions_boundary_name

    return f"arn:{target.partition}:iam::{target.account}:policy/{permissions_boundary_name(target.env)}"


def plan_reads_the_secret(env: EnvironmentConfig) -> bool:
    """A password of the stack's own: the plan opens an ephemeral read of its secret (docs/secrets-and-state.md)."""
    return env.data.aurora.password_generator != "rds"


def plan_statements(target: Target, prefix: str = "") -> list[dict]:
    exclude = DATA_READS
    if plan_reads_the_secret(target.env):
        # A password of the stack's own: the plan opens an ephemeral read of its secret (docs/secrets-and-state.md).
        exclude = DATA_READS - {"secretsmanager:GetSecretValue", "kms:Decrypt"}
    return [*_resources(target, PLAN_LEVELS, exclude, prefix + "Read"), *_state(target, prefix + "Read", write=False)]


def plan_policy(target: Target) -> dict:
    return document(plan_statements(target))


def deploy_policy(target: Target, source: Target | None = None) -> dict:
    """The deploy role's: its own environment, and for a promotion its source's reads and smoke checks."""
    statements = [*_resources(target, DEPLOY_LEVELS, NEVER, "Manage"), *_state(target, "Manage", write=True)]
    if creates := target.creates():
        statements.append({
            "Sid": "CreateTagged", "Effect": "Allow", "Action": creates, "Resource": ["*"],
            # AWS offers no resource for these creates: the request must tag what it creates with the environment.
            "Condition": {"StringEquals": {"aws:RequestTag/environment": target.env.suffix}},
        })  # fmt: skip
    statements += _created_with_the_tag(target)
    if unscoped := target.unscoped():
        # AWS offers neither a resource nor a condition for these (grants.py Unscoped says when each is called).
        statements.append({"Sid": "ChangeNoResourceInAWS", "Effect": "Allow", "Action": unscoped, "Resource": ["*"]})
    statements += _database_user(target)
    if source is not None:
        statements += plan_statements(source, "Source")
        statements += _smoke(source)
        statements += _state(source, "SourceReleases", write=False, releases_only=True)
    return document(statements)


def _clusters(target: Target) -> list[str]:
    return [a for a in target.named_arns() if ":rds:" in a and ":cluster:" in a]


def _database_user(target: Target) -> list[dict]:
    """After the data stack, the deploy makes the workers' database user through the RDS Data API
    (shared/database/app_user.py): one statement on the environment's own cluster, which reads the master's
    secret (the deploy role's already) on the caller's behalf."""
    if not (clusters := _clusters(target)):
        return []
    return [{"Sid": "MakeWorkersDatabaseUser", "Effect": "Allow", "Action": ["rds-data:ExecuteStatement"],
             "Resource": clusters}]  # fmt: skip


def _created_with_the_tag(target: Target) -> list[dict]:
    """A resource being created has no tag yet, so aws:ResourceTag cannot allow its create: each create is allowed
    on its own type only, when the request tags it with the environment; the other resources it touches (the VPC
    of a new subnet) still need their tag. EC2 tags on create through CreateTags, allowed only as part of those
    creates (ec2:CreateAction), never on an existing resource."""
    env_tag = {"aws:RequestTag/environment": target.env.suffix}
    created = target.tagged_creates()
    statements = _grouped("CreateWithTheTag", created, Condition={"StringEquals": env_tag})
    ec2 = {arn: actions for arn, actions in created.items() if arn.split(":")[2] == "ec2"}
    if ec2:
        on_create = sorted({a.split(":")[1] for actions in ec2.values() for a in actions})
        statements.append({
            "Sid": "TagOnCreate", "Effect": "Allow", "Action": ["ec2:CreateTags"], "Resource": sorted(ec2),
            "Condition": {"StringEquals": {**env_tag, "ec2:CreateAction": on_create}},
        })  # fmt: skip
    return statements


def _smoke(source: Target) -> list[dict]:
    """What `make smoke` does in the promotion's source before TO is touched: a record through its stream, and
    the database secret's keys (never printed)."""
    streams = [a for a in source.named_arns() if ":kinesis:" in a and ":stream/" in a and "/consumer/" not in a]
    statements = [{"Sid": "SourceSmokeStream", "Effect": "Allow", "Resource": streams,
                   "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:PutRecord"]}]  # fmt: skip
    read = ["secretsmanager:GetSecretValue"]
    if secrets := [a for a in source.named_arns() if ":secretsmanager:" in a]:
        statements.append({"Sid": "SourceSmokeSecret", "Effect": "Allow", "Action": read, "Resource": secrets})
    if "aws_rds_cluster" in source.types():
        statements.append({"Sid": "SourceSmokeRDSSecret", "Effect": "Allow", "Action": read,
                           "Resource": [source.fill(RDS_SECRET_ARN)], "Condition": _rds_secret_of(source)})  # fmt: skip
    return statements


def boundary_policy(target: Target) -> dict:
    """The most any role the stacks create may do: every action on the environment's own resources (never IAM),
    the statements the stacks' role policies grant on resources named outright (`*` where AWS offers none),
    and the AWS-managed policies they attach."""
    named = [a for a in target.named_arns() if a.split(":")[2] != "iam"]
    services = sorted({a.split(":")[2] for a in named})
    statements: list[dict] = [
        {"Sid": "EnvironmentResources", "Effect": "Allow", "Action": [f"{s}:*" for s in services], "Resource": named},
        {"Sid": "EnvironmentTaggedResources", "Effect": "Allow",
         "Action": sorted({f"{s}:*" for s, _ in target.tagged_arns()} | {"kms:*"}),
         "Resource": ["*"], "Condition": _tag(target)},
    ]  # fmt: skip
    if "aws_rds_cluster" in target.types():
        # The workers' task role connects as their own database user; the cluster's resource id in that ARN is
        # known only once the cluster exists, so the boundary names the user in any of the account's clusters.
        user = target.fill("arn:{partition}:rds-db:{region}:{account}:dbuser:*/") + target.env.data.aurora.app_user
        statements.append({"Sid": "ConnectAsWorkersDatabaseUser", "Effect": "Allow", "Action": ["rds-db:connect"],
                           "Resource": [user]})  # fmt: skip
    literal = [s for s in target.role_policies() if s.get("Effect") == "Allow" and "${" not in str(s.get("Resource"))]
    for i, s in enumerate(literal, 1):
        statements.append({"Sid": f"StackRolePolicy{i}", "Effect": "Allow", "Action": s["Action"],
                           "Resource": s["Resource"]})  # fmt: skip
    for arn in target.attached_policies():
        actions, resources = MANAGED[arn.rsplit("/", 1)[-1]]
        statements.append({"Sid": _sid("managed", arn.rsplit("/", 1)[-1]), "Effect": "Allow",
                           "Action": list(actions),
                           "Resource": [target.fill(r, copy_region=target.env.data.backup.copy_region)
                                        for r in resources]})  # fmt: skip
    return document(statements)


def summary(env: EnvironmentConfig, kind: str) -> str:
    """What a role of `kind` may do, in one sentence, from the rules above (docs/secrets-and-state.md's table)."""
    from shared.naming import permissions_boundary_name

    keys = f"`{env.state.bucket}/{env.state.key_prefix}/{env.suffix}/*`"
    if kind == "plan":
        secret = (
            "; GetSecretValue on its own database secret (its password is generated: the plan opens it)"
            if plan_reads_the_secret(env)
            else "; no secret value"
        )
        return (
            f"{', '.join(PLAN_LEVELS)} on the environment's resources, less {len(DATA_READS)} reads of data "
            f"(records, items, log events, messages){secret}; reads {keys}, writes nothing, takes no lock; "
            "decrypts only with the state key"
        )
    return (
        f"{', '.join(DEPLOY_LEVELS)} on the environment's resources (their exact ARNs, or their `environment` "
        f"tag; a create only when the request tags what it creates so); reads and writes {keys}; creates and "
        "changes roles only with the boundary "
        f"`{permissions_boundary_name(env)}`, passes only the environment's roles, never "
        f"{' or '.join(sorted(a.split(':')[1] for a in NEVER))}"
    )


def document(statements: list[dict]) -> dict:
    return {"Version": "2012-10-17", "Statement": statements}
