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
    to_db = [r for r in ingress.values() if r["security_group_id"] == "${aws_security_group.db_sg.id}"]
    assert to_db == [
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


INTERFACE = ["ecr.api", "ecr.dkr", "kinesis-streams", "logs", "monitoring", "sqs", "sts"]
ACCOUNT = "${data.aws_caller_identity.caller.account_id}"


def endpoints(synthesized, env: str) -> dict[str, dict]:
    found = synthesized.resources(S, env, "aws_vpc_endpoint").values()
    return {e["service_name"].split(".", 3)[3]: e for e in found}  # com.amazonaws.<region>.<service>


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_and_dynamodb_gateways_on_every_route_table_for_this_accounts_resources(synth, configs, env):
    found = endpoints(synth, env)
    tables = sorted(f"${{aws_route_table.{name}.id}}" for name in synth.resources(S, env, "aws_route_table"))
    region = configs[env].aws.region
    for service in ("s3", "dynamodb"):
        gateway = found[service]
        assert (gateway["vpc_endpoint_type"], gateway["service_name"]) == (
            "Gateway",
            f"com.amazonaws.{region}.{service}",
        )
        assert sorted(gateway["route_table_ids"]) == tables  # public too: dev's tasks run there
    perimeter = {"StringEquals": {"aws:PrincipalAccount": ACCOUNT, "aws:ResourceAccount": ACCOUNT}}
    s3 = {s["Sid"]: s for s in policy(found["s3"])["Statement"]}
    assert s3["ThisAccountsBuckets"]["Condition"] == perimeter
    # ECR keeps image layers in a bucket of AWS's and hands out URLs it signs itself (the execution role holds no
    # S3 right): only reading that bucket is let through, whoever signed.
    layers = s3["EcrImageLayers"]
    assert (layers["Action"], layers["Resource"]) == (
        "s3:GetObject",
        [f"arn:aws:s3:::prod-{region}-starport-layer-bucket/*"],
    )
    assert "Condition" not in layers and layers["Principal"] == "*"
    (tables_stmt,) = policy(found["dynamodb"])["Statement"]
    assert tables_stmt["Condition"] == perimeter


@pytest.mark.parametrize(("env", "interface"), [("dev", False), ("staging", False), ("prod", True), ("local", True)])
def test_interface_endpoints_where_configured_in_the_private_subnets_for_this_accounts_principals(
    synth, env, interface
):
    found = {k: v for k, v in endpoints(synth, env).items() if v["vpc_endpoint_type"] == "Interface"}
    assert sorted(found) == (INTERFACE if interface else [])
    private = sorted(
        f"${{aws_subnet.{n}.id}}" for n in synth.resources(S, env, "aws_subnet") if n.startswith("private")
    )
    for endpoint in found.values():
        assert sorted(endpoint["subnet_ids"]) == private and endpoint["private_dns_enabled"] is True
        assert endpoint["security_group_ids"] == ["${aws_security_group.endpoints_sg.id}"]
        (stmt,) = policy(endpoint)["Statement"]
        assert stmt["Condition"] == {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}
    ingress = synth.resources(S, env, "aws_vpc_security_group_ingress_rule")
    assert ("endpoints_from_tasks" in ingress) is interface
    if interface:  # HTTPS from the tasks, nobody else
        rule = ingress["endpoints_from_tasks"]
        assert (rule["referenced_security_group_id"], rule["from_port"], rule["to_port"]) == (
            "${aws_security_group.task_sg.id}",
            443,
            443,
        )


def egress_peers(synthesized, env: str) -> dict[str, str]:
    rules = synthesized.resources(S, env, "aws_vpc_security_group_egress_rule")
    peer = ("cidr_ipv4", "referenced_security_group_id", "prefix_list_id")
    return {name: next(r[k] for k in peer if k in r) for name, r in rules.items()}


def test_with_interface_endpoints_the_tasks_https_narrows_to_them_the_gateways_and_the_named_reason(synth, configs):
    assert egress_peers(synth, "prod") == {
        "tasks_to_db": "${aws_security_group.db_sg.id}",
        "tasks_to_endpoints": "${aws_security_group.endpoints_sg.id}",
        "tasks_to_s3": "${aws_vpc_endpoint.endpoint_s3.prefix_list_id}",
        "tasks_to_dynamodb": "${aws_vpc_endpoint.endpoint_dynamodb.prefix_list_id}",
        "tasks_https": "0.0.0.0/0",
    }
    reason = configs["prod"].network.internet_https
    rules = synth.resources(S, "prod", "aws_vpc_security_group_egress_rule")
    assert "public.ecr.aws" in reason and rules["tasks_https"]["description"] == f"HTTPS to {reason}"
    # Without interface endpoints the tasks reach AWS's APIs over the internet, as before.
    assert egress_peers(synth, "dev") == {"tasks_to_db": "${aws_security_group.db_sg.id}", "tasks_https": "0.0.0.0/0"}


def test_an_image_in_this_accounts_ecr_closes_the_path_to_the_internet(variants):
    peers = egress_peers(variants, "ecr")
    assert "0.0.0.0/0" not in peers.values() and sorted(peers) == [
        "tasks_to_db",
        "tasks_to_dynamodb",
        "tasks_to_endpoints",
        "tasks_to_s3",
    ]


def test_vpc_endpoint_ids_are_an_output(synth):
    out = synth.outputs(S, "prod")["vpc_endpoint_ids"]
    assert sorted(out["value"]) == sorted(["s3", "dynamodb", *INTERFACE]) and out["description"]
