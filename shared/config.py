"""Typed, validated per-environment configuration: YAML in, a frozen object out, or every problem at once.

Defaults live here, once. An environment file (`environments/<env>.yaml`) states only what
differs from them. Nothing past `load_environment` sees a raw dict.
"""

from __future__ import annotations

import copy
import difflib
import functools
import ipaddress
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.paths import ENVIRONMENTS_DIR


def environments_dir() -> Path:
    """Where environment files live; STREAMFLIX_ENVIRONMENTS_DIR points elsewhere (tests, forks)."""
    return Path(os.environ.get("STREAMFLIX_ENVIRONMENTS_DIR") or ENVIRONMENTS_DIR)


# Promotion order; also the environments a checkout is expected to have.
PROMOTION_ORDER = ("dev", "staging", "prod")

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

SUFFIX_PATTERN = r"^[a-z][a-z0-9-]{0,18}[a-z0-9]$|^[a-z]$"
_SUFFIX_RE = re.compile(SUFFIX_PATTERN)
SUFFIX_WORDS = "1-20 lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen"
PROJECT_PATTERN = r"^[a-z][a-z0-9-]{1,15}$"
REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,30}$")  # an environment's name: its file's stem

# What each pattern means, for messages in the user's terms rather than as a regular expression.
PATTERN_WORDS = {
    SUFFIX_PATTERN: SUFFIX_WORDS,
    PROJECT_PATTERN: "2-16 lowercase letters, digits and single hyphens, starting with a letter",
    REGION_PATTERN: "an AWS region name such as us-east-1",
    r"^\d{12}$": "a 12-digit AWS account id",
    r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/?$": "a base URL such as http://127.0.0.1:4566 (no path)",
    r"^\d+\.\d+\.\d+$": "a version such as 5.100.0",
    r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$": "an S3 bucket name: 3-63 lowercase letters, digits, '.' and '-'",
    r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$": "a key prefix such as streamflix or team/streamflix",
    r"^\d+\.\d+$": "a major.minor version such as 16.4",
    r"^[a-z][a-z0-9_]{0,62}$": "lowercase letters, digits and '_', starting with a letter",
    r"^[a-z][a-z0-9_]{0,15}$": "1-16 lowercase letters, digits and '_', starting with a letter",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an e-mail address",
    r"^https://[^\s/]+(/\S*)?$": "an https:// URL",
}

# An environment file is a few hundred bytes; these bounds keep a hostile one from costing minutes.
MAX_FILE_BYTES = 256 * 1024
# The first minor of each Aurora PostgreSQL major whose Serverless v2 instances may pause at 0 ACU.
AUTO_PAUSE_MINORS = {13: 15, 14: 12, 15: 7, 16: 3}
MAX_EXPANDED_VALUES = 10_000  # values after expanding YAML aliases (*name)


def suffix_problem(value: str) -> str | None:
    """Why `value` cannot be an environment suffix (it names RDS identifiers: no '--'), or None."""
    if not _SUFFIX_RE.match(value) or "--" in value:
        return f"must be {SUFFIX_WORDS}"
    return None


class ConfigError(Exception):
    """Bad configuration input. `problems` holds one line per problem, each naming file and key."""

    def __init__(self, problems: list[str], header: str = "invalid configuration"):
        self.problems = problems
        self.header = header
        super().__init__(self.render())

    def render(self) -> str:
        lines = [f"error: {self.header} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {_printable(p)}" for p in self.problems]
        return "\n".join(lines)


def _printable(text: str) -> str:
    """A message may quote a hostile file: escape what a terminal would act on (escape codes, newlines)."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class Inconsistent(ValueError):
    """Raised by a model validator for cross-field rules: each problem names the field it is about."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{k}: {m}" for k, m in problems))


