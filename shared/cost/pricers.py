"""One pricer per billed resource type: its attributes (as synthesized, or as a plan holds them) and its stack in, the
price keys and quantities it is billed for out. Attributes are read where the resource states them (shard_count,
scaling ranges, task size); what only traffic decides comes from the environment's `usage:` keys."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from shared.cost.lines import (
    DAYS_PER_MONTH,
    FREE_EPHEMERAL_GIB,
    HOURS_PER_MONTH,
    PUT_PAYLOAD_UNIT_KB,
    SECONDS_PER_MONTH,
    ZERO,
    Pricer,
    Quantities,
    Span,
    Stack,
    block,
    hours,
    number,
    stream_gb_per_month,
)
from shared.errors import UsageError

# --- network


def nat_gateway(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    share = stack.env.usage.nat_gb_per_month / len(stack.of("aws_nat_gateway"))
    return [("nat_gateway_hours", hours()), ("nat_gateway_gb", Span.fixed(share))]


def eip(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    # Since February 2024 AWS bills every public IPv4 address by the hour, attached or not.
    return [("public_ipv4_hours", hours())]


def vpc_endpoint(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    if attrs.get("vpc_endpoint_type", "Gateway") != "Interface":
        return []  # gateway endpoints (S3, DynamoDB) are free
    interface = [a for a in stack.of("aws_vpc_endpoint").values() if a.get("vpc_endpoint_type") == "Interface"]
    zones = len(attrs.get("subnet_ids") or ()) or stack.env.network.az_count
    share = stack.env.usage.endpoint_gb_per_month / len(interface)
    return [("endpoint_hours", hours(zones)), ("endpoint_gb", Span.fixed(share))]


def flow_log(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    destination = attrs.get("log_destination_type", "cloud-watch-logs")
    key = "logs_vended_gb" if destination == "cloud-watch-logs" else f"logs_vended_{destination.replace('-', '_')}_gb"
    return [(key, Span.fixed(stack.env.usage.flow_logs_gb_per_day * DAYS_PER_MONTH))]


def log_group(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    usage = stack.env.usage
    group = str(attrs.get("name") or "")
    fed_by_flow_logs = any(
        f"aws_cloudwatch_log_group.{name}." in str(f.get("log_destination"))
        or (group and f":log-group:{group}" in str(f.get("log_destination")))
        for f in stack.of("aws_flow_log").values()
    )
    if fed_by_flow_logs:
        daily, ingested = usage.flow_logs_gb_per_day, []  # ingestion is priced on the flow log (vended logs)
    else:
        # RDS names the group of a cluster's exported logs itself: /aws/rds/cluster/<cluster>/<log>.
        daily = usage.database_logs_gb_per_day if group.startswith("/aws/rds/") else usage.task_logs_gb_per_day
        ingested = [("logs_ingested_gb", Span.fixed(daily * DAYS_PER_MONTH))]
    # Kept for retention_in_days, what is stored once the group is full; never expiring, the first year's.
    retention = number(attrs, "retention_in_days", 0, f"{stack.id}: aws_cloudwatch_log_group.{name}") or 365
    return [*ingested, ("logs_stored_gb_month", Span.fixed(daily * retention))]


# --- data


def kinesis_stream(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    where = f"{stack.id}: aws_kinesis_stream.{name}"
    usage = stack.env.usage
    gb = stream_gb_per_month(stack.env)
    gb_per_hour = gb / HOURS_PER_MONTH
    retention = number(attrs, "retention_period", 24, where)
    long_term = Span.fixed(gb_per_hour * max(0.0, retention - 168))  # beyond 7 days: long-term retention
    mode = block(attrs.get("stream_mode_details")).get("stream_mode", "PROVISIONED")
    if mode == "ON_DEMAND":
        polled = not stack.of("aws_kinesis_stream_consumer")  # enhanced fan-out consumers are priced on themselves
        return [
            ("kinesis_on_demand_stream_hours", hours()),
            ("kinesis_on_demand_ingested_gb", Span.fixed(gb)),
            ("kinesis_on_demand_retrieved_gb", Span.fixed(gb if polled else 0.0)),
            ("kinesis_on_demand_extended_retention_gb_month", Span.fixed(gb_per_hour * (min(retention, 168) - 24))),
            ("kinesis_long_term_gb_month", long_term),
        ]
    shards = number(attrs, "shard_count", 1, where)
    units = math.ceil(usage.record_kb / PUT_PAYLOAD_UNIT_KB) * usage.records_per_second * SECONDS_PER_MONTH
    return [
        ("kinesis_shard_hours", hours(shards)),
        ("kinesis_put_units_millions", Span.fixed(units / 1e6)),
        ("kinesis_extended_retention_shard_hours", hours(shards) if retention > 24 else ZERO),
        ("kinesis_long_term_gb_month", long_term),
    ]


def kinesis_stream_consumer(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    stream = stack.referenced("aws_kinesis_stream", attrs.get("stream_arn"))
    if stream is None:
        raise UsageError(f"{stack.id}: aws_kinesis_stream_consumer.{name}: its stream is not in the stack")
    gb = Span.fixed(stream_gb_per_month(stack.env))  # every consumer receives every record once
    if block(stream.get("stream_mode_details")).get("stream_mode") == "ON_DEMAND":
        return [("kinesis_on_demand_efo_gb", gb)]
    shards = number(stream, "shard_count", 1, f"{stack.id}: aws_kinesis_stream_consumer.{name}")
    return [("kinesis_efo_consumer_shard_hours", hours(shards)), ("kinesis_efo_gb", gb)]


def backup_vault(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    # Each vault, here or in the copy region, stores the cluster's snapshots at Aurora's backup storage rate (the
    # copy region's rate is taken as this region's: the two differ by cents where they differ at all).
    return [("backup_vault_aurora_gb_month", Span.fixed(stack.env.usage.backup_vault_gb))]


def backup_plan(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    # A plan is free; a rule that copies to another region moves its snapshots there, billed as data transfer.
    rules = attrs.get("rule") or []
    rules = rules if isinstance(rules, list) else [rules]
    copies = any(isinstance(r, Mapping) and r.get("copy_action") for r in rules)
    return [("inter_region_gb", Span.fixed(stack.env.usage.backup_copy_gb_per_month))] if copies else []


def rds_cluster(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    usage = stack.env.usage
    storage = "aurora" if attrs.get("storage_type") in (None, "", "aurora") else attrs["storage_type"].replace("-", "_")
    found = [
        (f"{storage}_storage_gb_month", Span.fixed(usage.aurora_storage_gb)),
        (f"{storage}_io_millions", Span.fixed(usage.aurora_io_millions)),
        ("aurora_backup_gb_month", Span.fixed(usage.aurora_backup_gb)),
    ]
    if attrs.get("manage_master_user_password"):
        found.append(("secret_month", Span.fixed(1)))  # the secret RDS keeps the password in
    return found


def rds_cluster_instance(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    where = f"{stack.id}: aws_rds_cluster_instance.{name}"
    if attrs.get("instance_class") != "db.serverless":
        raise UsageError(f"{where}: no price for instance class {attrs.get('instance_class')!r} (only db.serverless)")
    cluster = stack.referenced("aws_rds_cluster", attrs.get("cluster_identifier"))
    scaling = block((cluster or {}).get("serverlessv2_scaling_configuration"))
    if not scaling:
        raise UsageError(f"{where}: its cluster's serverlessv2_scaling_configuration is not in the stack")
    low, high = number(scaling, "min_capacity", 0, where), number(scaling, "max_capacity", 0, where)
    expected = stack.env.usage.aurora_expected_acu
    found = [("aurora_acu_hours", Span(low, low if expected is None else expected, high) * HOURS_PER_MONTH)]
    if number(attrs, "monitoring_interval", 0, where) > 0:
        metrics = Span.fixed(stack.env.usage.enhanced_monitoring_gb_per_instance)
        found += [("logs_ingested_gb", metrics), ("logs_stored_gb_month", metrics)]  # RDSOSMetrics keeps 30 days
    if (
        attrs.get("performance_insights_enabled")
        and number(attrs, "performance_insights_retention_period", 7, where) > 7
    ):
        found.append(("performance_insights_long_term_acu_hours", found[0][1]))  # 7 days are free
    return found


def sqs_queue(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    return [
        ("sqs_requests_millions", Span.fixed(stack.env.usage.sqs_requests_millions / len(stack.of("aws_sqs_queue"))))
    ]


def dynamodb_table(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    if attrs.get("billing_mode") != "PAY_PER_REQUEST":
        raise UsageError(
            f"{stack.id}: aws_dynamodb_table.{name}: no price for billing mode {attrs.get('billing_mode')}"
        )
    usage, tables = stack.env.usage, len(stack.of("aws_dynamodb_table"))
    storage = usage.lease_table_storage_gb / tables
    found = [
        ("dynamodb_write_millions", Span.fixed(usage.lease_table_writes_millions / tables)),
        ("dynamodb_read_millions", Span.fixed(usage.lease_table_reads_millions / tables)),
        ("dynamodb_storage_gb_month", Span.fixed(storage)),
    ]
    if block(attrs.get("point_in_time_recovery")).get("enabled"):
        found.append(("dynamodb_pitr_gb_month", Span.fixed(storage)))
    return found


def kms_key(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    return [("kms_key_month", Span.fixed(1))]


def secretsmanager_secret(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    return [("secret_month", Span.fixed(1))]


# --- compute


def _task_counts(name: str, attrs: Mapping[str, Any], stack: Stack) -> Span:
    """min..max of the service's scaling target, desired count expected; without one, the desired count."""
    where = f"{stack.id}: aws_ecs_service.{name}"
    desired = number(attrs, "desired_count", 1, where)
    service_name = str(attrs.get("name") or "")
    targets = [
        t
        for t in stack.of("aws_appautoscaling_target").values()
        if t.get("scalable_dimension") == "ecs:service:DesiredCount"
        and (
            f"aws_ecs_service.{name}." in str(t.get("resource_id"))
            or (service_name and str(t.get("resource_id")).endswith(f"/{service_name}"))
        )
    ]
    if not targets:
        return Span.fixed(desired)
    target = targets[0]
    return Span(number(target, "min_capacity", desired, where), desired, number(target, "max_capacity", desired, where))


