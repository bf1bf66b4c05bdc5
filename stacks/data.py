"""The data stack: KMS key, Kinesis ingest stream and its consumer's lease tables, SQS dead-letter queue,
Aurora Serverless v2 and its secret."""

from __future__ import annotations

import json

from constructs import Construct
from shared.cdk.aws.db_subnet_group import DbSubnetGroup
from shared.cdk.aws.iam_role import IamRole
from shared.cdk.aws.iam_role_policy_attachment import IamRolePolicyAttachment
from shared.cdk.aws.kinesis_stream import (
    KinesisStream,
    KinesisStreamStreamModeDetails,
)
from shared.cdk.aws.kinesis_stream_consumer import KinesisStreamConsumer
from shared.cdk.aws.rds_cluster import (
    RdsCluster,
    RdsClusterServerlessv2ScalingConfiguration,
)
from shared.cdk.aws.rds_cluster_instance import RdsClusterInstance
from shared.cdk.aws.rds_cluster_parameter_group import (
    RdsClusterParameterGroup,
    RdsClusterParameterGroupParameter,
)
from shared.cdk.aws.sqs_queue import SqsQueue
from shared.cdk.aws.sqs_queue_policy import SqsQueuePolicy
from shared.cdk.core import TerraformResourceLifecycle
from shared.cdk.random.provider import RandomProvider

from shared.components.aurora_version import engine_version_floor
from shared.components.backup import Backup
from shared.components.database_password import (
    generated_password,
    rds_managed_password,
    rotate_rds_managed_secret,
)
from shared.components.encryption_key import EncryptionKey, ServiceGrant
from shared.components.iam import assume_role_policy
from shared.components.lease_tables import LeaseTables
from shared.components.log_group import EncryptedLogGroup, logs_service_grant
from shared.config import EnvironmentConfig
from shared.database.app_user import grants_digest
from shared.emulator_quirks import not_created
from shared.naming import resource_name
from shared.stack import PipelineStack
from stacks.network import POSTGRES_PORT, NetworkStack

ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"


def consumer_app_name(env: EnvironmentConfig) -> str:
    """The workers' KCL application name: their lease table's name, stream consumer name and metrics namespace."""
    return resource_name(env, "video-worker")


