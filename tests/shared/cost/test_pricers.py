"""Each pricer on the synthesized stacks: lines checked against figures computed by hand from AWS's published
us-east-1 on-demand prices (a month is 730 hours)."""

from __future__ import annotations

import pytest

from shared.cost import prices
from shared.cost.model import Stack, price_stack
from tests.support.synthesized import variant

BOOK = prices.load("us-east-1")


def lines(synth, configs, stack: str, env: str, config=None) -> list:
    resources = synth.stack(stack, env)["resource"]
    return list(price_stack(Stack(f"{stack}-{env}", resources, config or configs[env]), BOOK))


def line(found: list, resource: str, item: str):
    (match,) = [i for i in found if i.resource == resource and i.item == item]
    return match


def test_one_nat_gateway_is_32_85_a_month(synth, configs):
    # $0.045 an hour for 730 hours (AWS's month) = $32.85, the figure.
    found = line(lines(synth, configs, "network", "staging"), "aws_nat_gateway.nat_0", "NAT gateway hours")
    assert (found.quantity.expected, found.unit_price) == (730, 0.045)
    assert found.monthly.rounded() == {"low": 32.85, "expected": 32.85, "high": 32.85}
    data = line(lines(synth, configs, "network", "staging"), "aws_nat_gateway.nat_0", "NAT gateway data processed")
    assert data.monthly.expected == pytest.approx(10 * 0.045)  # usage.nat_gb_per_month, its only gateway


def test_dev_has_no_nat_gateway_and_prod_one_per_zone(synth, configs):
    nat = [i for i in lines(synth, configs, "network", "dev") if i.item == "NAT gateway hours"]
    assert nat == []
    prod = [i for i in lines(synth, configs, "network", "prod") if i.item == "NAT gateway hours"]
    assert round(sum(i.monthly.expected for i in prod), 2) == 98.55  # 3 x 32.85


def test_a_fargate_task_of_one_vcpu_and_2_gb_between_min_and_max_count(synth, configs):
    # prod: 1024 CPU units, 2048 MiB; 2..4 tasks, 4 desired. One task: 730 h x $0.04048 = $29.5504 of vCPU,
    # 730 h x 2 GB x $0.004445 = $6.4897 of memory.
    found = lines(synth, configs, "compute", "prod")
    vcpu = line(found, "aws_ecs_service.service", "Fargate vCPU hours")
    gb = line(found, "aws_ecs_service.service", "Fargate GB hours")
    assert vcpu.monthly.low == pytest.approx(2 * 29.5504)
    assert vcpu.monthly.expected == vcpu.monthly.high == pytest.approx(4 * 29.5504)
    assert gb.monthly.expected == pytest.approx(4 * 6.4897)
    assert (vcpu.quantity.expected, vcpu.unit) == (4 * 730, "vCPU-hours")


def test_dev_tasks_pay_for_their_public_address(synth, configs):
    # no NAT in dev: one task with a public IPv4 address at $0.005 an hour.
    found = line(lines(synth, configs, "compute", "dev"), "aws_ecs_service.service", "public IPv4 address hours")
    assert found.monthly.expected == pytest.approx(3.65)


def test_aurora_acu_hours_span_the_scaling_range_on_each_instance(synth, configs):
    # prod: 2..16 ACU on each of two instances at $0.12 an ACU hour: $175.20 at min, $1,401.60 at max.
    found = [i for i in lines(synth, configs, "data", "prod") if i.item == "Aurora Serverless v2 ACU hours"]
    assert [i.resource for i in found] == ["aws_rds_cluster_instance.instance_0", "aws_rds_cluster_instance.instance_1"]
    for item in found:
        assert item.monthly.rounded() == {"low": 175.2, "expected": 175.2, "high": 1401.6}


def test_the_expected_acu_follows_its_usage_key(synth, configs):
    busier = variant(configs["prod"], "prod", usage__aurora_expected_acu=4.0)
    found = line(
        lines(synth, configs, "data", "prod", busier),
        "aws_rds_cluster_instance.instance_0",
        "Aurora Serverless v2 ACU hours",
    )
    assert found.monthly.expected == pytest.approx(4 * 730 * 0.12)
    assert (found.monthly.low, found.monthly.high) == pytest.approx((175.2, 1401.6))


def test_a_paused_database_costs_nothing_at_its_low_end(variants, configs):
    resources = variants.stack("data", "paused")["resource"]
    found = price_stack(
        Stack("data-paused", resources, variant(configs["dev"], "paused", data__aurora__min_acu=0)), BOOK
    )
    acu = line(list(found), "aws_rds_cluster_instance.instance_0", "Aurora Serverless v2 ACU hours")
    assert (acu.monthly.low, acu.monthly.expected) == (0, 0)
    assert acu.monthly.high == pytest.approx(1 * 730 * 0.12)