def _raise_if(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise Inconsistent(problems)


class _Section(BaseModel):
    # strict: a quoted "2" is not a number; extra=forbid: a typo is an error, not a silent default.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AwsConfig(_Section):
    region: str = Field(
        description="AWS region every resource of the environment lives in (required: no default "
        "region is safe to assume).",
        pattern=REGION_PATTERN,
    )
    account_id: str | None = Field(
        None,
        description="AWS account the environment must be deployed to; the provider refuses any "
        "other (allowed_account_ids). Unset: no check.",
        pattern=r"^\d{12}$",
    )
    endpoint: str | None = Field(
        None,
        description="Base URL of an AWS emulator (moto_server, LocalStack), e.g. http://127.0.0.1:4566. "
        "Set, every AWS API the stacks, the state backend, the remote-state reads and the tools call goes "
        "there, with path-style S3 addressing and the emulator's test credentials (never your own). "
        "Unset (every real environment): AWS itself.",
        pattern=r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?/?$",
    )
    provider_version: str | None = Field(
        None,
        description="AWS provider version the stacks require. Only an emulator environment (aws.endpoint "
        "set) may pin one, to use the version the machine has offline; unset: the version the prebuilt "
        "bindings were generated for.",
        pattern=r"^\d+\.\d+\.\d+$",
    )


# The state bucket's server access logs go to <bucket><ACCESS_LOG_SUFFIX> (shared/naming.py).
ACCESS_LOG_SUFFIX = "-access-logs"


class StateConfig(_Section):
    bucket: str = Field(
        description="S3 bucket holding this environment's Terraform state (made by `make bootstrap`).",
        pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
    )
    key_prefix: str = Field(
        "streamflix",
        description="Prefix of every state key: <key_prefix>/<suffix>/<stack>.tfstate.",
        pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$",
    )
    region: str | None = Field(
        None,
        description="Region of the state bucket; defaults to aws.region.",
        pattern=REGION_PATTERN,
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
            _raise_if([("bucket", f"at most {63 - len(ACCESS_LOG_SUFFIX)} characters: its access logs go to "
                                  f"<bucket>{ACCESS_LOG_SUFFIX}, and a bucket name has at most 63")])  # fmt: skip
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
        _raise_if(problems)
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
        pattern=r"^\d+\.\d+$",
    )
    database_name: str = Field(
        "streamflix", description="Name of the metadata database.", pattern=r"^[a-z][a-z0-9_]{0,62}$"
    )
    master_username: str = Field("streamflix_admin", description="Master user name.", pattern=r"^[a-z][a-z0-9_]{0,15}$")
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
            problems.append(("seconds_until_auto_pause", f"only a cluster that may pause has it: set min_acu to 0 "
                             f"(it is {self.min_acu}) or remove this key"))  # fmt: skip
        if self.min_acu == 0:
            major, minor = (int(part) for part in self.engine_version.split("."))
            floor = AUTO_PAUSE_MINORS.get(major)
            if floor is None and major < min(AUTO_PAUSE_MINORS) or floor is not None and minor < floor:
                versions = ", ".join(f"{m}.{n}" for m, n in sorted(AUTO_PAUSE_MINORS.items()))
                problems.append(("min_acu", f"0 ACU (auto-pause) needs Aurora PostgreSQL {versions} or later; "
                                 f"engine_version is {self.engine_version}"))  # fmt: skip
        _raise_if(problems)
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
                ("desired_count", f"{self.desired_count} is outside min_count..max_count "
                 f"({self.min_count}..{self.max_count})")
            )  # fmt: skip
        _raise_if(problems)
        return self


class LogsConfig(_Section):
    retention_days: int = Field(7, description="Retention of task and flow logs (CloudWatch values).")

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of the CloudWatch values {list(LOG_RETENTION_DAYS)}, got {value}")
        return value


Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


