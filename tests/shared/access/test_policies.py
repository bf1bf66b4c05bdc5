"""The CI roles' documents as written for real environments: what moto cannot judge (resource scopes, conditions,
the boundary) is judged here, on the documents themselves."""

from __future__ import annotations

import json
import re

import pytest

from shared.access import policies
from shared.access.roles import ci_roles, shortest_prefixes
from tests.shared.access.targets import target
from tests.support.synthesized import ENVIRONMENTS

REAL = [e for e in ENVIRONMENTS if e != "local"]


def _level(action: str) -> str:
    from policy_sentry.querying.actions import get_action_data

    service, name = action.split(":")
    data = get_action_data(service, name)[service]
    return data[0]["access_level"]


def _actions(doc: dict) -> set[str]:
    return {a for s in doc["Statement"] for a in s["Action"]}


@pytest.mark.parametrize("env", REAL)
def test_the_plan_role_reads_configuration_and_nothing_else(synth, configs, env):
    doc = policies.plan_policy(target(synth, configs, env))
    levels = {a: _level(a) for a in _actions(doc) if not a.startswith(("s3:", "kms:Decrypt"))}
    assert {lv for lv in levels.values()} <= {"Read", "List"}, {
        a: lv for a, lv in levels.items() if lv not in ("Read", "List")
    }
    assert not {"s3:PutObject", "s3:DeleteObject"} & _actions(doc)
    reads_data = _actions(doc) & policies.DATA_READS
    # Only the state key may be decrypted; no secret value is read with RDS's password.
    assert reads_data == {"kms:Decrypt"}, reads_data
    (state_key,) = [s for s in doc["Statement"] if "kms:Decrypt" in s["Action"]]
    assert state_key["Condition"] == {
        "ForAnyValue:StringEquals": {"kms:ResourceAliases": [f"alias/streamflix-tfstate-{env}-state"]}
    }


def _allowed(doc: dict, action: str) -> list[str]:
    """The resources on which `doc` allows `action` (no condition judged)."""
    return [r for s in doc["Statement"] if action in s["Action"] for r in s["Resource"]]


def test_the_plan_role_may_make_the_reads_a_refresh_makes(synth, configs):
    """Calls the provider makes refreshing the stacks, found by planning as the plan role under enforced IAM:
    the fan-out consumer (local registers one) is its own resource type (its ARN also matched the stream's),
    and refreshing a cluster asks for its global-cluster membership."""
    t = target(synth, configs, "local")
    doc = policies.plan_policy(t)
    consumers = _allowed(doc, "kinesis:DescribeStreamConsumer")
    assert consumers and all("/consumer/" in r for r in consumers), consumers
    assert _allowed(doc, "rds:DescribeGlobalClusters") == [f"arn:aws:rds::{t.account}:global-cluster:*"]
    deploy = policies.deploy_policy(t)
    assert _allowed(deploy, "kinesis:DeregisterStreamConsumer") == consumers  # a destroy removes it


def test_a_generated_password_makes_the_plan_read_its_secret(synth, configs, variants):
    env = configs["dev"].model_copy(
        update={
            "data": configs["dev"].data.model_copy(
                update={"aurora": configs["dev"].data.aurora.model_copy(update={"password_generator": "random"})}
            )
        }
    )
    from shared.access.target import Target

    rds = policies.plan_policy(target(synth, configs, "dev"))
    random = policies.plan_policy(Target(env, "123456789012", "aws", target(synth, configs, "dev").resources))
    assert "secretsmanager:GetSecretValue" not in _actions(rds)
    assert "secretsmanager:GetSecretValue" in _actions(random)


@pytest.mark.parametrize("env", REAL)
def test_every_resource_is_named_exactly_tagged_or_offered_by_aws_only_as_star(synth, configs, env):
    t = target(synth, configs, env)
    for kind, doc in (("deploy", policies.deploy_policy(t)), ("plan", policies.plan_policy(t))):
        for s in doc["Statement"]:
            for r in s["Resource"]:
                if r == "*":  # AWS offers nothing narrower, or the request must tag it with the environment
                    assert s["Sid"].endswith("NoResourceInAWS") or "Condition" in s, (kind, s["Sid"])
                elif r in t.related_arns():  # what reading ours asks about (grants.py Related): reads only
                    assert s["Sid"].endswith("Related") and {_level(a) for a in s["Action"]} <= {"Read", "List"}
                elif "Condition" not in s:
                    assert env in r, (kind, s["Sid"], r)  # its exact name carries the suffix
                else:  # any id of a type, or RDS's secret: only under a tag or alias condition
                    assert s["Condition"], (kind, s["Sid"])


@pytest.mark.parametrize("env", REAL)
def test_roles_change_only_under_the_boundary_and_never_lose_it(synth, configs, env):
    t = target(synth, configs, env)
    doc = policies.deploy_policy(t)
    for s in doc["Statement"]:
        bounded = set(s["Action"]) & policies.BOUNDED_IAM
        if bounded:
            assert s["Condition"] == {"ArnEquals": {"iam:PermissionsBoundary": policies.boundary_arn(t)}}, s["Sid"]
            assert all(
                r.startswith("arn:aws:iam::123456789012:role/streamflix-") and r.endswith(f"-{env}")
                for r in s["Resource"]
            )
    assert not _actions(doc) & policies.NEVER
    passes = [r for s in doc["Statement"] if "iam:PassRole" in s["Action"] for r in s["Resource"]]
    assert passes and all(r.endswith(f"-{env}") for r in passes), passes


