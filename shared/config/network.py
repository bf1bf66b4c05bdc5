"""The network section: the VPC, its subnets over the zones, NAT gateways, flow logs."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import Field, field_validator, model_validator

from shared.config import patterns
from shared.config.problems import raise_if
from shared.config.section import Section


class NetworkConfig(Section):
    cidr: str = Field("10.0.0.0/16", description="IPv4 CIDR of the VPC; subnets are carved from it.")
    az_count: int = Field(2, ge=2, le=6, description="Availability zones to spread subnets over (at least 2).")
    nat_gateways: int = Field(
        0,
        ge=0,
        le=6,
        description="NAT gateways: 0 puts tasks in public subnets with public IPs (a cost "
        "choice for dev), 1 shares one, az_count gives one per AZ (prod).",
    )
    subnet_prefix_length: int = Field(20, ge=16, le=28, description="Prefix length of each public and private subnet.")
    availability_zones: tuple[str, ...] = Field(
        (),
        strict=False,
        description="AZ names to use, az_count of them; empty takes <region>a, <region>b, ... "
        "Pinned so that a new AZ in the region never reshuffles the subnets.",
    )
    flow_logs_traffic: Literal["ALL", "REJECT", "ACCEPT"] = Field(
        "REJECT",
        description="Which VPC traffic the flow logs record. REJECT (the default, dev) keeps what explains a "
        "blocked connection at a fraction of the volume; ALL where traffic is audited (staging, prod).",
    )
    interface_endpoints: bool = Field(
        False,
        description="Interface endpoints for Kinesis, SQS, CloudWatch Logs and metrics, STS and "
        "ECR in the private subnets, so the workers' AWS traffic stays in the VPC instead of going through NAT; the "
        "tasks' HTTPS egress then narrows to them, the S3 and DynamoDB gateway endpoints (always there) and "
        "internet_https. Each costs about $7.30 a month per AZ plus $0.01/GB (docs/stacks.md).",
    )
    internet_https: str | None = Field(
        "the worker image on public.ecr.aws (ECR Public has no VPC endpoint)",
        pattern=patterns.RULE_DESCRIPTION.regex,
        description="Why the tasks still need HTTPS to the internet once interface_endpoints narrows their egress, "
        "written into that rule; null closes the path (an image in this account's ECR, nothing outside AWS). "
        "Without interface endpoints the tasks reach AWS over the internet anyway.",
    )

    @field_validator("cidr")
    @classmethod
    def _cidr_is_network(cls, value: str) -> str:
        try:
            net = ipaddress.IPv4Network(value, strict=True)
        except ValueError as exc:
            raise ValueError(f"{value!r} is not an IPv4 network in CIDR form ({exc})") from None
        if not 16 <= net.prefixlen <= 24:
            raise ValueError(f"prefix length must be between /16 and /24 for a VPC, got /{net.prefixlen}")
        return value

    @model_validator(mode="after")
    def _subnets_fit(self) -> NetworkConfig:
        problems = []
        net = ipaddress.IPv4Network(self.cidr)
        if self.subnet_prefix_length <= net.prefixlen:
            problems.append(
                ("subnet_prefix_length", f"/{self.subnet_prefix_length} is not smaller than the VPC {self.cidr}")
            )
        else:
            available = 2 ** (self.subnet_prefix_length - net.prefixlen)
            needed = 2 * self.az_count
            if needed > available:
                problems.append(
                    (
                        "subnet_prefix_length",
                        f"{needed} subnets of /{self.subnet_prefix_length} (public and private in "
                        f"{self.az_count} AZs) do not fit in {self.cidr}, which holds {available}",
                    )
                )
        if self.availability_zones and len(self.availability_zones) != self.az_count:
            problems.append(
                ("availability_zones", f"lists {len(self.availability_zones)} zones but az_count is {self.az_count}")
            )
        if len(set(self.availability_zones)) != len(self.availability_zones):
            problems.append(("availability_zones", "lists a zone twice"))
        if self.nat_gateways not in (0, 1, self.az_count):
            problems.append(("nat_gateways", f"must be 0, 1 or az_count ({self.az_count}), got {self.nat_gateways}"))
        raise_if(problems)
        return self

    def subnet_cidrs(self) -> tuple[list[str], list[str]]:
        """Public and private subnet CIDRs, one of each per AZ, in a stable order."""
        blocks = list(ipaddress.IPv4Network(self.cidr).subnets(new_prefix=self.subnet_prefix_length))
        public = [str(b) for b in blocks[: self.az_count]]
        private = [str(b) for b in blocks[self.az_count : 2 * self.az_count]]
        return public, private
