"""A CloudWatch log group encrypted with a customer-managed key, retention from config."""

from __future__ import annotations

from constructs import Construct

from shared.cdk.aws.cloudwatch_log_group import CloudwatchLogGroup
from shared.components.encryption_key import ServiceGrant


class EncryptedLogGroup(Construct):
    def __init__(self, scope: Construct, id: str, *, name: str, retention_days: int, kms_key_arn: str):
        super().__init__(scope, id)
        self.log_group = CloudwatchLogGroup(
            self, "group", name=name, retention_in_days=retention_days, kms_key_id=kms_key_arn
        )

    @property
    def arn(self) -> str:
        return self.log_group.arn

    @property
    def name(self) -> str:
        return self.log_group.name


def logs_service_grant(region: str, partition: str, account_id: str, name_prefixes: list[str]) -> ServiceGrant:
    """Lets CloudWatch Logs use a key, for log groups of this environment only."""
    return ServiceGrant(
        sid="CloudWatchLogsEncrypts",
        service=f"logs.{region}.amazonaws.com",
        actions=["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        condition={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": [
                    f"arn:{partition}:logs:{region}:{account_id}:log-group:{prefix}*" for prefix in name_prefixes
                ]
            }
        },
    )
