"""The resource types the stacks create that AWS does not bill by themselves, each with why: the one list of them.

A synthesized type that is neither here nor priced by shared/cost/pricers.py fails a test that names it, so the
estimate cannot silently fall behind the stacks. What such a resource causes to be billed (the data a route
sends through a NAT gateway, the logs a subscription delivers) is priced where it is billed.
"""

from __future__ import annotations

from types import MappingProxyType

FREE = MappingProxyType(
    {
        "aws_appautoscaling_policy": "Application Auto Scaling is free; the tasks it starts are priced on the service",
        "aws_appautoscaling_target": "free; its min and max give the service's low and high",
        "aws_backup_selection": "free; the snapshots it selects are priced on the vaults",
        "aws_backup_vault_lock_configuration": "a lock is free; the snapshots it keeps are priced on the vault",
        "aws_cloudwatch_event_rule": "EventBridge delivers AWS services' own events on the default bus free",
        "aws_cloudwatch_event_target": "part of the rule: free",
        "aws_db_subnet_group": "configuration only",
        "aws_default_security_group": "security groups are free",
        "aws_ecs_cluster_capacity_providers": "free; the tasks on each provider are priced on the service",
        "aws_ecs_cluster": "an ECS cluster is free; Fargate tasks are priced on the service",
        "aws_ecs_task_definition": "free; its size is priced on the service that runs it",
        "aws_iam_role": "IAM is free",
        "aws_iam_role_policy": "IAM is free",
        "aws_iam_role_policy_attachment": "IAM is free",
        "aws_internet_gateway": "free; data out to the internet is not estimated (docs/cost.md)",
        "aws_kms_alias": "aliases are free; the key is priced",
        "aws_rds_cluster_parameter_group": "configuration only",
        "aws_route": "free; what a route sends through a NAT gateway is priced on the gateway",
        "aws_route_table": "free",
        "aws_route_table_association": "free",
        "aws_secretsmanager_secret_rotation": "rotation is free; the secret is priced (on the cluster, when RDS "
        "keeps it)",
        "aws_secretsmanager_secret_version": "versions are free; the secret is priced",
        "aws_security_group": "security groups are free",
        "aws_sns_topic": "a topic is free; alarm notifications stay within SNS's free publishes and deliveries",
        "aws_sns_topic_policy": "free",
        "aws_sns_topic_subscription": "free; e-mail and HTTPS deliveries of alarms stay within SNS's free tier",
        "aws_sqs_queue_policy": "free",
        "aws_subnet": "free",
        "aws_vpc": "a VPC is free",
        "aws_vpc_security_group_egress_rule": "free",
        "aws_vpc_security_group_ingress_rule": "free",
    }
)
