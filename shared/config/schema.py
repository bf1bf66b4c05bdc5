"""The schema of an environment file: one typed, frozen section per concern, and the environment that
holds them. Every field has a description (docs/environments.md is generated from them) and its default,
written once here; an environment file states only what differs. Rules within a section are its own
validators; rules across sections are shared/config/rules.py.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.config import patterns, rules
from shared.config.problems import raise_if

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

# Fargate task sizes: cpu units -> the memory sizes (MiB) AWS accepts with them.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}

# The first minor of each Aurora PostgreSQL major whose Serverless v2 instances may pause at 0 ACU.
AUTO_PAUSE_MINORS = {13: 15, 14: 12, 15: 7, 16: 3}


class _Section(BaseModel):
    # strict: a quoted "2" is not a number; extra=forbid: a typo is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AwsConfig(_Section):
    region: str = Field(
        description="AWS region every resource of the environment lives in (required: no default "
        "region is safe to assume).",
        pattern=patterns.REGION.regex,
    )
    account_id: str | None = Field(
        None,
        description="AWS account the environment must be deployed to; the provider refuses any "
        "other (allowed_account_ids). Unset: no check.",
        pattern=patterns.ACCOUNT_ID.regex,
    )
    endpoint: str | None = Field(
        None,
        description="Base URL of an AWS emulator (moto_server, LocalStack), e.g. http://127.0.0.1:4566. "
        "Set, every AWS API the stacks, the state backend, the remote-state reads and the tools call goes "
        "there, with path-style S3 addressing and the emulator's test credentials (never your own). "
        "Unset (every real environment): AWS itself.",
        pattern=patterns.ENDPOINT.regex,
    )
    provider_version: str | None = Field(
        None,
        description="AWS provider version the stacks require. Only an emulator environment (aws.endpoint "
        "set) may pin one, to use the version the machine has offline; unset: the version the prebuilt "
        "bindings were generated for.",
        pattern=patterns.PROVIDER_VERSION.regex,
    )


# The state bucket's server access logs go to <bucket><ACCESS_LOG_SUFFIX> (shared/naming.py).
ACCESS_LOG_SUFFIX = "-access-logs"


class StateConfig(_Section):
    bucket: str = Field(
        description="S3 bucket holding this environment's Terraform state (made by `make bootstrap`).",
        pattern=patterns.BUCKET.regex,
    )
    key_prefix: str = Field(
        "streamflix",
        description="Prefix of every state key: <key_prefix>/<suffix>/<stack>.tfstate.",
        pattern=patterns.KEY_PREFIX.regex,
    )
    region: str | None = Field(
        None,
        description="Region of the state bucket; defaults to aws.region.",
        pattern=patterns.REGION.regex,
    )
    tls_only: bool = Field(
        True,
        description="The state bucket's policy denies every request made without TLS. false only for an "
        "emulator that speaks plain HTTP (aws.endpoint http://...), which would otherwise refuse the "
        "engine's own state writes.",
    )
    noncurrent_version_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Days an overwritten state version is kept before it expires (every old version still "
        "holds what that state held; current versions never expire).",
    )

    @model_validator(mode="after")
    def _log_bucket_fits(self) -> StateConfig:
        if len(self.bucket) + len(ACCESS_LOG_SUFFIX) > 63:
            raise_if(
                [
                    (
                        "bucket",
                        f"at most {63 - len(ACCESS_LOG_SUFFIX)} characters: its access logs go to "
                        f"<bucket>{ACCESS_LOG_SUFFIX}, and a bucket name has at most 63",
                    )
                ]
            )
        return self


class NetworkConfig(_Section):
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


class KinesisConfig(_Section):
    mode: Literal["provisioned", "on_demand"] = Field("provisioned", description="Capacity mode of the ingest stream.")
    shard_count: int = Field(1, ge=1, le=500, description="Shards when mode is provisioned.")
    retention_hours: int = Field(24, ge=24, le=8760, description="How long records stay on the stream.")
    consumer: Literal["polling", "enhanced_fan_out"] = Field(
        "polling",
        description="How the workers read: polling (GetRecords, sharing 2 MB/s per shard with every other reader) "
        "or enhanced_fan_out (a registered stream consumer with its own 2 MB/s per shard, pushed over HTTP/2; "
        "billed per consumer-shard hour).",
    )


class AuroraConfig(_Section):
    engine_version: str = Field(
        "16.4",
        description="Lowest Aurora PostgreSQL version (major.minor) to run. AWS may raise the minor version "
        "(auto minor upgrades); a deploy never plans a downgrade. Raising it upgrades; a new major "
        "replaces the parameter group and upgrades the cluster in place.",
        pattern=patterns.ENGINE_VERSION.regex,
    )
    database_name: str = Field(
        "streamflix", description="Name of the metadata database.", pattern=patterns.DATABASE_NAME.regex
    )
    master_username: str = Field(
        "streamflix_admin", description="Master user name.", pattern=patterns.DATABASE_USER.regex
    )
    min_acu: float = Field(
        0.5,
        ge=0,
        le=256,
        description="Serverless v2 minimum capacity (ACU). 0 lets the cluster pause when idle (no compute "
        "cost; the first connection after a pause waits about 15 s); needs engine 13.15, 14.12, 15.7, 16.3 or later.",
    )
    max_acu: float = Field(1.0, ge=1, le=256, description="Serverless v2 maximum capacity (ACU).")
    seconds_until_auto_pause: int | None = Field(
        None,
        ge=300,
        le=86_400,
        description="Idle seconds before a cluster with min_acu 0 pauses (300-86400); unset takes AWS's 300. "
        "Only with min_acu 0.",
    )
    instances: int = Field(
        1, ge=1, le=15, description="Cluster instances of class db.serverless (2+ spreads over AZs)."
    )
    password_version: int = Field(
        1,
        ge=1,
        description="Version of the master password. Raising it writes a new password to the secret and the "
        "cluster in one deploy, and rolls the workers so that they read it (the password itself is never in "
        "state or a plan file: it is written through write-only arguments).",
    )
    password_generator: Literal["random", "secrets_manager"] = Field(
        "random",
        description="What makes the master password, as an ephemeral value: the random provider's "
        "random_password, or the AWS provider's aws_secretsmanager_random_password (GetRandomPassword), so "
        "that an offline mirror with only the AWS provider can deploy (the emulator environment).",
    )
    backup_retention_days: int = Field(1, ge=1, le=35, description="Automated backup retention.")
    deletion_protection: bool = Field(False, description="Refuse to delete the cluster.")
    final_snapshot: bool = Field(False, description="Take a final snapshot when the cluster is deleted.")
    performance_insights: bool = Field(
        False,
        description="Performance Insights on the instances (encrypted with the pipeline key). Off by default: "
        "dev does not read it.",
    )
    enhanced_monitoring: bool = Field(
        False,
        description="OS metrics every 60 s through a role that uses the AWS-managed "
        "AmazonRDSEnhancedMonitoringRole policy. Off by default: dev does not read them.",
    )

    @model_validator(mode="after")
    def _acu_range(self) -> AuroraConfig:
        problems = []
        if self.min_acu > self.max_acu:
            problems.append(("min_acu", f"{self.min_acu} is above max_acu ({self.max_acu})"))
        for key in ("min_acu", "max_acu"):
            if (getattr(self, key) * 2) % 1:
                problems.append((key, f"must be a multiple of 0.5, got {getattr(self, key)}"))
        if self.seconds_until_auto_pause is not None and self.min_acu != 0:
            problems.append(
                (
                    "seconds_until_auto_pause",
                    f"only a cluster that may pause has it: set min_acu to 0 (it is {self.min_acu}) or remove this key",
                )
            )
        if self.min_acu == 0:
            major, minor = (int(part) for part in self.engine_version.split("."))
            floor = AUTO_PAUSE_MINORS.get(major)
            if floor is None and major < min(AUTO_PAUSE_MINORS) or floor is not None and minor < floor:
                versions = ", ".join(f"{m}.{n}" for m, n in sorted(AUTO_PAUSE_MINORS.items()))
                problems.append(
                    (
                        "min_acu",
                        f"0 ACU (auto-pause) needs Aurora PostgreSQL {versions} or later; "
                        f"engine_version is {self.engine_version}",
                    )
                )
        raise_if(problems)
        return self


class DlqConfig(_Section):
    retention_days: int = Field(14, ge=1, le=14, description="How long failed jobs are kept.")


class DataConfig(_Section):
    kinesis: KinesisConfig = Field(default_factory=KinesisConfig, description="The ingest stream.")
    aurora: AuroraConfig = Field(default_factory=AuroraConfig, description="The metadata database.")
    dlq: DlqConfig = Field(default_factory=DlqConfig, description="The dead-letter queue.")
    secret_recovery_window_days: int = Field(
        0,
        description="Days a deleted secret can be restored: 0 deletes at once (dev, staging), 7-30 protects it (prod).",
    )

    @field_validator("secret_recovery_window_days")
    @classmethod
    def _window(cls, value: int) -> int:
        if value != 0 and not 7 <= value <= 30:
            raise ValueError(f"must be 0 or between 7 and 30, got {value}")
        return value


class ComputeConfig(_Section):
    image: str = Field(
        "public.ecr.aws/streamflix/video-worker:1.0.0",
        description="Container image of the video worker.",
        min_length=3,
    )
    cpu: int = Field(256, description="Fargate task CPU units (256, 512, 1024, ...).")
    memory: int = Field(512, description="Fargate task memory (MiB); must suit cpu.")
    architecture: Literal["X86_64", "ARM64"] = Field("X86_64", description="CPU architecture of the task.")
    desired_count: int = Field(1, ge=0, le=1000, description="Tasks running after a deploy.")
    min_count: int = Field(1, ge=0, le=1000, description="Auto scaling lower bound.")
    max_count: int = Field(1, ge=1, le=1000, description="Auto scaling upper bound (at most the shard count).")
    cpu_target_percent: int = Field(60, ge=10, le=90, description="Average task CPU that auto scaling aims for.")
    lag_target_ms: int = Field(
        10_000,
        ge=1_000,
        le=86_400_000,
        description="Consumer lag that auto scaling aims for (ms): the iterator age when polling, "
        "MillisBehindLatest with enhanced fan-out. Lag is the first scaling signal, CPU the second.",
    )
    ephemeral_storage_gib: int = Field(
        21,
        ge=21,
        le=200,
        description="Fargate ephemeral storage (GiB) behind the worker's scratch volume at /tmp and its work "
        "directory; the root filesystem stays read-only.",
    )
    autoscaling: bool = Field(
        True,
        description="Scale the service between min_count and max_count. false runs exactly desired_count "
        "tasks: no scaling target or policy, and a deploy resets the count to desired_count.",
    )

    @model_validator(mode="after")
    def _sizes(self) -> ComputeConfig:
        problems = []
        if self.cpu not in FARGATE_SIZES:
            problems.append(("cpu", f"must be one of {sorted(FARGATE_SIZES)}, got {self.cpu}"))
        elif self.memory not in FARGATE_SIZES[self.cpu]:
            allowed = FARGATE_SIZES[self.cpu]
            problems.append(
                ("memory", f"{self.memory} MiB does not fit cpu {self.cpu}; allowed {allowed[0]}..{allowed[-1]}")
            )
        if self.min_count > self.max_count:
            problems.append(("min_count", f"{self.min_count} is above max_count ({self.max_count})"))
        elif not self.min_count <= self.desired_count <= self.max_count:
            problems.append(
                (
                    "desired_count",
                    f"{self.desired_count} is outside min_count..max_count ({self.min_count}..{self.max_count})",
                )
            )
        raise_if(problems)
        return self


class LogsConfig(_Section):
    retention_days: int = Field(7, description="Retention of task and flow logs (CloudWatch values).")

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of the CloudWatch values {list(LOG_RETENTION_DAYS)}, got {value}")
        return value


Email = Annotated[str, Field(pattern=patterns.EMAIL.regex)]


HttpsUrl = Annotated[str, Field(pattern=patterns.HTTPS_URL.regex)]


class MonitoringConfig(_Section):
    alarm_emails: tuple[Email, ...] = Field((), description="Addresses subscribed to the alarm topic.", strict=False)
    alarm_https_endpoints: tuple[HttpsUrl, ...] = Field(
        (),
        description="HTTPS endpoints (a pager, a chat webhook) subscribed to the alarm topic.",
        strict=False,
    )
    iterator_age_ms: int = Field(
        60_000, ge=1000, description="Consumer lag (Kinesis iterator age) that raises an alarm."
    )
    ecs_cpu_percent: int = Field(80, ge=1, le=100, description="Service CPU that raises an alarm.")
    ecs_memory_percent: int = Field(80, ge=1, le=100, description="Service memory that raises an alarm.")
    aurora_capacity_percent: int = Field(
        90, ge=10, le=100, description="Aurora capacity, as a share of max_acu, that raises an alarm."
    )
    aurora_cpu_percent: int = Field(80, ge=1, le=100, description="Aurora CPU that raises an alarm.")


class EnvironmentConfig(_Section):
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