class DataStack(PipelineStack):
    """Exposes `key`, `stream`, `stream_consumer` (enhanced fan-out only, else None), `lease_tables`, `dlq`,
    `secret_arn` (the secret with the master user's username and password), `cluster` and `backup` to the stacks
    that build on it."""

    stack_name = "data"

    def __init__(self, scope: Construct, *, env: EnvironmentConfig, network: NetworkStack) -> None:
        super().__init__(scope, env=env)
        if env.data.aurora.password_generator == "random":
            RandomProvider(self, "random")
        self.cluster_identifier = self.name("metadata")
        rds_log_group = f"/aws/rds/cluster/{self.cluster_identifier}/postgresql"

        self.key = EncryptionKey(
            self,
            "key",
            alias=self.name("pipeline"),
            description=f"Encrypts the StreamFlix pipeline data of {env.suffix}: stream, queue, "
            "secret, database and logs",
            account_id=self.account_id,
            partition=self.partition,
            deletion_window_days=30 if env.protected else 7,
            services=[
                logs_service_grant(self.region, self.partition, self.account_id, [self.log_prefix, rds_log_group]),
                # Alarms publish to the encrypted SNS topic as the CloudWatch service.
                ServiceGrant(
                    sid="CloudWatchAlarmsPublish",
                    service="cloudwatch.amazonaws.com",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    condition={"StringEquals": {"aws:SourceAccount": self.account_id}},
                ),
                # ECS deployment failures and stopped workers reach the same topic through EventBridge.
                ServiceGrant(
                    sid="EcsEventsPublish",
                    service="events.amazonaws.com",
                    actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                    condition={"StringEquals": {"aws:SourceAccount": self.account_id}},
                ),
            ],
        )

        self.stream = KinesisStream(
            self,
            "stream",
            name=self.name("ingest"),
            retention_period=env.data.kinesis.retention_hours,
            shard_count=env.data.kinesis.shard_count if env.data.kinesis.mode == "provisioned" else None,
            stream_mode_details=KinesisStreamStreamModeDetails(stream_mode=env.data.kinesis.mode.upper()),
            encryption_type="KMS",
            kms_key_id=self.key.arn,
            # No shard-level metrics: they are billed per shard and metric, and every alarm and the
            # dashboard read the stream-level ones, which are free.
        )
        self.consumer_app_name = consumer_app_name(env)
        # With enhanced fan-out the consumer is registered here, not by the workers: its ARN is what
        # SubscribeToShard authorizes against, so the task role can name it exactly.
        self.stream_consumer = (
            KinesisStreamConsumer(self, "stream_consumer", name=self.consumer_app_name, stream_arn=self.stream.arn)
            if env.data.kinesis.consumer == "enhanced_fan_out"
            else None
        )
        self.lease_tables = LeaseTables(
            self, "lease_tables", app_name=self.consumer_app_name, kms_key_arn=self.key.arn, protected=env.protected
        )

        self.dlq = SqsQueue(
            self,
            "dlq",
            name=self.name("jobs-dlq"),
            message_retention_seconds=env.data.dlq.retention_days * 86_400,
            kms_master_key_id=self.key.arn,
            # Reusing a data key for 5 minutes keeps KMS calls (and their cost) down.
            kms_data_key_reuse_period_seconds=300,
        )
        SqsQueuePolicy(
            self,
            "dlq_tls_only",
            queue_url=self.dlq.url,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyPlainHttp",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "sqs:*",
                            "Resource": self.dlq.arn,
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                },
                sort_keys=True,
            ),
        )

        self._database(network, rds_log_group)
        backup = env.data.backup
        self.backup = Backup(
            self,
            "backup",
            config=backup,
            name=self.name,
            cluster_arn=self.cluster.arn,
            key_arn=self.key.arn,
            # The copy vault and its key live in the copy region: a provider of that region, as the stack's own.
            copy_provider=self.aws_provider("aws_copy_region", backup.copy_region, alias="copy_region"),
            account_id=self.account_id,
            partition=self.partition,
            protected=env.protected,
            emulated=env.emulated,
            permissions_boundary=self.permissions_boundary,
        )

        self.output("kinesis_stream_name", self.stream.name, "Name of the Kinesis stream that ingests video jobs.")
        self.output("kinesis_stream_arn", self.stream.arn, "ARN of the ingest stream.")
        self.output(
            "consumer_app_name",
            self.consumer_app_name,
            "KCL application name of the workers: their lease table's name and their metrics namespace.",
        )
        if self.stream_consumer is not None:
            self.output(
                "stream_consumer_arn",
                self.stream_consumer.arn,
                "ARN of the workers' enhanced fan-out consumer of the ingest stream.",
            )
        self.output(
            "lease_table_name",
            self.lease_tables.lease_table.name,
            "DynamoDB table of the workers' shard leases and checkpoints.",
        )
        self.output("lease_table_arn", self.lease_tables.lease_table.arn, "ARN of the lease table.")
        self.output(
            "coordination_table_arns",
            [t.arn for t in self.lease_tables.coordination_tables],
            "ARNs of the KCL worker metrics and coordinator state tables.",
        )
        self.output("dlq_url", self.dlq.url, "URL of the SQS dead-letter queue for failed jobs.")
        self.output("dlq_arn", self.dlq.arn, "ARN of the dead-letter queue.")
        self.output("dlq_name", self.dlq.name, "Name of the dead-letter queue.")
        self.output(
            "db_secret_arn",
            self.secret_arn,
            "ARN of the Secrets Manager secret with the database master user's username and password: RDS's own "
            "(password_generator rds), else the stack's, which also holds engine, port and dbname.",
        )
        self.output("rds_cluster_endpoint", self.cluster.endpoint, "Writer endpoint of the Aurora cluster.")
        self.output(
            "rds_cluster_reader_endpoint", self.cluster.reader_endpoint, "Reader endpoint of the Aurora cluster."
        )
        self.output("rds_cluster_identifier", self.cluster.cluster_identifier, "Identifier of the Aurora cluster.")
        self.output("rds_cluster_arn", self.cluster.arn, "ARN of the Aurora cluster (the Data API's resource).")
        self.output(
            "db_app_user",
            self.env.data.aurora.app_user,
            "The database user the workers connect as by IAM authentication; the deploy makes it after this stack.",
        )
        self.output(
            "db_app_grants",
            grants_digest(self.env.data.aurora),
            "Digest of the SQL that makes db_app_user and its grants (shared/database/app_user.py): a change to it "
            "changes this stack, so the next deploy runs the SQL again.",
        )
        self.output("kms_key_arn", self.key.arn, "ARN of the KMS key that encrypts the pipeline data.")
        self.output("backup_vault_name", self.backup.vault.name, "AWS Backup vault of the cluster's recovery points.")
        self.output(
            "backup_copy_vault_arn",
            self.backup.copy_vault.arn,
            f"AWS Backup vault in {backup.copy_region} that every recovery point is copied to.",
        )
        self.output("backup_plan_id", self.backup.plan.id, "Id of the AWS Backup plan of the cluster.")

    def _database(self, network: NetworkStack, rds_log_group: str) -> None:
        env, aurora = self.env, self.env.data.aurora
        major = aurora.engine_version.split(".")[0]

        if aurora.rds_managed:
            password = rds_managed_password(self, self.key.arn)
        else:
            password = generated_password(self, aurora, self.key.arn, POSTGRES_PORT)
        subnets = DbSubnetGroup(
            self,
            "db_subnets",
            name=self.name("metadata"),
            description=f"Private subnets of the {env.suffix} metadata database",
            subnet_ids=[s.id for s in network.private_subnets],
        )
        params = RdsClusterParameterGroup(
            self,
            "db_params",
            name=self.name(f"metadata-pg{major}"),
            family=f"aurora-postgresql{major}",
            description="TLS only; schema changes and slow statements logged",
            parameter=[
                RdsClusterParameterGroupParameter(name="rds.force_ssl", value="1"),
                RdsClusterParameterGroupParameter(name="log_min_duration_statement", value="1000"),
                RdsClusterParameterGroupParameter(name="log_statement", value="ddl"),
            ],
            # Its name and family carry the major version: a major upgrade needs the new group in
            # place before the cluster moves to it, and the old one can only go after.
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # Created before the cluster so that the exported logs are encrypted and expire.
        db_logs = EncryptedLogGroup(
            self, "db_logs", name=rds_log_group, retention_days=env.logs.retention_days, kms_key_arn=self.key.arn
        )
        self.cluster = RdsCluster(
            self,
            "cluster",
            cluster_identifier=self.cluster_identifier,
            engine="aurora-postgresql",
            engine_mode="provisioned",  # Serverless v2 runs on the provisioned engine mode
            engine_version=engine_version_floor(
                self, floor=aurora.engine_version, cluster_identifier=self.cluster_identifier
            ),
            # Only a change of the configured major version can ask for one (see engine_version_floor).
            allow_major_version_upgrade=True,
            database_name=aurora.database_name,
            master_username=aurora.master_username,
            **password.cluster_arguments,
            port=POSTGRES_PORT,
            db_subnet_group_name=subnets.name,
            db_cluster_parameter_group_name=params.name,
            vpc_security_group_ids=[network.database_security_group.id],
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            # The workers log in as their own user with an IAM token (shared/database/app_user.py), never the
            # master; the Data API is how the deploy makes that user without a network path into the VPC.
            iam_database_authentication_enabled=True,
            enable_http_endpoint=True,
            serverlessv2_scaling_configuration=RdsClusterServerlessv2ScalingConfiguration(
                min_capacity=aurora.min_acu,
                max_capacity=aurora.max_acu,
                seconds_until_auto_pause=aurora.seconds_until_auto_pause if aurora.min_acu == 0 else None,
            ),
            backup_retention_period=aurora.backup_retention_days,
            preferred_backup_window="03:00-04:00",
            copy_tags_to_snapshot=True,
            skip_final_snapshot=not aurora.final_snapshot,
            # A fixed name collides with the snapshot of the previous destroy; the creation time makes
            # it one per cluster, and ignore_changes keeps it from changing on every plan.
            final_snapshot_identifier=(
                f'{self.name("metadata-final")}-${{formatdate("YYYYMMDDhhmmss", timestamp())}}'
                if aurora.final_snapshot
                else None
            ),
            # Where a final snapshot is taken, the automated backups outlive the cluster too (the
            # default deletes them with it): the point-in-time history up to the deletion.
            delete_automated_backups=False if aurora.final_snapshot else None,
            deletion_protection=aurora.deletion_protection,
            enabled_cloudwatch_logs_exports=["postgresql"],
            # Outside protected environments changes land at once instead of in the next window.
            apply_immediately=not env.protected,
            depends_on=[db_logs.log_group],
            lifecycle=TerraformResourceLifecycle(ignore_changes=["final_snapshot_identifier"])
            if aurora.final_snapshot
            else None,
        )
        self.secret_arn = (
            rotate_rds_managed_secret(self, self.cluster, aurora) if aurora.rds_managed else password.secret_arn
        )
        monitoring = {}
        if aurora.enhanced_monitoring:
            monitoring_role = IamRole(
                self,
                "db_monitoring_role",
                name=self.name("rds-monitoring"),
                assume_role_policy=assume_role_policy("monitoring.rds.amazonaws.com", self.account_id),
                permissions_boundary=self.permissions_boundary,
            )
            if not (env.emulated and not_created("aws_iam_role_policy_attachment")):
                IamRolePolicyAttachment(
                    self,
                    "db_monitoring_policy",
                    role=monitoring_role.name,
                    policy_arn=f"arn:{self.partition}:iam::aws:policy/{ENHANCED_MONITORING_POLICY}",
                )
            monitoring = dict(monitoring_interval=60, monitoring_role_arn=monitoring_role.arn)
        insights = (
            dict(performance_insights_enabled=True, performance_insights_kms_key_id=self.key.arn)
            if aurora.performance_insights
            else {}
        )
        # Serverless v2 serves nothing without instances: at least one, spread over the AZs.
        self.instances = [
            RdsClusterInstance(
                self,
                f"instance_{i}",
                identifier=self.name(f"metadata-{i + 1}"),
                cluster_identifier=self.cluster.id,
                instance_class="db.serverless",
                engine=self.cluster.engine,
                # No engine_version: instances run the cluster's, so an upgrade is planned once, on the cluster.
                db_subnet_group_name=subnets.name,
                availability_zone=env.zones[i % len(env.zones)],  # known at synthesis: no cross-stack read
                publicly_accessible=False,
                auto_minor_version_upgrade=True,
                apply_immediately=not env.protected,
                **insights,
                **monitoring,
            )
            for i in range(aurora.instances)
        ]