@pytest.mark.parametrize("env", REAL)
def test_the_deploy_role_writes_only_its_own_state(synth, configs, env):
    doc = policies.deploy_policy(target(synth, configs, env))
    writes = [s for s in doc["Statement"] if "s3:PutObject" in s["Action"]]
    assert [r for s in writes for r in s["Resource"]] == [f"arn:aws:s3:::streamflix-tfstate-{env}/streamflix/{env}/*"]


def test_a_promotion_reads_its_source_and_writes_nothing_there(synth, configs):
    prod, staging = target(synth, configs, "prod"), target(synth, configs, "staging")
    doc = policies.deploy_policy(prod, staging)
    for s in doc["Statement"]:
        if s["Sid"].startswith("Source"):
            assert all("prod" not in r for r in s["Resource"]), s
            written = {a for a in s["Action"] if _level(a) not in ("Read", "List")} - {
                "kinesis:PutRecord",
                "kms:Decrypt",
            }
            assert not written, (s["Sid"], written)


@pytest.mark.parametrize("env", REAL)
def test_the_boundary_never_grants_iam_or_sts_and_covers_every_stack_role(synth, configs, env):
    t = target(synth, configs, env)
    doc = policies.boundary_policy(t)
    assert not {a for a in _actions(doc) if a.split(":")[0] in ("iam", "sts", "organizations")}
    allowed = {a.split(":")[0] for a in _actions(doc) if a.endswith(":*")} | _actions(doc)
    for s in t.role_policies():
        for a in s["Action"]:
            assert a in allowed or a.split(":")[0] in allowed, (env, s["Sid"], a)


@pytest.mark.parametrize("env", REAL)
def test_no_role_reaches_another_environments_rds_secret(synth, configs, env):
    # RDS names every cluster's secret rds!cluster-<uuid>: without its cluster's tag as a condition, staging's
    # deploy role (whose promotion reads dev) or a role created under dev's boundary could read prod's password.
    t = target(synth, configs, env)
    source = {"staging": "dev", "prod": "staging"}.get(env)
    s_t = target(synth, configs, source) if source else None
    docs = {
        "deploy": (policies.deploy_policy(t, s_t), t),
        "plan": (policies.plan_policy(t), t),
    }
    # No role the stacks make reads any database secret (the workers log in by IAM token as their own user).
    boundary = policies.boundary_policy(t)
    assert not [s for s in boundary["Statement"] if any("secret:" in r for r in s["Resource"])]
    for kind, (doc, _) in docs.items():
        rds = [s for s in doc["Statement"] if any("rds!cluster" in r for r in s["Resource"])]
        assert rds, kind
        for s in rds:
            owner = s_t if s["Sid"].startswith("Source") else t
            (cluster,) = [a for a in owner.named_arns() if ":cluster:" in a]
            tag = "secretsmanager:ResourceTag/aws:rds:primaryDBClusterArn"
            assert s["Resource"] == [t.fill("arn:{partition}:secretsmanager:{region}:{account}:secret:rds!cluster-*")]
            assert s.get("Condition") == {"StringEquals": {tag: [cluster]}}, (kind, s["Sid"])


@pytest.mark.parametrize("env", REAL)
def test_a_create_is_allowed_only_on_its_own_type_when_the_request_tags_it_with_the_environment(synth, configs, env):
    # A resource being created has no tag, so aws:ResourceTag cannot allow its create (real AWS denies it;
    # moto judges no condition). The request tag may not stand in for the tag of what the create touches:
    # CreateSubnet under a request tag on `vpc/*` would let dev create a subnet in prod's VPC.
    doc = policies.deploy_policy(target(synth, configs, env))
    created = [s for s in doc["Statement"] if s["Sid"].startswith("CreateWithTheTag")]
    assert created
    allowed: dict[str, set[str]] = {}
    for s in created:
        assert s["Condition"] == {"StringEquals": {"aws:RequestTag/environment": env}}, s["Sid"]
        for arn in s["Resource"]:
            allowed.setdefault(arn.rsplit(":", 1)[1], set()).update(s["Action"])
    assert allowed["subnet/*"] == {"ec2:CreateSubnet"}
    assert allowed["vpc/*"] == {"ec2:CreateVpc"}
    assert "ec2:CreateTags" not in {a for s in created for a in s["Action"]}
    (tags,) = [s for s in doc["Statement"] if s["Sid"] == "TagOnCreate"]
    assert tags["Action"] == ["ec2:CreateTags"]
    condition = tags["Condition"]["StringEquals"]
    assert condition["aws:RequestTag/environment"] == env and "CreateVpc" in condition["ec2:CreateAction"]