def _shares(tasks: Span, strategy: list[Mapping[str, Any]]) -> tuple[Span, Span]:
    """(Fargate, Fargate Spot) task counts at each end: without a strategy, every task on Fargate."""
    if not strategy:
        return tasks, ZERO
    weights = {s.get("capacity_provider"): float(s.get("weight") or 0) for s in strategy}
    bases = {s.get("capacity_provider"): float(s.get("base") or 0) for s in strategy}
    spot_weight = weights.get("FARGATE_SPOT", 0) / (sum(weights.values()) or 1)
    base_od, base_spot = bases.get("FARGATE", 0), bases.get("FARGATE_SPOT", 0)

    def split(count: float) -> tuple[float, float]:
        od = min(count, base_od)
        sp = min(count - od, base_spot)
        rest = count - od - sp
        return od + rest * (1 - spot_weight), sp + rest * spot_weight

    ends = [split(c) for c in (tasks.low, tasks.expected, tasks.high)]
    return Span(*(e[0] for e in ends)), Span(*(e[1] for e in ends))


def ecs_service(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    where = f"{stack.id}: aws_ecs_service.{name}"
    strategy = attrs.get("capacity_provider_strategy") or []
    if not strategy and attrs.get("launch_type", "FARGATE") != "FARGATE":
        raise UsageError(f"{where}: no price for launch type {attrs.get('launch_type')!r} (only FARGATE)")
    task = stack.referenced("aws_ecs_task_definition", attrs.get("task_definition"))
    if task is None:
        raise UsageError(f"{where}: its task definition is not in the stack")
    vcpu = number(task, "cpu", 0, where) / 1024
    gb = number(task, "memory", 0, where) / 1024
    arm = block(task.get("runtime_platform")).get("cpu_architecture") == "ARM64"
    tasks = _task_counts(name, attrs, stack)
    # A strategy's `base` tasks run on their provider first; the weights share the rest (ECS's own order).
    on_demand, spot = _shares(tasks, [s for s in strategy if isinstance(s, Mapping)])
    kind = "_arm" if arm else ""
    found = []
    for count, market in ((on_demand, "fargate"), (spot, "fargate_spot")):
        if count.high > 0:
            found += [
                (f"{market}{kind}_vcpu_hours", count * (vcpu * HOURS_PER_MONTH)),
                (f"{market}{kind}_gb_hours", count * (gb * HOURS_PER_MONTH)),
            ]
    extra = number(block(task.get("ephemeral_storage")), "size_in_gib", FREE_EPHEMERAL_GIB, where) - FREE_EPHEMERAL_GIB
    if extra > 0:
        found.append(("fargate_ephemeral_gb_hours", tasks * (extra * HOURS_PER_MONTH)))
    if block(attrs.get("network_configuration")).get("assign_public_ip"):
        found.append(("public_ipv4_hours", tasks * HOURS_PER_MONTH))  # each task's public address
    return found


# --- monitoring


def metric_alarm(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    # An alarm is billed per metric it watches: a metric math alarm for each metric of its expression.
    queries = [q for q in attrs.get("metric_query") or [] if isinstance(q, Mapping)]
    metrics = [block(q.get("metric")) for q in queries if block(q.get("metric"))] or [attrs]
    period = min(number(m, "period", 60, f"{stack.id}: aws_cloudwatch_metric_alarm.{name}") for m in metrics)
    key = "alarm_high_resolution_metric_month" if period < 60 else "alarm_metric_month"
    return [(key, Span.fixed(len(metrics)))]


def composite_alarm(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    return [("composite_alarm_month", Span.fixed(1))]


def dashboard(name: str, attrs: Mapping[str, Any], stack: Stack) -> Quantities:
    return [("dashboard_month", Span.fixed(1))]


PRICERS: Mapping[str, Pricer] = MappingProxyType(
    {
        "aws_nat_gateway": nat_gateway,
        "aws_eip": eip,
        "aws_vpc_endpoint": vpc_endpoint,
        "aws_flow_log": flow_log,
        "aws_cloudwatch_log_group": log_group,
        "aws_kinesis_stream": kinesis_stream,
        "aws_kinesis_stream_consumer": kinesis_stream_consumer,
        "aws_rds_cluster": rds_cluster,
        "aws_backup_vault": backup_vault,
        "aws_backup_plan": backup_plan,
        "aws_rds_cluster_instance": rds_cluster_instance,
        "aws_sqs_queue": sqs_queue,
        "aws_dynamodb_table": dynamodb_table,
        "aws_kms_key": kms_key,
        "aws_secretsmanager_secret": secretsmanager_secret,
        "aws_ecs_service": ecs_service,
        "aws_cloudwatch_metric_alarm": metric_alarm,
        "aws_cloudwatch_composite_alarm": composite_alarm,
        "aws_cloudwatch_dashboard": dashboard,
    }
)
