"""AWS Backup of the metadata database: a daily recovery point in a vault of this region, copied to a vault in
another region under a KMS key of its own there, both vaults locked where the environment is protected.

The cluster's own automated backups (point-in-time recovery within data.aurora.backup_retention_days) stay: they
restore to the minute, in this region. This plan adds what they cannot give: a copy that survives the loss of
the region, of the pipeline key, or of the cluster's backups with the cluster (docs/data-safety.md).

The lease tables are not in the plan: their checkpoints are positions in this region's stream, worthless where
the stream is not, and their own point-in-time recovery (35 days) already restores them here to the second.
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from shared.cdk.aws.backup_plan import (
    BackupPlan,
    BackupPlanRule,
    BackupPlanRuleCopyAction,
    BackupPlanRuleCopyActionLifecycle,
    BackupPlanRuleLifecycle,
)
from shared.cdk.aws.backup_selection import BackupSelection
from shared.cdk.aws.backup_vault import BackupVault
from shared.cdk.aws.backup_vault_lock_configuration import BackupVaultLockConfiguration
from shared.cdk.aws.iam_role import IamRole
from shared.cdk.aws.iam_role_policy_attachment import IamRolePolicyAttachment
from shared.components.encryption_key import EncryptionKey
from shared.components.iam import assume_role_policy
from shared.config.data import BackupConfig
from shared.emulator_quirks import not_created

# AWS's managed policy for the role AWS Backup takes recovery points with (kept current by AWS as services
# change); the permissions boundary lets through only its part for this environment's cluster and vaults
# (shared/access/policies.py MANAGED).
BACKUP_SERVICE_POLICY = "service-role/AWSBackupServiceRolePolicyForBackup"


class Backup(Construct):
    """`vault` (this region), `copy_vault` (config copy_region), `copy_key`, `plan`, `role` and `selection` (None
    in an emulator that cannot create one)."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        config: BackupConfig,
        name: Any,  # the stack's resource_name: component -> <project>-<component>-<suffix>
        cluster_arn: str,
        key_arn: str,
        copy_provider: Any,
        account_id: str,
        partition: str,
        protected: bool,
        emulated: bool,
        permissions_boundary: str,
    ) -> None:
        super().__init__(scope, id)
        self.copy_key = EncryptionKey(
            self,
            "copy_key",
            alias=name("backup-copy"),
            description=f"Encrypts the copies of the StreamFlix backups in {config.copy_region}",
            account_id=account_id,
            partition=partition,
            deletion_window_days=30 if protected else 7,
            provider=copy_provider,
        )
        # Unprotected environments are destroyed without manual steps: their vaults go with the recovery points
        # in them. The emulator does not list recovery points (emulator_quirks.IMITATIONS), and no backup job
        # ever runs there to make one, so it is not asked to.
        force_destroy = not protected and not (emulated and not_created("aws_backup_selection"))
        self.vault = BackupVault(
            self,
            "vault",
            name=name("backups"),
            kms_key_arn=key_arn,
            force_destroy=force_destroy or None,
        )
        self.copy_vault = BackupVault(
            self,
            "copy_vault",
            name=name("backups-copy"),
            kms_key_arn=self.copy_key.arn,
            force_destroy=force_destroy or None,
            provider=copy_provider,
        )
        if config.lock_min_retention_days is not None:
            for vault, provider in ((self.vault, None), (self.copy_vault, copy_provider)):
                BackupVaultLockConfiguration(
                    self,
                    f"{vault.node.id}_lock",
                    backup_vault_name=vault.name,
                    min_retention_days=config.lock_min_retention_days,
                    changeable_for_days=config.lock_grace_days,
                    provider=provider,
                )

        self.role = IamRole(
            self,
            "role",
            name=name("backup"),
            assume_role_policy=assume_role_policy("backup.amazonaws.com", account_id),
            permissions_boundary=permissions_boundary,
        )
        if not (emulated and not_created("aws_iam_role_policy_attachment")):
            IamRolePolicyAttachment(
                self,
                "role_policy",
                role=self.role.name,
                policy_arn=f"arn:{partition}:iam::aws:policy/{BACKUP_SERVICE_POLICY}",
            )
        self.plan = BackupPlan(
            self,
            "plan",
            name=name("metadata"),
            rule=[
                BackupPlanRule(
                    rule_name="daily-with-copy",
                    target_vault_name=self.vault.name,
                    schedule=config.schedule,
                    # Started within an hour and done within a day, or the job fails and is reported as failed.
                    start_window=60,
                    completion_window=1440,
                    lifecycle=BackupPlanRuleLifecycle(delete_after=config.retention_days),
                    copy_action=[
                        BackupPlanRuleCopyAction(
                            destination_vault_arn=self.copy_vault.arn,
                            lifecycle=BackupPlanRuleCopyActionLifecycle(delete_after=config.copy_retention_days),
                        )
                    ],
                )
            ],
        )
        self.selection = (
            None
            if emulated and not_created("aws_backup_selection")
            else BackupSelection(
                self,
                "selection",
                name=name("metadata"),
                plan_id=self.plan.id,
                iam_role_arn=self.role.arn,
                resources=[cluster_arn],
            )
        )
