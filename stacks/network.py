"""The network stack: VPC, public and private subnets over the AZs, NAT, VPC endpoints, flow logs, security groups."""

from __future__ import annotations

import json

from constructs import Construct
from shared.cdk.aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from shared.cdk.aws.default_security_group import DefaultSecurityGroup
from shared.cdk.aws.eip import Eip
from shared.cdk.aws.flow_log import FlowLog
from shared.cdk.aws.iam_role import IamRole
from shared.cdk.aws.iam_role_policy import IamRolePolicy
from shared.cdk.aws.internet_gateway import InternetGateway
from shared.cdk.aws.nat_gateway import NatGateway
from shared.cdk.aws.route import Route
from shared.cdk.aws.route_table import RouteTable
from shared.cdk.aws.route_table_association import RouteTableAssociation
from shared.cdk.aws.security_group import SecurityGroup
from shared.cdk.aws.subnet import Subnet
from shared.cdk.aws.vpc import Vpc
from shared.cdk.aws.vpc_endpoint import VpcEndpoint
from shared.cdk.aws.vpc_security_group_egress_rule import (
    VpcSecurityGroupEgressRule,
)
from shared.cdk.aws.vpc_security_group_ingress_rule import (
    VpcSecurityGroupIngressRule,
)
from shared.cdk.core import Postcondition, TerraformResourceLifecycle

from shared.components.encryption_key import EncryptionKey
from shared.components.iam import assume_role_policy, document, statement
from shared.components.log_group import EncryptedLogGroup, logs_service_grant
from shared.config import EnvironmentConfig
from shared.stack import PipelineStack

POSTGRES_PORT = 5432
HTTPS_PORT = 443
# Free, and routed by the route tables: every environment has them.
GATEWAY_SERVICES = ("s3", "dynamodb")
# What the workers and the ECS agent call, with network.interface_endpoints: the stream, the DLQ, logs and
# metrics, STS (the SDKs' regional credential calls) and a private ECR registry. Not Secrets Manager: no task
# reads a secret (the workers log in to the database by IAM token, signed locally, no call).
INTERFACE_SERVICES = ("kinesis-streams", "sqs", "logs", "monitoring", "sts", "ecr.api", "ecr.dkr")


