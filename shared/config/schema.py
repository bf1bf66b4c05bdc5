"""The schema of an environment file: the environment that holds one typed, frozen section per concern (each in
a module of its own: location, network, data, compute, observability). Every field has a description
(docs/environments.md is generated from them) and its default, written once; an environment file states only
what differs. Rules within a section are its own validators; rules across sections are shared/config/rules.py.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from shared.config import patterns, rules
from shared.config.ci import CiConfig
from shared.config.compute import ComputeConfig
from shared.config.data import DataConfig
from shared.config.location import AwsConfig, StateConfig
from shared.config.network import NetworkConfig
from shared.config.observability import LogsConfig, MonitoringConfig
from shared.config.problems import raise_if
from shared.config.section import Section
from shared.config.usage import UsageConfig


class EnvironmentConfig(Section):
    name: str = Field(description="Environment name: the file's stem. Set by the loader, not the file.")
    environment_suffix: str = Field(
        description="Suffix of every resource name and stack id; defaults to the environment name.",
        pattern=patterns.SUFFIX.regex,
    )
    project: str = Field("streamflix", description="Prefix of every resource name.", pattern=patterns.PROJECT.regex)
    protected: bool = Field(
        False,
        description="Production-grade safety: deploy and destroy need confirmation, and the "
        "database and secret must be protected from deletion.",
    )
    throwaway: bool = Field(
        False,
        description="Set by the loader, never by a file: true only for a copy made with SUFFIX= on the command "
        "line. A throwaway is never protected and its deploys are not guarded; every environment that has a "
        "file is guarded, whatever its suffix.",
    )
    aws: AwsConfig = Field(description="Where the environment lives.")
    state: StateConfig = Field(description="Remote state backend.")
    network: NetworkConfig = Field(default_factory=NetworkConfig, description="VPC and subnets.")
    data: DataConfig = Field(default_factory=DataConfig, description="Stream, queue, database, secret.")
    compute: ComputeConfig = Field(default_factory=ComputeConfig, description="ECS Fargate workers.")
    logs: LogsConfig = Field(default_factory=LogsConfig, description="CloudWatch Logs.")
    monitoring: MonitoringConfig = Field(default_factory=MonitoringConfig, description="Alarms.")
    ci: CiConfig = Field(default_factory=CiConfig, description="The roles CI assumes (make bootstrap creates them).")
    usage: UsageConfig = Field(
        default_factory=UsageConfig,
        description="What the cost estimate assumes about traffic (make cost); changes nothing deployed.",
    )

    @field_validator("environment_suffix", "project")
    @classmethod
    def _no_double_hyphen(cls, value: str) -> str:
        if "--" in value or value.endswith("-"):  # RDS identifiers refuse both
            raise ValueError("may not hold '--' or end with '-' (AWS database identifiers refuse both)")
        return value

    @model_validator(mode="after")
    def _rules_across_sections(self) -> EnvironmentConfig:
        def get(path: str) -> Any:
            node: Any = self
            for part in path.split("."):
                node = getattr(node, part)
            return node

        raise_if(rules.problems(get))
        return self

    @property
    def zones(self) -> list[str]:
        """The AZ names the subnets go to, in order."""
        explicit = self.network.availability_zones
        return list(explicit) or [f"{self.aws.region}{letter}" for letter in "abcdef"[: self.network.az_count]]

    @property
    def suffix(self) -> str:
        return self.environment_suffix

    @property
    def emulated(self) -> bool:
        """True when the environment lives in an AWS emulator (aws.endpoint), not in AWS."""
        return self.aws.endpoint is not None

    @property
    def state_region(self) -> str:
        return self.state.region or self.aws.region
