"""The data section: the ingest stream, the Aurora cluster and its secret, the dead-letter queue."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from shared.config import patterns
from shared.config.problems import raise_if
from shared.config.section import Section

# The first minor of each Aurora PostgreSQL major whose Serverless v2 instances may pause at 0 ACU.
AUTO_PAUSE_MINORS = {13: 15, 14: 12, 15: 7, 16: 3}


class KinesisConfig(Section):
    mode: Literal["provisioned", "on_demand"] = Field("provisioned", description="Capacity mode of the ingest stream.")
    shard_count: int = Field(1, ge=1, le=500, description="Shards when mode is provisioned.")
    retention_hours: int = Field(24, ge=24, le=8760, description="How long records stay on the stream.")
    consumer: Literal["polling", "enhanced_fan_out"] = Field(
        "polling",
        description="How the workers read: polling (GetRecords, sharing 2 MB/s per shard with every other reader) "
        "or enhanced_fan_out (a registered stream consumer with its own 2 MB/s per shard, pushed over HTTP/2; "
        "billed per consumer-shard hour).",
    )


# Names PostgreSQL gives a meaning of their own wherever a role is named (CREATE ROLE refuses them).
RESERVED_ROLE_NAMES = ("public", "none", "current_user", "current_role", "session_user")


class AuroraConfig(Section):
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
        "streamflix_admin",
        description="Master user name. Only the deploy uses it (through the RDS Data API, to make app_user); "
        "the workers never get its credentials.",
        pattern=patterns.DATABASE_USER.regex,
    )
    app_user: str = Field(
        "pipeline_worker",
        description="The database user the workers connect as, by IAM database authentication (a 15-minute "
        "token from their task role, no password anywhere). The deploy makes it after the data stack, through "
        "the RDS Data API, with app_schema's table privileges only: no superuser, no CREATE, no other schema.",
        pattern=patterns.DATABASE_USER.regex,
    )
    app_schema: str = Field(
        "pipeline",
        description="The schema whose tables app_user reads and writes (SELECT, INSERT, UPDATE, DELETE; its "
        "sequences' USAGE, SELECT), tables made later by the master user included. The deploy makes it if "
        "missing, owned by the master user: app_user can neither create, alter nor drop a table.",
        pattern=patterns.DATABASE_NAME.regex,
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
    password_generator: Literal["rds", "random", "secrets_manager"] = Field(
        "rds",
        description="Who makes and keeps the master password. rds: RDS generates it, keeps it in a secret of "
        "its own encrypted with the pipeline key and rotates it (secret_rotation_days); no deploy, plan or "
        "refresh ever reads it. random or secrets_manager: the stack generates it as an ephemeral value (the "
        "random provider's random_password, or GetRandomPassword through the AWS provider) and writes it to "
        "a secret of its own and the cluster through write-only arguments, for accounts that must hold their "
        "own password; every plan of the data stack then reads it (GetSecretValue).",
    )
    secret_rotation_days: int = Field(
        7,
        ge=1,
        le=1000,
        description="Days between RDS's rotations of the master password (password_generator rds only): set "
        "on the RDS-managed secret's rotation schedule.",
    )
    password_version: int = Field(
        1,
        ge=1,
        description="Version of the master password (password_generator random or secrets_manager only). "
        "Raising it writes a new password to the secret and the cluster in one deploy (the password itself is "
        "never in state or a plan file: it is written through write-only arguments). The workers do not use "
        "it (they connect as app_user by IAM), so nothing else changes.",
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
        problems += self._password_keys()
        problems += self._app_names()
        raise_if(problems)
        return self

    def _app_names(self) -> list[tuple[str, str]]:
        """The workers' user must be one of its own, and its schema one the deploy may own and grant on."""
        problems = []
        if self.app_user == self.master_username:
            problems.append(("app_user", "must differ from master_username: the workers never connect as the master"))
        # PostgreSQL reserves pg_; RDS reserves rds* for its own roles (rds_iam, rdsadmin, rds_superuser).
        if self.app_user.startswith(("pg_", "rds")):
            problems.append(("app_user", f"{self.app_user!r}: names starting pg_ or rds belong to PostgreSQL and RDS"))
        elif self.app_user in RESERVED_ROLE_NAMES:
            problems.append(("app_user", f"{self.app_user!r} is a role name PostgreSQL reserves for itself"))
        if self.app_schema in ("public", "information_schema") or self.app_schema.startswith("pg_"):
            problems.append(
                ("app_schema", f"{self.app_schema!r} is PostgreSQL's own: name a schema the deploy makes and owns")
            )
        return problems

    def _password_keys(self) -> list[tuple[str, str]]:
        """Each password key applies to one kind of password: changed for the other, it would silently do nothing.
        (Judged by value, not by whether the file names the key: a dumped and reloaded config names them all.)"""
        defaults = type(self).model_fields
        if self.password_generator == "rds" and self.password_version != defaults["password_version"].default:
            return [
                (
                    "password_version",
                    "applies only to a password the stack generates (password_generator random or "
                    f"secrets_manager), not to {self.password_generator!r}: RDS rotates its own "
                    "(secret_rotation_days); remove this key",
                )
            ]
        if self.password_generator != "rds" and self.secret_rotation_days != defaults["secret_rotation_days"].default:
            return [
                (
                    "secret_rotation_days",
                    f"applies only to the RDS-managed password (password_generator rds, here "
                    f"{self.password_generator}); a generated one changes with password_version: remove this key",
                )
            ]
        return []

    @property
    def rds_managed(self) -> bool:
        """RDS makes, keeps and rotates the master password: the engine never sees it."""
        return self.password_generator == "rds"


