"""Where an environment lives (account, region, an emulator) and where it keeps its state."""

from __future__ import annotations

from pydantic import Field, model_validator

from shared.config import patterns
from shared.config.problems import raise_if
from shared.config.section import Section


def partition_of(region: str) -> str:
    """The ARN partition of a region, known at synthesis (no data source round trip needed)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class AwsConfig(Section):
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


class StateConfig(Section):
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