HttpsUrl = Annotated[str, Field(pattern=r"^https://[^\s/]+(/\S*)?$")]


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
        pattern=SUFFIX_PATTERN,
    )
    project: str = Field("streamflix", description="Prefix of every resource name.", pattern=PROJECT_PATTERN)
    protected: bool = Field(
        False,
        description="Production-grade safety: deploy and destroy need confirmation, and the "
        "database and secret must be protected from deletion.",
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
    def _protection(self) -> EnvironmentConfig:
        def get(path: str) -> Any:
            node: Any = self
            for part in path.split("."):
                node = getattr(node, part)
            return node

        _raise_if(environment_rules(get))
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


# ---------------------------------------------------------------- rules across sections

_MISSING = object()


def environment_rules(get: Callable[[str], Any]) -> list[tuple[str, str]]:
    """Rules that span sections. `get(dotted path)` gives a value, or _MISSING; a rule whose values
    are missing or of the wrong type is skipped (that problem is reported where it lies)."""

    def value(path: str, kind: type) -> Any:
        v = get(path)
        ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
        return v if ok else _MISSING

    problems = []
    protected = value("protected", bool)
    copy_of = value("environment_suffix", str) not in (value("name", str), _MISSING)  # SUFFIX=: never protected
    if value("name", str) == "prod" and protected is False and not copy_of:
        problems.append(("protected", "prod must be protected: set protected: true"))
    if protected is True:
        for path in ("data.aurora.deletion_protection", "data.aurora.final_snapshot"):
            if value(path, bool) is False:
                problems.append((path, "must be true in a protected environment"))
        if value("data.secret_recovery_window_days", int) == 0:
            problems.append(("data.secret_recovery_window_days", "must be 7-30 in a protected environment"))
        emails, hooks = get("monitoring.alarm_emails"), get("monitoring.alarm_https_endpoints")
        if not any(isinstance(v, list | tuple) and v for v in (emails, hooks)):
            problems.append(("monitoring.alarm_emails", "a protected environment must alert someone: list an "
                             "address here or an endpoint in monitoring.alarm_https_endpoints"))  # fmt: skip
        instances, azs = value("data.aurora.instances", int), value("network.az_count", int)
        if instances is not _MISSING and instances < 2:
            problems.append(("data.aurora.instances", "a protected environment needs 2 or more"))
        elif _MISSING not in (instances, azs) and instances > azs:
            problems.append(("data.aurora.instances", f"{instances} instances cannot spread over {azs} AZs"))
    endpoint = get("aws.endpoint")
    if endpoint is None or endpoint is _MISSING:
        # Emulator-only settings: a real environment always uses the bindings' provider and TLS.
        if isinstance(get("aws.provider_version"), str):
            problems.append(("aws.provider_version", "only an emulator environment (aws.endpoint set) may pin it"))
        if get("state.tls_only") is False:
            problems.append(("state.tls_only", "may be false only for an emulator environment (aws.endpoint set)"))
    elif protected is True:
        problems.append(("aws.endpoint", "a protected environment cannot live in an emulator"))
    # Each shard is leased to one worker at a time: tasks beyond the shard count only idle.
    shards, max_count = value("data.kinesis.shard_count", int), value("compute.max_count", int)
    provisioned = value("data.kinesis.mode", str) in ("provisioned", _MISSING)
    if provisioned and _MISSING not in (shards, max_count) and max_count > shards:
        problems.append(("compute.max_count", f"{max_count} tasks for {shards} shard(s): each shard is read by one "
                         "worker at a time, so the others would idle; at most data.kinesis.shard_count"))  # fmt: skip
    region, zones = value("aws.region", str), get("network.availability_zones")
    if region is not _MISSING and isinstance(zones, list | tuple):
        stray = [z for z in zones if not (isinstance(z, str) and z.startswith(region))]
        if stray:
            problems.append(("network.availability_zones", f"{stray} are not in region {region}"))
    return problems


def _raw_get(data: dict[str, Any], path: str) -> Any:
    """A value from the raw YAML, or the code default where the file leaves it out."""
    parts = path.split(".")
    node: Any = data
    for part in parts:
        if not isinstance(node, dict):
            return _MISSING
        if part not in node:
            field = EnvironmentConfig.model_fields.get(parts[0])
            if field is None or field.is_required():
                return _MISSING
            default = field.get_default(call_default_factory=True)
            for rest in parts[1:]:
                default = getattr(default, rest, _MISSING)
            return default
        node = node[part]
    return node


# ---------------------------------------------------------------- loading


def available_environments(directory: Path | None = None) -> list[str]:
    """Environment names, in promotion order first, then any others alphabetically."""
    directory = directory or environments_dir()
    names = {p.stem for p in directory.glob("*.yaml")}
    return [n for n in PROMOTION_ORDER if n in names] + sorted(names - set(PROMOTION_ORDER))


@dataclass(frozen=True)
class _Located:
    """Line numbers (1-based) of every key path in a YAML document."""

    lines: dict[tuple[str, ...], int]

    def line_of(self, path: tuple[str, ...]) -> int | None:
        # An error about a missing or nested key points at the closest ancestor that exists.
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


def _index_lines(
    node: yaml.Node, path: tuple[str, ...] = (), duplicates: list[tuple[tuple[str, ...], int]] | None = None
) -> dict[tuple[str, ...], int]:
    """Map every key path to its line; record keys given twice (YAML keeps the last one silently)."""
    lines: dict[tuple[str, ...], int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, str(key_node.value))
            if key in lines and duplicates is not None:
                duplicates.append((key, key_node.start_mark.line + 1))
            lines[key] = key_node.start_mark.line + 1
            lines.update(_index_lines(value_node, key, duplicates))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = (*path, str(i))
            lines[key] = item.start_mark.line + 1
            lines.update(_index_lines(item, key, duplicates))
    return lines


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values the node stands for once aliases are expanded; each node is visited once."""
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a node that contains itself counts once (the safe loader rejects it anyway)
    if isinstance(node, yaml.MappingNode):
        size = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size = 1 + sum(_expanded_size(item, memo) for item in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


_STR_TAG = "tag:yaml.org,2002:str"


def _non_string_keys(node: yaml.Node | None, data: Any, path: tuple[str, ...] = ()) -> list[tuple[str, int, str]]:
    """Keys YAML read as something other than a string (`on:` is the boolean true in YAML 1.1), as
    (dotted path as written, line, what it was read as); they are dropped from `data` (reported here,
    in words; the validator would only say that keys should be strings)."""
    found = []
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            text = str(key_node.value)
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _STR_TAG:
                kind = key_node.tag.rsplit(":", 1)[-1]
                found.append((".".join((*path, text)), key_node.start_mark.line + 1, kind))
            elif text in data:
                found += _non_string_keys(value_node, data[text], (*path, text))
        for key in [k for k in data if not isinstance(k, str)]:
            del data[key]
    return found


def _key_words(kind: str) -> str:
    if kind == "bool":
        return ("read as a boolean, not as a name: YAML reads on/off/yes/no/true/false as booleans; "
                "quote the key if you meant it")  # fmt: skip
    return f"read as a {kind}, not as a name: keys are names (quote it if you meant it)"


def _read_yaml(path: Path, shown: str) -> tuple[dict[str, Any], _Located, list[str]]:
    """The file's mapping, its key lines, and the problems found while reading (more follow from validation)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{shown}: cannot be read: {exc.strerror}"]) from None
    if len(raw) > MAX_FILE_BYTES:
        raise ConfigError([f"{shown}: {len(raw):,} bytes; an environment file holds a few hundred, "
                           f"and more than {MAX_FILE_BYTES:,} is refused"])  # fmt: skip
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            [f"{shown}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"]
        ) from None
    data, located, problems = _parse_yaml(text, shown)
    return copy.deepcopy(data), located, list(problems)  # the caller's to change; the parse stays as it was


