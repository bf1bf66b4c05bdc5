"""The base of every pipeline stack: its AWS provider, its own S3 state backend, its outputs."""

from __future__ import annotations

from typing import Any, ClassVar

from constructs import Construct

from shared.cdk.aws.data_aws_caller_identity import DataAwsCallerIdentity
from shared.cdk.aws.provider import (
    AwsProvider,
    AwsProviderDefaultTags,
    AwsProviderEndpoints,
)
from shared.cdk.core import (
    S3Backend,
    S3BackendEndpointConfig,
    TerraformOutput,
    TerraformResource,
    TerraformResourceLifecycle,
    TerraformStack,
)
from shared.config import EnvironmentConfig
from shared.config.location import partition_of
from shared.emulator_quirks import ignored
from shared.naming import default_tags, permissions_boundary_name, resource_name, stack_id, state_key, state_kms_alias
from shared.precious import is_precious

# Every AWS API the stacks call (appautoscaling and logs included). An emulator environment sends
# each of them to aws.endpoint; a service missing here would silently go to real AWS.
EMULATED_SERVICES = (
    "appautoscaling", "backup", "cloudwatch", "dynamodb", "ec2", "ecs", "events", "iam", "kinesis", "kms", "logs",
    "rds", "s3", "secretsmanager", "sns", "sqs", "sts",
)  # fmt: skip


class PipelineStack(TerraformStack):
    """A stack of one environment. Subclasses set `stack_name` and build their resources."""

    stack_name: ClassVar[str]

    def __init__(self, scope: Construct, *, env: EnvironmentConfig) -> None:
        super().__init__(scope, stack_id(self.stack_name, env.suffix))
        self.env = env
        self.region = env.aws.region
        self.partition = partition_of(env.aws.region)
        self._caller: DataAwsCallerIdentity | None = None
        endpoint = env.aws.endpoint.rstrip("/") if env.aws.endpoint else None
        self.aws_provider("aws", env.aws.region)
        # One state file per stack per environment; cross-stack reads go through this
        # backend's config (emulator settings included), so a consumer always reads its own
        # environment's state.
        S3Backend(
            self,
            bucket=env.state.bucket,
            key=state_key(env, self.stack_name),
            region=env.state_region,
            encrypt=True,
            # SSE-KMS with the environment's own state key (made by `make bootstrap`): without a key the
            # engine writes SSE-S3, whatever the bucket's default, and no key policy could scope readers.
            kms_key_id=state_kms_alias(env),
            **(
                dict(
                    endpoints=S3BackendEndpointConfig(s3=endpoint, sts=endpoint, iam=endpoint),
                    use_path_style=True,
                    skip_credentials_validation=True,
                    skip_requesting_account_id=True,
                    skip_metadata_api_check=True,
                    skip_region_validation=True,
                )
                if endpoint
                else {}
            ),
        )
        # S3-native locking (generally available in Terraform 1.11, OpenTofu 1.10); cdktf 0.21 has no typed field.
        self.add_override("terraform.backend.s3.use_lockfile", True)
        if env.aws.provider_version:
            # An emulator environment may use the provider version the machine has offline.
            self.add_override("terraform.required_providers.aws.version", env.aws.provider_version)

    def aws_provider(self, id: str, region: str, *, alias: str | None = None) -> AwsProvider:
        """The AWS provider of `region` (another region's under `alias`): the environment's default tags and
        account, and in an emulator environment every service sent to the emulator, whatever the region."""
        endpoint = self.env.aws.endpoint.rstrip("/") if self.env.aws.endpoint else None
        emulator = (
            dict(
                endpoints=[AwsProviderEndpoints(**{service: endpoint for service in EMULATED_SERVICES})],
                s3_use_path_style=True,  # emulators serve buckets on one host, not <bucket>.<host>
                # The emulator's credentials are not AWS's: no validation, account lookup or metadata API.
                skip_credentials_validation=True,
                skip_requesting_account_id=True,
                skip_metadata_api_check="true",
            )
            if endpoint
            else {}
        )
        return AwsProvider(
            self,
            id,
            alias=alias,
            region=region,
            default_tags=[AwsProviderDefaultTags(tags=default_tags(self.env, self.stack_name))],
            allowed_account_ids=[self.env.aws.account_id] if self.env.aws.account_id else None,
            **emulator,
        )

    @property
    def account_id(self) -> str:
        """The deploying account's id (read at plan time; one data source per stack)."""
        if self._caller is None:
            self._caller = DataAwsCallerIdentity(self, "caller")
        return self._caller.account_id

    @property
    def permissions_boundary(self) -> str:
        """The environment's permissions boundary (make bootstrap makes it): every role the stacks create carries
        it, and the CI deploy role may create or change a role only with it (shared/access/policies.py)."""
        return f"arn:{self.partition}:iam::{self.account_id}:policy/{permissions_boundary_name(self.env)}"

    @property
    def log_prefix(self) -> str:
        """`/<project>/<suffix>/`: every log group of the environment starts with it."""
        return f"/{self.env.project}/{self.env.suffix}/"

    def name(self, component: str) -> str:
        return resource_name(self.env, component)

    def protect_precious(self) -> None:
        """In a protected environment the engine itself refuses to destroy what is precious
        (shared/precious.py), whatever the tool is told: `prevent_destroy` on each such resource.
        Called once the stack is built (shared/app.py), so that no resource is missed."""
        if not self.env.protected:
            return
        for node in self.node.find_all():
            if isinstance(node, TerraformResource) and is_precious(node.terraform_resource_type):
                node.add_override("lifecycle.prevent_destroy", True)

    def absorb_emulator_quirks(self) -> None:
        """In an emulated environment, what the emulator does not give back as it was given
        (shared/emulator_quirks.py) is ignored on each resource of the listed types, beside what the
        resource already ignores. Real environments are untouched. Called once the stack is built."""
        if not self.env.emulated:
            return
        for node in self.node.find_all():
            if not isinstance(node, TerraformResource):
                continue
            quirks = ignored(node.terraform_resource_type)
            if not quirks:
                continue
            own = node.lifecycle or TerraformResourceLifecycle()
            ignoring = list(own.ignore_changes or [])
            node.lifecycle = TerraformResourceLifecycle(
                create_before_destroy=own.create_before_destroy,
                prevent_destroy=own.prevent_destroy,
                replace_triggered_by=own.replace_triggered_by,
                precondition=own.precondition,
                postcondition=own.postcondition,
                ignore_changes=[*ignoring, *(q for q in quirks if q not in ignoring)],
            )

    def output(self, name: str, value: Any, description: str, *, sensitive: bool = False) -> None:
        """A top-level output, named exactly `name` (the contract's output names)."""
        TerraformOutput(self, name, value=value, description=description, sensitive=sensitive)