def test_kinesis_shards_retention_and_put_units(synth, configs):
    # prod: 4 shards, 168 h retention; 10 records/s of 5 KB (one 25 KB unit each) over 2,628,000 s.
    found = lines(synth, configs, "data", "prod")
    assert line(found, "aws_kinesis_stream.stream", "shard hours").monthly.expected == pytest.approx(4 * 730 * 0.015)
    extended = line(found, "aws_kinesis_stream.stream", "extended data retention shard hours")
    assert extended.monthly.expected == pytest.approx(4 * 730 * 0.020)
    put = line(found, "aws_kinesis_stream.stream", "PUT payload units")
    assert put.quantity.expected == pytest.approx(26.28) and put.monthly.expected == pytest.approx(26.28 * 0.014)
    dev = lines(synth, configs, "data", "dev")
    assert [i for i in dev if i.item == "extended data retention shard hours"] == []  # 24 h is included


def test_an_enhanced_fan_out_consumer_pays_per_consumer_shard_hour(variants, configs):
    resources = variants.stack("data", "fanout")["resource"]
    env = variant(configs["dev"], "fanout", data__kinesis__consumer="enhanced_fan_out")
    found = list(price_stack(Stack("data-fanout", resources, env), BOOK))
    (consumer,) = [i for i in found if i.item == "enhanced fan-out consumer-shard hours"]
    assert consumer.monthly.expected == pytest.approx(1 * 730 * 0.015)


def test_alarms_are_billed_per_metric_and_a_dashboard_at_3_dollars(synth, configs):
    found = lines(synth, configs, "monitoring", "prod")
    math_alarm = line(found, "aws_cloudwatch_metric_alarm.ecs-tasks-below-desired", "standard resolution alarm metrics")
    assert (math_alarm.quantity.expected, math_alarm.monthly.expected) == (2, pytest.approx(0.20))
    assert line(found, "aws_cloudwatch_dashboard.dashboard", "dashboards").monthly.expected == 3.0


def test_fargate_spot_weights_move_tasks_to_spot_prices(configs):
    task = {"cpu": "1024", "memory": "2048", "runtime_platform": {"cpu_architecture": "X86_64"}}
    service = {
        "desired_count": 2,
        "task_definition": "${aws_ecs_task_definition.task.arn}",
        "capacity_provider_strategy": [
            {"capacity_provider": "FARGATE", "weight": 1},
            {"capacity_provider": "FARGATE_SPOT", "weight": 3},
        ],
    }
    stack = Stack(
        "compute-dev",
        {"aws_ecs_service": {"service": service}, "aws_ecs_task_definition": {"task": task}},
        configs["dev"],
    )
    found = {i.item: i for i in price_stack(stack, BOOK)}
    assert found["Fargate vCPU hours"].quantity.expected == pytest.approx(0.5 * 730)
    assert found["Fargate Spot vCPU hours"].quantity.expected == pytest.approx(1.5 * 730)
    assert found["Fargate Spot vCPU hours"].unit_price < found["Fargate vCPU hours"].unit_price


def test_a_strategys_base_runs_on_its_provider_before_the_weights_share_the_rest(configs):
    """One task always on Fargate (compute.spot_percent's base): a service of one task has nothing on Spot."""
    task = {"cpu": "256", "memory": "512"}
    strategy = [
        {"capacity_provider": "FARGATE", "weight": 50, "base": 1},
        {"capacity_provider": "FARGATE_SPOT", "weight": 50},
    ]
    one = {"desired_count": 1, "task_definition": "${aws_ecs_task_definition.task.arn}",
           "capacity_provider_strategy": strategy}  # fmt: skip
    stack = Stack("compute-dev", {"aws_ecs_service": {"s": one}, "aws_ecs_task_definition": {"task": task}},
                  configs["dev"])  # fmt: skip
    assert {i.item for i in price_stack(stack, BOOK)} == {"Fargate vCPU hours", "Fargate GB hours"}
    three = {**one, "desired_count": 3}
    stack = Stack("compute-dev", {"aws_ecs_service": {"s": three}, "aws_ecs_task_definition": {"task": task}},
                  configs["dev"])  # fmt: skip
    found = {i.item: i for i in price_stack(stack, BOOK)}
    assert found["Fargate vCPU hours"].quantity.expected == pytest.approx(2 * 0.25 * 730)  # base 1, then 1 of 2
    assert found["Fargate Spot vCPU hours"].quantity.expected == pytest.approx(1 * 0.25 * 730)