class DlqConfig(Section):
    retention_days: int = Field(14, ge=1, le=14, description="How long failed jobs are kept.")


class BackupConfig(Section):
    """AWS Backup of the cluster: a daily recovery point in this region's vault, copied to a vault in copy_region."""

    copy_region: str = Field(
        "us-west-2",
        description="Region of the vault every recovery point is copied to, under a KMS key of its own there: "
        "the backups survive the loss of aws.region and of its key. Must differ from aws.region.",
        pattern=patterns.REGION.regex,
    )
    schedule: str = Field(
        "cron(0 5 ? * * *)",
        description="When AWS Backup takes a recovery point (a cron() expression in UTC). Daily at 05:00 by "
        "default: after the cluster's own backup window (03:00-04:00), so the two never overlap.",
        pattern=patterns.BACKUP_SCHEDULE.regex,
    )
    retention_days: int = Field(7, ge=1, le=36_500, description="Days a recovery point is kept in this region's vault.")
    copy_retention_days: int = Field(7, ge=1, le=36_500, description="Days a copy is kept in copy_region's vault.")
    lock_min_retention_days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="Vault lock on both vaults (required in a protected environment): no recovery point can be "
        "deleted, nor kept for less, before this many days, whoever asks. Unset: no lock.",
    )
    lock_grace_days: int | None = Field(
        None,
        ge=3,
        le=36_500,
        description="Days the vault lock can still be changed or removed; after them it is in compliance mode and "
        "nobody, AWS included, can lift it or delete the vaults while they hold recovery points. Unset: "
        "governance mode (an IAM principal allowed backup:DeleteBackupVaultLockConfiguration can lift it).",
    )

    @model_validator(mode="after")
    def _lock_fits_the_retention(self) -> BackupConfig:
        problems = []
        if self.lock_grace_days is not None and self.lock_min_retention_days is None:
            problems.append(("lock_grace_days", "applies to a vault lock: set lock_min_retention_days too"))
        if self.lock_min_retention_days is not None:
            # A locked vault refuses a recovery point kept for less than its minimum: every backup would fail.
            for key in ("retention_days", "copy_retention_days"):
                if getattr(self, key) < self.lock_min_retention_days:
                    problems.append(
                        (
                            key,
                            f"{getattr(self, key)} is below lock_min_retention_days "
                            f"({self.lock_min_retention_days}): the locked vault would refuse every recovery point",
                        )
                    )
        raise_if(problems)
        return self


class DataConfig(Section):
    kinesis: KinesisConfig = Field(default_factory=KinesisConfig, description="The ingest stream.")
    aurora: AuroraConfig = Field(default_factory=AuroraConfig, description="The metadata database.")
    dlq: DlqConfig = Field(default_factory=DlqConfig, description="The dead-letter queue.")
    backup: BackupConfig = Field(
        default_factory=BackupConfig, description="AWS Backup of the cluster, copied to another region."
    )
    secret_recovery_window_days: int = Field(
        0,
        description="Days a deleted secret of the stack's own can be restored: 0 deletes at once (dev, staging), "
        "7-30 protects it (prod). The stack's secret is the one of a generated password (password_generator "
        "random or secrets_manager), and the one left behind when an environment moves to rds (the upgrade "
        "deletes it with this window); RDS deletes its own secret with the cluster.",
    )

    @field_validator("secret_recovery_window_days")
    @classmethod
    def _window(cls, value: int) -> int:
        if value != 0 and not 7 <= value <= 30:
            raise ValueError(f"must be 0 or between 7 and 30, got {value}")
        return value