@functools.lru_cache(maxsize=64)
def _parse_yaml(text: str, shown: str) -> tuple[dict[str, Any], _Located, tuple[str, ...]]:
    """Parsing is pure, and the slow part of loading (every load also reads the other environments'
    files for their suffixes): the same text is parsed once per process."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        if node is not None and _expanded_size(node, {}) > MAX_EXPANDED_VALUES:
            raise ConfigError([f"{shown}: its aliases (*name) expand to more than {MAX_EXPANDED_VALUES:,} values; "
                               "an environment file needs no aliases: write the values out"])  # fmt: skip
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{shown}:{mark.line + 1}:{mark.column + 1}" if mark else shown
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: YAML syntax error: {problem}"]) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError([f"{shown}:1: the file must be a mapping of keys, got {type(data).__name__}"])
    duplicates: list[tuple[tuple[str, ...], int]] = []
    located = _Located(_index_lines(node, (), duplicates) if node is not None else {})
    problems = [f"{shown}:{line}: {'.'.join(key)}: given twice (the first would be silently ignored)"
                for key, line in duplicates]  # fmt: skip
    for dotted, line, kind in _non_string_keys(node, data):
        problems.append(f"{shown}:{line}: {dotted}: {_key_words(kind)}")
    return data, located, tuple(problems)


def _describe(error: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """One pydantic error -> (key path, message) pairs; Inconsistent errors name their own fields."""
    loc = tuple(str(p) for p in error["loc"])
    exc = (error.get("ctx") or {}).get("error")
    if isinstance(exc, Inconsistent):
        return [((*loc, *key.split(".")), msg) for key, msg in exc.problems]
    kind = error["type"]
    if kind == "extra_forbidden":
        return [(loc, "unknown key (check the spelling; see `make config` for the known keys)")]
    if kind == "missing":
        return [(loc, "required key is missing")]
    given = error.get("input")
    if isinstance(given, float) and not math.isfinite(given):
        return [(loc, f"must be a number, not {'.nan' if math.isnan(given) else '.inf'}")]
    if kind == "string_pattern_mismatch":
        pattern = (error.get("ctx") or {}).get("pattern", "")
        return [(loc, f"must be {PATTERN_WORDS.get(pattern, 'of the documented form')} (got {given!r})")]
    msg = error["msg"].removeprefix("Value error, ")
    if "input" in error and kind not in ("model_type",) and not isinstance(error["input"], dict):
        msg += f" (got {error['input']!r})"
    return [(loc, msg)]


def _as_copy(data: dict[str, Any]) -> dict[str, Any]:
    """A suffix copy (SUFFIX=pr-1 of any environment) has the same sizing but is never protected: one
    `make destroy` removes it, its secret's name is free again at once, and it pays for one NAT gateway
    at most."""
    data = copy.deepcopy(data)
    data["protected"] = False
    sections = {k: data.get(k) if isinstance(data.get(k), dict) else {} for k in ("data", "network")}
    aurora = sections["data"].get("aurora") if isinstance(sections["data"].get("aurora"), dict) else {}
    aurora.update(deletion_protection=False, final_snapshot=False)
    sections["data"].update(aurora=aurora, secret_recovery_window_days=0)
    nat = sections["network"].get("nat_gateways")
    if isinstance(nat, int) and not isinstance(nat, bool) and nat > 1:
        sections["network"]["nat_gateways"] = 1
    data.update(sections)
    return data


def _validation_problems(exc: ValidationError, data: dict[str, Any]) -> list[tuple[tuple[str, ...], str]]:
    """Every problem pydantic finds, also those an unknown key hides: a section with a field error
    skips its cross-field rules, so validate again without the unknown keys until nothing new appears."""
    found: list[tuple[tuple[str, ...], str]] = []
    pruned = copy.deepcopy(data)
    for _ in range(5):  # unknown keys can only be nested so deep
        errors = exc.errors(include_url=False)
        found += [pair for err in errors for pair in _describe(err) if pair not in found]
        unknown = [err["loc"] for err in errors if err["type"] == "extra_forbidden"]
        if not unknown:
            break
        for loc in unknown:
            parent = pruned
            for part in loc[:-1]:
                parent = parent.get(part) if isinstance(parent, dict) else None
            if isinstance(parent, dict):
                parent.pop(loc[-1], None)
        try:
            EnvironmentConfig.model_validate(pruned)
            break
        except ValidationError as again:
            exc = again
    return found


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _claimed_suffixes(directory: Path, besides: str) -> dict[str, str]:
    """Suffix (and name) -> the file of every other environment that claims it."""
    claimed: dict[str, str] = {}
    for other in available_environments(directory):
        if other == besides:
            continue
        path = directory / f"{other}.yaml"
        claimed.setdefault(other, _shown(path))
        try:
            data, _, _ = _read_yaml(path, _shown(path))
        except ConfigError:
            continue  # that file's own problems are reported when it is loaded
        suffix = data.get("environment_suffix", other)
        if isinstance(suffix, str):
            claimed.setdefault(suffix, _shown(path))
    return claimed


def _did_you_mean(name: str, names: list[str]) -> str:
    """`; did you mean local?` for a name that differs from one of `names` in case or by a typo, else ""."""
    close = [n for n in names if n == name.lower()] or difflib.get_close_matches(name.lower(), names, n=1, cutoff=0.7)
    return f"; did you mean {close[0]}?" if close else ""


def load_environment(
    name: str,
    *,
    suffix: str | None = None,
    directory: Path | None = None,
) -> EnvironmentConfig:
    """Load and validate `environments/<name>.yaml`. Raises ConfigError listing every problem."""
    directory = directory or environments_dir()
    names = available_environments(directory)
    known = ", ".join(names) or "none"
    path = directory / f"{name}.yaml"
    shown = _shown(path)
    if not NAME_PATTERN.match(name):
        if "/" not in name and path.is_file():
            raise ConfigError([f"{shown}: an environment is named by its file, and {name!r} is not a name: "
                               "use lowercase letters, digits and '-' (rename the file)"])  # fmt: skip
        if re.fullmatch(r"[A-Za-z0-9_-]+", name):  # a plain word, only not one of ours (ENV=Local)
            raise ConfigError([f"no environment {name}{_did_you_mean(name, names)} (environments: {known})"],
                              header="unknown environment")  # fmt: skip
        raise ConfigError([f"ENV={name!r}: an environment is a name from {_shown(directory)}/ ({known}), "
                           "not a path or a pattern"])  # fmt: skip
    if not path.is_file():
        yml = path.with_suffix(".yml")
        hint = f"; {_shown(yml)} exists: rename it to {name}.yaml" if yml.is_file() else ""
        raise ConfigError([f"unknown environment {name!r}: no {shown}{hint}; environments: {known}"
                           f"{_did_you_mean(name, names)}"], header="unknown environment")  # fmt: skip
    data, located, problems = _read_yaml(path, shown)
    if "name" in data:
        problems.append(f"{shown}:{located.line_of(('name',))}: name: is set by the file name; remove it")
        data.pop("name")
    data = {**data, "name": name}
    claimed = _claimed_suffixes(directory, name)
    if suffix is not None:
        why = suffix_problem(suffix)
        if why is None and suffix in claimed and suffix != name:
            why = f"is the name or suffix of the environment in {claimed[suffix]}; a copy needs a suffix of its own"
        if why:
            problems.append(f"SUFFIX={suffix!r}: {why}")
        data["environment_suffix"] = name if why else suffix  # the file's other problems are still found
        if not why and suffix != name:
            data = _as_copy(data)
    else:
        own = data.setdefault("environment_suffix", name)
        if isinstance(own, str) and own in claimed:
            first, second = sorted((shown, claimed[own]))  # the same words from either side: said once
            problems.append(f"{first} and {second} both use the suffix {own!r} (environment_suffix, or the "
                            "file's name); every environment needs its own")  # fmt: skip
    try:
        config = EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        found = _validation_problems(exc, data)
        # Rules across sections only run on a fully valid model; run them on the raw values too,
        # so that one typo does not hide, say, an unprotected prod database.
        reported = {key for key, _ in found}
        found += [
            (tuple(key.split(".")), message)
            for key, message in environment_rules(lambda path: _raw_get(data, path))
            if tuple(key.split(".")) not in reported
        ]
        for key_path, message in found:
            line = located.line_of(key_path)
            where = f"{shown}:{line}" if line else shown
            problems.append(f"{where}: {'.'.join(key_path) or '(top level)'}: {message}")
        raise ConfigError(problems, header=f"invalid configuration in {shown}") from None
    if problems:
        raise ConfigError(problems, header=f"invalid configuration in {shown}")
    return config


def load_environments(
    names: list[str] | None = None, *, suffix: str | None = None, directory: Path | None = None
) -> list[EnvironmentConfig]:
    """Load several environments (all when names is empty), collecting the problems of all of them."""
    names = names or available_environments(directory)
    if suffix is not None and len(names) != 1:
        raise ConfigError(["SUFFIX= makes a copy of one environment: name it with ENV="])
    configs, problems = [], []
    for name in names:
        try:
            configs.append(load_environment(name, suffix=suffix, directory=directory))
        except ConfigError as exc:
            problems += [p for p in exc.problems if p not in problems]  # a clash is found from both sides
    if problems:
        raise ConfigError(problems)
    return configs