def test_shortest_prefixes_grant_exactly_the_actions_asked():
    from policy_sentry.querying.actions import get_actions_for_service

    every = {a.lower() for a in get_actions_for_service("dynamodb")}
    wanted = ["dynamodb:DescribeTable", "dynamodb:GetResourcePolicy", "dynamodb:ListTagsOfResource"]
    patterns = shortest_prefixes(wanted)
    lowered = [p.lower() for p in patterns]  # IAM compares actions case-insensitively
    matched = {a for a in every if any(a == p or (p.endswith("*") and a.startswith(p[:-1])) for p in lowered)}
    assert matched == {w.lower() for w in wanted}, patterns
    assert "dynamodb:g*" not in patterns and "dynamodb:G*" not in patterns  # GetItem is not asked for


def test_shortest_prefixes_keep_awss_spelling_as_a_case_sensitive_matcher_needs():
    """IAM matches actions whatever their case; the emulator (moto) does not: a lowercase `s3:getobject` denied
    every state read of a CI role under enforced IAM."""
    wanted = ["s3:GetObject", "s3:GetObjectVersion", "kinesis:DescribeStreamSummary", "kinesis:DescribeStream"]
    patterns = shortest_prefixes(wanted)
    for action in wanted:  # a case-sensitive glob, as moto's
        assert any(re.fullmatch(p.replace("*", ".*"), action) for p in patterns), (action, patterns)
    assert shortest_prefixes(["s3:getobject"]) == ["s3:GetObject"]


@pytest.mark.parametrize("env", REAL)
def test_the_documents_fit_iams_limits_and_parliament_finds_nothing(synth, configs, env):
    from shared.access.lint import findings

    t = target(synth, configs, env)
    for role in ci_roles(t, None, "arn:aws:iam::123456789012:user/bootstrapper"):
        for doc in role.policies:
            assert len(json.dumps(doc, separators=(",", ":"))) <= 6144
            assert findings(doc) == [], (role.spec.name, findings(doc))


@pytest.mark.parametrize("env", REAL)
def test_the_deploy_role_may_deregister_the_task_definitions_it_replaces(synth, configs, env):
    """DeregisterTaskDefinition takes no resource in AWS: without it every rollout of the workers failed (found
    by destroying as the deploy role under enforced IAM). Only the deploy role gets it."""
    t = target(synth, configs, env)
    assert _allowed(policies.deploy_policy(t), "ecs:DeregisterTaskDefinition") == ["*"]
    assert _allowed(policies.plan_policy(t), "ecs:DeregisterTaskDefinition") == []


@pytest.mark.parametrize("env", REAL)
def test_the_workers_database_user_is_made_by_the_deploy_and_reached_by_the_task_role_alone(synth, configs, env):
    """The deploy runs one Data API statement on its own cluster; the boundary lets a stack role connect as the
    workers' user and no other (the master's name appears nowhere)."""
    t = target(synth, configs, env)
    (cluster,) = [a for a in t.named_arns() if ":cluster:" in a]
    made = [s for s in policies.deploy_policy(t)["Statement"] if "rds-data:ExecuteStatement" in s["Action"]]
    assert made == [{"Sid": "MakeWorkersDatabaseUser", "Effect": "Allow", "Action": ["rds-data:ExecuteStatement"],
                     "Resource": [cluster]}]  # fmt: skip
    assert not any("rds-data" in a for s in policies.plan_policy(t)["Statement"] for a in s["Action"])
    connect = [s for s in policies.boundary_policy(t)["Statement"] if "rds-db:connect" in s["Action"]]
    aurora = configs[env].data.aurora
    assert [s["Resource"] for s in connect] == [[t.fill("arn:{partition}:rds-db:{region}:{account}:dbuser:*/")
                                                 + aurora.app_user]]  # fmt: skip
    assert aurora.master_username not in json.dumps(connect)


@pytest.mark.parametrize("env", REAL)
def test_the_boundary_lets_aws_backup_snapshot_the_cluster_here_and_copy_it_to_the_copy_region(synth, configs, env):
    doc = policies.boundary_policy(target(synth, configs, env))
    (managed,) = [s for s in doc["Statement"] if s["Sid"] == "ManagedAWSBackupServiceRolePolicyForBackup"]
    copy_region = configs[env].data.backup.copy_region
    assert managed["Resource"] == [
        "arn:aws:rds:us-east-1:123456789012:cluster-snapshot:awsbackup:*",
        f"arn:aws:rds:{copy_region}:123456789012:cluster-snapshot:awsbackup:*",
    ]
    assert {"rds:CreateDBClusterSnapshot", "rds:CopyDBClusterSnapshot"} <= set(managed["Action"])
    # The vaults (both regions) by name; never any other environment's.
    (named,) = [s for s in doc["Statement"] if s["Sid"] == "EnvironmentResources"]
    vaults = [r for r in named["Resource"] if ":backup-vault:" in r]
    assert len(vaults) == 2 and all(r.endswith(f"-{env}") for r in vaults)
    assert {r.split(":")[3] for r in vaults} == {"us-east-1", copy_region}
