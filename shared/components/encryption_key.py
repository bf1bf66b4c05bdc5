"""A customer-managed KMS key with rotation, an alias, and a key policy that names who may use it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from constructs import Construct

from shared.cdk.aws.kms_alias import KmsAlias
from shared.cdk.aws.kms_key import KmsKey

# The key administrators' actions, as in AWS's default key policy for administrators; the
# account root holds them so the key can never become unmanageable.
_ADMIN_ACTIONS = [
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
]
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


@dataclass(frozen=True)
class ServiceGrant:
    """Lets an AWS service principal use the key, under the given policy condition."""

    sid: str
    service: str
    actions: list[str] = field(default_factory=lambda: list(USE_ACTIONS))
    condition: dict[str, Any] | None = None


class EncryptionKey(Construct):
    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        alias: str,
        description: str,
        account_id: str,
        partition: str,
        deletion_window_days: int,
        services: list[ServiceGrant] = (),
        provider: Any = None,
    ) -> None:
        """`provider`: the AWS provider of another region (a key is regional), else the stack's own."""
        super().__init__(scope, id)
        statements: list[dict[str, Any]] = [
            {
                "Sid": "AccountAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
                "Action": _ADMIN_ACTIONS + USE_ACTIONS + ["kms:CreateGrant", "kms:ListGrants"],
                # In a key policy "*" means this key, the only resource a key policy can name.
                "Resource": "*",
            }
        ]
        for grant in services:
            stmt = {
                "Sid": grant.sid,
                "Effect": "Allow",
                "Principal": {"Service": grant.service},
                "Action": grant.actions,
                "Resource": "*",
            }
            if grant.condition:
                stmt["Condition"] = grant.condition
            statements.append(stmt)
        self.key = KmsKey(
            self,
            "key",
            description=description,
            enable_key_rotation=True,
            deletion_window_in_days=deletion_window_days,
            policy=json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True),
            provider=provider,
        )
        KmsAlias(self, "alias", name=f"alias/{alias}", target_key_id=self.key.key_id, provider=provider)

    @property
    def arn(self) -> str:
        return self.key.arn