class NetworkStack(PipelineStack):
    """Exposes `vpc`, `public_subnets`, `private_subnets`, `task_subnets`, `task_security_group`,
    `database_security_group` and `tasks_need_public_ip` to the stacks that build on it."""

    stack_name = "network"

    def __init__(self, scope: Construct, *, env: EnvironmentConfig) -> None:
        super().__init__(scope, env=env)
        net = env.network
        public_cidrs, private_cidrs = net.subnet_cidrs()

        # The subnets use the configured zone names literally: with a lookup, an impaired zone drops
        # out of the list, the index wraps around, and the next plan replaces subnets, NAT gateways
        # and the database writer. The lookup stays, only as a check that fails the plan by name.
        wanted = ", ".join(env.zones)
        DataAwsAvailabilityZones(
            self,
            "zones",
            state="available",
            filter=[DataAwsAvailabilityZonesFilter(name="zone-name", values=env.zones)],
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    Postcondition(
                        condition=f"${{length(self.names) == {len(env.zones)}}}",
                        error_message=f"Not every configured availability zone ({wanted}) is available in "
                        f'{env.aws.region}: unavailable are ${{join(", ", setsubtract({json.dumps(env.zones)}, '
                        "self.names))}. Change network.availability_zones, or wait for AWS.",
                    )
                ]
            ),
        )
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=net.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags={"Name": self.name("vpc")},
        )
        # The default security group is what an ENI gets when nobody picks one: keep it empty.
        DefaultSecurityGroup(self, "default_sg", vpc_id=self.vpc.id, tags={"Name": self.name("default")})

        igw = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags={"Name": self.name("igw")})
        public_rt = RouteTable(self, "public_rt", vpc_id=self.vpc.id, tags={"Name": self.name("public")})
        Route(
            self, "public_default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id
        )

        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        for i in range(net.az_count):
            az = env.zones[i]
            public = Subnet(
                self,
                f"public_{i}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[i],
                availability_zone=az,
                # Tasks that need a public IP ask for one (assign_public_ip); nothing gets one by default.
                map_public_ip_on_launch=False,
                tags={"Name": self.name(f"public-{i + 1}"), "tier": "public"},
            )
            RouteTableAssociation(self, f"public_{i}_rt", subnet_id=public.id, route_table_id=public_rt.id)
            self.public_subnets.append(public)
            self.private_subnets.append(
                Subnet(
                    self,
                    f"private_{i}",
                    vpc_id=self.vpc.id,
                    cidr_block=private_cidrs[i],
                    availability_zone=az,
                    map_public_ip_on_launch=False,
                    tags={"Name": self.name(f"private-{i + 1}"), "tier": "private"},
                )
            )

        nats = []
        for i in range(net.nat_gateways):
            eip = Eip(self, f"nat_{i}_eip", domain="vpc", tags={"Name": self.name(f"nat-{i + 1}")}, depends_on=[igw])
            nats.append(
                NatGateway(
                    self,
                    f"nat_{i}",
                    allocation_id=eip.id,
                    subnet_id=self.public_subnets[i].id,
                    tags={"Name": self.name(f"nat-{i + 1}")},
                    depends_on=[igw],
                )
            )
        route_tables = [public_rt]
        for i, subnet in enumerate(self.private_subnets):
            rt = RouteTable(self, f"private_{i}_rt", vpc_id=self.vpc.id, tags={"Name": self.name(f"private-{i + 1}")})
            route_tables.append(rt)
            if nats:
                # One NAT per AZ keeps an AZ outage local; a single NAT is shared to save cost.
                Route(
                    self,
                    f"private_{i}_default",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nats[i % len(nats)].id,
                )
            RouteTableAssociation(self, f"private_{i}_rta", subnet_id=subnet.id, route_table_id=rt.id)

        # Without NAT gateways tasks cannot reach AWS APIs or the registry from private subnets,
        # so they run in public subnets with public IPs (and no inbound rule): dev's cost choice.
        self.tasks_need_public_ip = net.nat_gateways == 0
        self.task_subnets = self.public_subnets if self.tasks_need_public_ip else self.private_subnets

        self._flow_logs()
        self._security_groups()
        self._endpoints(route_tables)

        self.output("vpc_id", self.vpc.id, "ID of the pipeline VPC.")
        self.output("vpc_cidr", self.vpc.cidr_block, "IPv4 CIDR block of the VPC.")
        self.output("public_subnet_ids", [s.id for s in self.public_subnets], "IDs of the public subnets, one per AZ.")
        self.output(
            "private_subnet_ids",
            [s.id for s in self.private_subnets],
            "IDs of the private subnets, one per AZ (database; tasks when NAT exists).",
        )
        self.output("task_security_group_id", self.task_security_group.id, "Security group of the ECS tasks.")
        self.output(
            "vpc_endpoint_ids",
            {service: e.id for service, e in self.endpoints.items()},
            "IDs of the VPC endpoints by service: the S3 and DynamoDB gateways, and the interface endpoints where "
            "network.interface_endpoints is on.",
        )
        self.output(
            "database_security_group_id",
            self.database_security_group.id,
            "Security group of the Aurora cluster; admits PostgreSQL from the tasks only.",
        )

    def _flow_logs(self) -> None:
        log_prefix = self.log_prefix
        key = EncryptionKey(
            self,
            "flow_logs_key",
            alias=self.name("network"),
            description=f"Encrypts the VPC flow logs of {self.env.suffix}",
            account_id=self.account_id,
            partition=self.partition,
            deletion_window_days=30 if self.env.protected else 7,
            services=[logs_service_grant(self.region, self.partition, self.account_id, [log_prefix])],
        )
        group = EncryptedLogGroup(
            self,
            "flow_logs",
            name=f"{log_prefix}vpc-flow-logs",
            retention_days=self.env.logs.retention_days,
            kms_key_arn=key.arn,
        )
        role = IamRole(
            self,
            "flow_logs_role",
            name=self.name("vpc-flow-logs"),
            assume_role_policy=assume_role_policy("vpc-flow-logs.amazonaws.com", self.account_id),
            permissions_boundary=self.permissions_boundary,
        )
        IamRolePolicy(
            self,
            "flow_logs_policy",
            name="write-flow-logs",
            role=role.id,
            policy=document(
                statement(
                    "WriteFlowLogs",
                    ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    [group.arn, f"{group.arn}:*"],
                ),
            ),
        )
        FlowLog(
            self,
            "flow_log",
            vpc_id=self.vpc.id,
            traffic_type=self.env.network.flow_logs_traffic,
            log_destination_type="cloud-watch-logs",
            log_destination=group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags={"Name": self.name("vpc-flow-log")},
        )

    def _group(self, group_id: str, name: str, description: str) -> SecurityGroup:
        """A security group of the VPC with no rules of its own: each rule is a resource (_rule)."""
        return SecurityGroup(
            self, group_id, name=self.name(name), description=description, vpc_id=self.vpc.id,
            tags={"Name": self.name(name)},
        )  # fmt: skip

    def _rule(self, rule_id: str, kind: type, group: str, port: int, description: str, **peer: str) -> None:
        """One TCP port between `group` and one peer: cidr_ipv4, referenced_security_group_id or prefix_list_id."""
        kind(
            self, rule_id, security_group_id=group, ip_protocol="tcp", from_port=port, to_port=port,
            description=description, **peer,
        )  # fmt: skip

    def _security_groups(self) -> None:
        self.task_security_group = self._group(
            "task_sg",
            "tasks",
            "Video workers: no inbound; HTTPS out to AWS APIs and the registry, PostgreSQL to the database",
        )
        self.database_security_group = self._group(
            "db_sg", "database", "Aurora metadata database: PostgreSQL from the video workers only"
        )
        tasks, db = self.task_security_group.id, self.database_security_group.id
        # (id, rule kind, group, peer, port, description): the database admits the tasks and no
        # one else; the tasks reach the database and HTTPS (AWS API endpoints and the image
        # registry have no fixed addresses), nothing more.
        rules = [
            (
                "db_from_tasks",
                VpcSecurityGroupIngressRule,
                db,
                tasks,
                POSTGRES_PORT,
                "PostgreSQL from the video workers",
            ),
            (
                "tasks_to_db",
                VpcSecurityGroupEgressRule,
                tasks,
                db,
                POSTGRES_PORT,
                "PostgreSQL to the metadata database",
            ),
        ]
        internet = self.env.network.internet_https
        if not self.env.network.interface_endpoints:
            rules.append(
                (
                    "tasks_https",
                    VpcSecurityGroupEgressRule,
                    tasks,
                    "0.0.0.0/0",
                    HTTPS_PORT,
                    "HTTPS to AWS APIs and the container registry",
                )
            )
        elif internet is not None:  # the endpoints carry AWS's APIs; the internet only what the config says
            rules.append(
                ("tasks_https", VpcSecurityGroupEgressRule, tasks, "0.0.0.0/0", HTTPS_PORT, f"HTTPS to {internet}")
            )
        for rule_id, kind, group, peer, port, description in rules:
            peer_arg = {"cidr_ipv4": peer} if peer == "0.0.0.0/0" else {"referenced_security_group_id": peer}
            self._rule(rule_id, kind, group, port, description, **peer_arg)

    def _endpoints(self, route_tables: list[RouteTable]) -> None:
        """S3 and DynamoDB gateway endpoints on every route table (free; KCL's lease traffic and ECR's image layers
        stay off NAT), and with network.interface_endpoints the interface endpoints of INTERFACE_SERVICES in the
        private subnets, admitting HTTPS from the tasks only; the tasks' HTTPS egress then narrows to them.

        Each endpoint's policy lets only this account's principals use it (an identity perimeter: stolen
        credentials of another account cannot carry data out through it). The gateways also keep requests to
        this account's buckets and tables (a resource perimeter), but for reads of the AWS-owned bucket ECR
        keeps image layers in (by URLs ECR signs); the interface services do not all give a resource account
        (PutMetricData, STS), so theirs stop at the identity perimeter."""
        region, account = self.region, self.account_id
        principal = {"StringEquals": {"aws:PrincipalAccount": account}}
        resource = {"StringEquals": {"aws:PrincipalAccount": account, "aws:ResourceAccount": account}}

        def policy(*statements: dict) -> str:
            return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, sort_keys=True)

        def allow(sid: str, condition: dict, action: str = "*", resources: str | list[str] = "*") -> dict:
            return {
                "Sid": sid,
                "Effect": "Allow",
                "Principal": "*",
                "Action": action,
                "Resource": resources,
                "Condition": condition,
            }

        ecr_layers = f"arn:{self.partition}:s3:::prod-{region}-starport-layer-bucket/*"
        gateway_policies = {
            "s3": policy(
                allow("ThisAccountsBuckets", resource),
                # ECR hands out layer URLs it signed itself, so no principal of this account makes the request:
                # what narrows it is the bucket, AWS's own, and the one action.
                {
                    "Sid": "EcrImageLayers",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": [ecr_layers],
                },  # fmt: skip
            ),
            "dynamodb": policy(allow("ThisAccountsTables", resource)),
        }

        def endpoint(service: str, kind: str, **where: object) -> VpcEndpoint:
            """The endpoint of `service` in this VPC, named after it."""
            return VpcEndpoint(
                self,
                f"endpoint_{service.replace('.', '_').replace('-', '_')}",
                vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}",
                vpc_endpoint_type=kind,
                tags={"Name": self.name(f"{service.replace('.', '-')}-endpoint")},
                **where,
            )

        self.endpoints: dict[str, VpcEndpoint] = {
            service: endpoint(
                service, "Gateway", route_table_ids=[rt.id for rt in route_tables], policy=gateway_policies[service]
            )
            for service in GATEWAY_SERVICES
        }
        if not self.env.network.interface_endpoints:
            return

        endpoint_sg = self._group("endpoints_sg", "endpoints", "Interface endpoints: HTTPS from the video workers only")
        tasks = self.task_security_group.id
        self._rule(
            "endpoints_from_tasks", VpcSecurityGroupIngressRule, endpoint_sg.id, HTTPS_PORT,
            "HTTPS from the video workers", referenced_security_group_id=tasks,
        )  # fmt: skip
        self._rule(
            "tasks_to_endpoints", VpcSecurityGroupEgressRule, tasks, HTTPS_PORT,
            "HTTPS to the interface endpoints of AWS APIs", referenced_security_group_id=endpoint_sg.id,
        )  # fmt: skip
        for service in GATEWAY_SERVICES:  # the gateways are reached by their prefix lists' addresses
            self._rule(
                f"tasks_to_{service}", VpcSecurityGroupEgressRule, tasks, HTTPS_PORT,
                f"HTTPS to {service} through its gateway endpoint",
                prefix_list_id=self.endpoints[service].prefix_list_id,
            )  # fmt: skip
        for service in INTERFACE_SERVICES:
            self.endpoints[service] = endpoint(
                service,
                "Interface",
                subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[endpoint_sg.id],
                private_dns_enabled=True,
                policy=policy(allow("ThisAccountsPrincipals", principal)),
            )
