"""network: VPC over the AZs, subnets from the config CIDR, NAT per environment, flow logs, security groups."""

from __future__ import annotations

import ipaddress

import pytest

from tests.support.synthesized import ENVIRONMENTS, policy

S = "network"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vpc_has_dns_and_the_configured_cidr(synth, configs, env):
    vpc = synth.one(S, env, "aws_vpc")
    assert vpc["cidr_block"] == configs[env].network.cidr
    assert vpc["enable_dns_support"] is True and vpc["enable_dns_hostnames"] is True
    assert vpc["tags"]["Name"] == f"streamflix-vpc-{env}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_public_and_private_subnets_in_every_az_inside_the_vpc(synth, configs, env):
    cfg = configs[env]
    subnets = synth.resources(S, env, "aws_subnet").values()
    public = [s for s in subnets if s["tags"]["tier"] == "public"]
    private = [s for s in subnets if s["tags"]["tier"] == "private"]
    assert len(public) == len(private) == cfg.network.az_count >= 2
    vpc = ipaddress.ip_network(cfg.network.cidr)
    blocks = [ipaddress.ip_network(s["cidr_block"]) for s in subnets]
    assert all(b.subnet_of(vpc) for b in blocks)
    assert not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1 :])
    assert all(s["map_public_ip_on_launch"] is False for s in subnets)
    # each subnet in a different zone of the pinned set
    assert len({s["availability_zone"] for s in public}) == cfg.network.az_count
    zones = synth.stack(S, env)["data"]["aws_availability_zones"]["zones"]
    assert zones["filter"] == [{"name": "zone-name", "values": cfg.zones}]


@pytest.mark.parametrize(("env", "nats"), [("dev", 0), ("staging", 1), ("prod", 3)])
def test_nat_gateways_follow_the_environment(synth, configs, env, nats):
    assert len(synth.resources(S, env, "aws_nat_gateway")) == nats
    assert len(synth.resources(S, env, "aws_eip")) == nats
    routes = synth.resources(S, env, "aws_route")
    private_defaults = [r for name, r in routes.items() if name.startswith("private_")]
    assert len(private_defaults) == (0 if nats == 0 else configs[env].network.az_count)
    if env == "prod":  # one NAT per AZ: each private route table uses its own AZ's gateway
        assert sorted(r["nat_gateway_id"] for r in private_defaults) == [
            f"${{aws_nat_gateway.nat_{i}.id}}" for i in range(3)
        ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_security_group_has_no_rules(synth, env):
    default = synth.one(S, env, "aws_default_security_group")
    assert "ingress" not in default and "egress" not in default


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_database_accepts_postgres_only_from_the_tasks(synth, env):
    ingress = synth.resources(S, env, "aws_vpc_security_group_ingress_rule")
    assert list(ingress.values()) == [
        {
            **ingress["db_from_tasks"],
            "security_group_id": "${aws_security_group.db_sg.id}",
            "referenced_security_group_id": "${aws_security_group.task_sg.id}",
            "ip_protocol": "tcp",
            "from_port": 5432,
            "to_port": 5432,
        }
    ]
    for sg in synth.resources(S, env, "aws_security_group").values():
        assert "ingress" not in sg and "egress" not in sg  # rules are separate resources, listed here
    # nothing is reachable from the internet
    assert not any("cidr_ipv4" in r for r in ingress.values())


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_tasks_may_only_reach_https_and_the_database(synth, env):
    egress = synth.resources(S, env, "aws_vpc_security_group_egress_rule")
    assert {(r["from_port"], r["to_port"]) for r in egress.values()} == {(443, 443), (5432, 5432)}
    assert egress["tasks_to_db"]["referenced_security_group_id"] == "${aws_security_group.db_sg.id}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_logs_go_to_an_encrypted_log_group(synth, configs, env):
    flow = synth.one(S, env, "aws_flow_log")
    group = synth.one(S, env, "aws_cloudwatch_log_group")
    key = synth.one(S, env, "aws_kms_key")
    assert flow["traffic_type"] == configs[env].network.flow_logs_traffic and flow["vpc_id"] == "${aws_vpc.vpc.id}"
    assert group["name"] == f"/streamflix/{env}/vpc-flow-logs"
    assert group["retention_in_days"] == configs[env].logs.retention_days
    assert group["kms_key_id"].startswith("${aws_kms_key.") and key["enable_key_rotation"] is True
    (group_id,) = synth.resources(S, env, "aws_cloudwatch_log_group")
    (stmt,) = policy(synth.one(S, env, "aws_iam_role_policy"))["Statement"]
    arn = f"${{aws_cloudwatch_log_group.{group_id}.arn}}"
    assert stmt["Resource"] == [arn, f"{arn}:*"]
    assert flow["log_destination"] == arn


def test_vpc_id_is_an_output(synth):
    out = synth.outputs(S, "dev")["vpc_id"]
    assert out["value"] == "${aws_vpc.vpc.id}" and out["description"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_subnets_use_the_configured_zones_literally_and_the_lookup_only_checks(synth, configs, env):
    zones = configs[env].zones
    subnets = synth.resources("network", env, "aws_subnet")
    for i, zone in enumerate(zones):
        assert subnets[f"public_{i}"]["availability_zone"] == zone
        assert subnets[f"private_{i}"]["availability_zone"] == zone
    lookup = synth.stack("network", env)["data"]["aws_availability_zones"]["zones"]
    (check,) = lookup["lifecycle"]["postcondition"]
    assert check["condition"] == f"${{length(self.names) == {len(zones)}}}"
    assert "Change network.availability_zones" in check["error_message"]
    instance = synth.resources("data", env, "aws_rds_cluster_instance")["instance_0"]
    assert instance["availability_zone"] == zones[0]  # no cross-stack read for a value known at synthesis


@pytest.mark.parametrize(("env", "traffic"), [("dev", "REJECT"), ("staging", "ALL"), ("prod", "ALL")])
def test_dev_logs_only_rejected_flows_the_audited_environments_all(synth, env, traffic):
    assert synth.one(S, env, "aws_flow_log")["traffic_type"] == traffic
