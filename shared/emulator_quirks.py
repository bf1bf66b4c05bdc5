"""What an AWS emulator does not give back as it was given, and what it does not serve at all: the one list of
known differences: attributes it gives back otherwise (QUIRKS), APIs it lacks (GAPS), calls it answers
otherwise (IMITATIONS: nothing in an emulated environment changes for them, only what it can prove).

An emulated environment (`aws.endpoint` set, such as `local`) puts each listed attribute in the
`ignore_changes` of every resource of its type (PipelineStack.absorb_emulator_quirks), so that a deploy
right after a deploy changes nothing and `make drift ENV=local` exits 0. Real environments never get
these: there, any such difference is drift. The end-to-end test plans the deployed emulator without them
and fails on a listed quirk that no longer shows (a newer emulator) or on one that is not listed.
Light to import: no provider bindings.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass


@dataclass(frozen=True)
class Quirk:
    resource_type: str
    attribute: str
    reason: str
    emulator: str = "moto"


QUIRKS: tuple[Quirk, ...] = (
    Quirk("aws_vpc_security_group_ingress_rule", "referenced_security_group_id",
          "returns a same-account group reference as <account>/<group id>"),
    Quirk("aws_vpc_security_group_egress_rule", "referenced_security_group_id",
          "returns a same-account group reference as <account>/<group id>"),
    Quirk("aws_vpc_security_group_ingress_rule", "description",
          "drops the description of a rule that references a security group when it creates it"),
    Quirk("aws_vpc_security_group_egress_rule", "description",
          "drops the description of a rule that references a security group when it creates it"),
    Quirk("aws_kinesis_stream", "tags_all", "drops the tags passed to CreateStream"),
    Quirk("aws_rds_cluster", "scaling_configuration",
          "reports a Serverless v1 ScalingConfiguration for a provisioned (Serverless v2) cluster"),
    Quirk("aws_rds_cluster", "enable_http_endpoint",
          "reports HttpEndpointEnabled false for a provisioned (Serverless v2) cluster: it keeps the Data API "
          "only for Serverless v1 engine versions"),
    Quirk("aws_ecs_service", "enable_ecs_managed_tags", "does not return enableECSManagedTags"),
    Quirk("aws_ecs_service", "availability_zone_rebalancing", "does not return availabilityZoneRebalancing"),
    Quirk("aws_backup_vault", "tags_all", "gives the AWS provider's ListTags no tags of a vault created with them"),
    Quirk("aws_backup_plan", "tags_all", "gives the AWS provider's ListTags no tags of a plan created with them"),
)  # fmt: skip


def ignored(resource_type: str) -> list[str]:
    """The attributes an emulated environment ignores on a resource of this type, in list order."""
    return [q.attribute for q in QUIRKS if q.resource_type == resource_type]


@dataclass(frozen=True)
class Gap:
    """An AWS API the emulator does not serve at all: what asking it gives, and what the tools do instead."""

    service: str  # boto3's name for it
    answer: str
    instead: str
    emulator: str = "moto"


GAPS: tuple[Gap, ...] = (
    Gap(
        "ecr-public",
        "has no ECR Public API: every call answers HTTP 500 with an HTML error page",
        "an image on public.ecr.aws runs by its tag in an emulated environment (the emulator is not asked)",
    ),
)


@dataclass(frozen=True)
class Imitation:
    """A call the emulator answers, but not as AWS does: what it does instead, and what that leaves untested."""

    call: str  # Service:Operation (Parameter)
    instead: str
    untested: str
    emulator: str = "moto"
    # A resource type an emulated environment does not create because of it ("" where nothing changes).
    not_created: str = ""


IMITATIONS: tuple[Imitation, ...] = (
    Imitation(
        "RDS:ModifyDBCluster (ManageMasterUserPassword)",
        "creates the RDS-managed secret (rds!cluster-<uuid>, under the given KMS key) with a fixed "
        '{"username": "admin", "password": "P@55w0rd!"}, not the master user and a new password; CreateDBCluster '
        "the same; DeleteDBCluster deletes it at once",
        "that the cluster accepts the secret's password: an emulated environment runs no database and no task",
    ),
    Imitation(
        "SecretsManager:CancelRotateSecret (on RDS's secret)",
        "refuses it (InvalidRequestException: the secret has no rotation Lambda function ARN), so destroying "
        "aws_secretsmanager_secret_rotation fails every destroy; AWS cancels the managed rotation (RotateSecret "
        "with rules only sets the schedule and would be accepted)",
        "the rotation schedule: an emulated environment does not set it (RDS's default schedule stays) and its "
        "synthesized JSON is what proves it (tests/stacks/test_data.py)",
        not_created="aws_secretsmanager_secret_rotation",
    ),
    Imitation(
        "CloudWatch:PutCompositeAlarm",
        "does not implement it (moto 5.2.5 answers every call with an error), so no composite alarm can be made",
        "the paging alarm (workers missing while work piles up): an emulated environment does not create it, and "
        "its rule and actions are proven on the synthesized JSON only (tests/stacks/test_monitoring.py)",
        not_created="aws_cloudwatch_composite_alarm",
    ),
    Imitation(
        "ECS:CreateService (capacityProviderStrategy)",
        "reports launchType EC2 for a service created with a capacity provider strategy and no launch type, so "
        "every plan replaces the service",
        "compute.spot_percent: an emulated environment refuses it (shared/config/rules.py), and the strategy and "
        "the cluster's capacity providers are proven on the synthesized JSON only (tests/stacks/test_compute.py)",
    ),
    Imitation(
        "RDS Data API:ExecuteStatement",
        "answers every statement with an empty result without running it (moto keeps no database), whatever the "
        "cluster's HTTP endpoint says",
        "the SQL that makes the workers' database user: it runs on a real PostgreSQL server set up as Aurora is "
        "(tests/shared/database/); the emulator proves the call is made after the data stack, with its "
        "cluster, secret and database, and that the deploy role may make it",
    ),
    Imitation(
        "IAM:AttachRolePolicy (an AWS-managed policy)",
        "holds none of AWS's managed policies (moto_server loads them only with MOTO_IAM_LOAD_MANAGED_POLICIES, "
        "which the emulator is not started with), so attaching one answers NoSuchEntity",
        "that the stacks' roles get the managed policies they name (AWS Backup's, enhanced monitoring's): an "
        "emulated environment does not attach them (its roles make no backup job and read no OS metric there); "
        "the attachments are proven on the synthesized JSON (tests/stacks/test_data.py)",
        not_created="aws_iam_role_policy_attachment",
    ),
    Imitation(
        "Backup:CreateBackupSelection",
        "does not implement it (moto 5.2.5 serves backup plans, vaults and vault locks, not selections), so no "
        "resource can be assigned to a backup plan",
        "that the plan backs up the cluster: an emulated environment does not create the selection (no backup job "
        "ever runs there), and its role and resources are proven on the synthesized JSON only "
        "(tests/stacks/test_data.py)",
        not_created="aws_backup_selection",
    ),
    Imitation(
        "Backup:ListRecoveryPointsByBackupVault",
        "does not implement it, and the AWS provider lists a vault's recovery points to delete them before the "
        "vault when force_destroy is set, so every destroy would fail",
        "force_destroy: an emulated environment's vaults do not set it (no selection, so they never hold a "
        "recovery point); the real environments' setting is proven on the synthesized JSON",
    ),
    Imitation(
        "Backup:UpdateBackupPlan",
        "does not implement it: a changed schedule, retention or copy of a deployed plan fails to apply",
        "changing a deployed plan: the end-to-end test deploys the plan once and never changes it; a change is "
        "proven on the synthesized JSON only",
    ),
)


@dataclass(frozen=True)
class Patch:
    """A defect of the emulator the tools correct in the server they start (shared/moto_server.py)."""

    defect: str
    breaks: str
    applied_by: str  # the function of shared/moto_server.py that corrects it
    emulator: str = "moto"


PATCHED: tuple[Patch, ...] = (
    Patch(
        "with IAM enforced, checks a request's signature against the parameters it parsed, posing as a body, so "
        "every REST GET or DELETE fails SignatureDoesNotMatch (moto 5.2.5 and 5.2.6)",
        "the CI roles' end-to-end proof: the plan role's plan reads AWS Backup's vaults (DescribeBackupVault)",
        "sign_requests_without_a_body_as_sent",
    ),
)


def not_created(resource_type: str) -> bool:
    """Whether an emulated environment leaves out resources of this type (IMITATIONS); real ones never do."""
    return any(i.not_created == resource_type for i in IMITATIONS)


def lacks(service: str) -> Gap | None:
    """The listed gap of the emulator for this AWS service, if any."""
    return next((g for g in GAPS if g.service == service), None)


@dataclass(frozen=True)
class IamWidening:
    """How the emulator judges an IAM policy otherwise than AWS, and what an emulated environment's CI roles and
    boundary get instead (never a real environment's: their documents are checked as written, by tests)."""

    judges: str
    widened: str


@dataclass(frozen=True)
class EmulatorIam:
    # Services whose resource ARNs the emulator does evaluate (moto 5.2.5: S3, existing SQS queues, IAM, STS);
    # every other request is judged as if on `*`, so a scoped Allow there is wrongly denied.
    scoped_services: tuple[str, ...]
    # (IAM's prefix, the name requests are signed with) where they differ: the emulator judges the action as
    # `<signing name>:<operation>`, so CloudWatch's DescribeAlarms is `monitoring:DescribeAlarms` to it.
    signing_names: tuple[tuple[str, str], ...]
    # Calls the emulator judges on `*` although their service is scoped: it finds the ARN of an existing role or
    # queue only, so creating one, or waiting for a deleted one to be gone, is a request on `*`.
    judged_on_any: tuple[str, ...]
    widenings: tuple[IamWidening, ...]

    def widen(self, doc: dict) -> dict:
        """The document as an emulated environment deploys it: resources outside scoped_services on `*`, no
        conditions, and each action of a service signed under another name also under that name."""
        aliases = dict(self.signing_names)
        statements = []
        for s in doc["Statement"]:
            s = {k: v for k, v in s.items() if k != "Condition"}
            actions = s.get("Action", [])
            actions = actions if isinstance(actions, list) else [actions]
            signed = [f"{aliases[a.split(':')[0]]}:{a.split(':', 1)[1]}" for a in actions if a.split(":")[0] in aliases]
            if signed:
                s["Action"] = [*actions, *signed]
            on_any = [a for a in self.judged_on_any if any(fnmatch.fnmatch(a.lower(), p.lower()) for p in actions)]
            if on_any and s.get("Resource") not in ("*", ["*"]):
                statements.append({"Sid": f"{s['Sid']}OnAny", "Effect": "Allow", "Action": on_any, "Resource": ["*"]})
            resources = s.get("Resource", [])
            resources = resources if isinstance(resources, list) else [resources]
            if resources and not all(r == "*" or r.split(":")[2] in self.scoped_services for r in resources):
                s["Resource"] = ["*"]
            statements.append(s)
        return {**doc, "Statement": statements}


EMULATOR_IAM = EmulatorIam(
    scoped_services=("s3", "sqs", "iam", "sts"),
    signing_names=(("cloudwatch", "monitoring"),),
    judged_on_any=("iam:CreateRole", "iam:GetRole", "sqs:CreateQueue", "sqs:GetQueueAttributes"),
    widenings=(
        IamWidening(
            "evaluates resource ARNs only for S3, existing SQS queues, IAM and STS: any other request is judged "
            "on `*`, so an Allow scoped to a stream, a key, a log group or a secret is wrongly denied",
            "statements on other services' resources are granted on `*`",
        ),
        IamWidening(
            "evaluates no condition key but sts:ExternalId, and answers a statement whose condition it cannot "
            "evaluate with an explicit Deny",
            "statements carry no Condition (tags, the boundary, kms:ResourceAliases, RDS's secret tag)",
        ),
        IamWidening(
            "ignores OIDC (AssumeRoleWithWebIdentity) trust, and checks AssumeRole's trust against the caller's ARN",
            "the CI roles also trust the identity that ran make bootstrap, by sts:AssumeRole",
        ),
        IamWidening(
            "does not apply permissions boundaries",
            "nothing: the boundary is attached, and what it allows is checked on its document",
        ),
        IamWidening(
            "names an action by the name its request is signed with, not IAM's prefix: CloudWatch's calls are "
            "`monitoring:...` to it, so `cloudwatch:DescribeAlarms` is wrongly denied",
            "each action of such a service is also granted under its signing name (signing_names)",
        ),
        IamWidening(
            "judges a call on a role or a queue by its ARN only while it exists: CreateRole, CreateQueue, and the "
            "provider's reads that wait for a deleted one to be gone (GetRole, GetQueueAttributes) are requests on "
            "`*` to it, so a call scoped to the role's or queue's ARN is wrongly denied",
            "those calls are also granted on `*` (judged_on_any)",
        ),
        IamWidening(
            "matches actions case-sensitively (IAM does not): `s3:getobject` would not allow GetObject",
            "nothing: every document spells actions as AWS does (shared/access/roles.py shortest_prefixes)",
        ),
        IamWidening(
            "answers a denial of a JSON-protocol call (SQS, Secrets Manager, Kinesis, ...) with an XML 403, which "
            "the provider reports as 'deserialization failed' and boto3 as error code '403'",
            "nothing: a denied call fails either way; read the emulator's log for the action it refused",
        ),
    ),
)
