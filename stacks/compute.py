"""The compute stack: ECS cluster, least-privilege roles, the Fargate worker service and its auto scaling."""

from __future__ import annotations

import json

from constructs import Construct
from shared.cdk.aws.appautoscaling_policy import (
    AppautoscalingPolicy,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationDimensions,
    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification,
)
from shared.cdk.aws.appautoscaling_target import AppautoscalingTarget
from shared.cdk.aws.ecs_cluster import EcsCluster, EcsClusterSetting
from shared.cdk.aws.ecs_cluster_capacity_providers import EcsClusterCapacityProviders
from shared.cdk.aws.ecs_service import (
    EcsService,
    EcsServiceAlarms,
    EcsServiceCapacityProviderStrategy,
    EcsServiceDeploymentCircuitBreaker,
    EcsServiceNetworkConfiguration,
)
from shared.cdk.aws.ecs_task_definition import (
    EcsTaskDefinition,
    EcsTaskDefinitionEphemeralStorage,
    EcsTaskDefinitionRuntimePlatform,
    EcsTaskDefinitionVolume,
)
from shared.cdk.aws.iam_role import IamRole
from shared.cdk.aws.iam_role_policy import IamRolePolicy
from shared.cdk.core import TerraformResourceLifecycle

from shared.components.iam import assume_role_policy, document, statement
from shared.components.lease_tables import (
    COORDINATION_TABLE_ACTIONS,
    LEASE_INDEX_ACTIONS,
    LEASE_OWNER_INDEX,
    LEASE_TABLE_ACTIONS,
)
from shared.components.log_group import EncryptedLogGroup
from shared.components.worker_container import SCRATCH_VOLUME, worker_container
from shared.config import EnvironmentConfig
from shared.contract import DEPLOYMENT_ALARM_IDS
from shared.image_ref import ECR
from shared.stack import PipelineStack
from stacks.data import DataStack
from stacks.network import POSTGRES_PORT, NetworkStack

# The capacity providers a service with compute.spot_percent shares its tasks between.
SPOT_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


def metrics_namespace(env: EnvironmentConfig) -> str:
    """The CloudWatch namespace the workers publish to; the task role may publish nowhere else."""
    return f"StreamFlix/{env.suffix}"


def consumer_lag_metric(env: EnvironmentConfig, stream_name: str, app_name: str) -> tuple[str, str, dict[str, str]]:
    """(namespace, metric, dimensions) of the workers' lag in the environment's consumer mode.

    Polling readers show up in the stream's GetRecords.IteratorAgeMilliseconds; an enhanced fan-out
    consumer never calls GetRecords, its lag is SubscribeToShardEvent.MillisBehindLatest.
    """
    if env.data.kinesis.consumer == "enhanced_fan_out":
        return (
            "AWS/Kinesis",
            "SubscribeToShardEvent.MillisBehindLatest",
            {"StreamName": stream_name, "ConsumerName": app_name},
        )
    return "AWS/Kinesis", "GetRecords.IteratorAgeMilliseconds", {"StreamName": stream_name}


def via(service: str, region: str) -> str:
    """The kms:ViaService value of an AWS service in `region`."""
    return f"{service}.{region}.amazonaws.com"


class ComputeStack(PipelineStack):
    """Exposes `cluster`, `service` and `log_group` to the stacks that build on it."""

    stack_name = "compute"

    def __init__(self, scope: Construct, *, env: EnvironmentConfig, network: NetworkStack, data: DataStack) -> None:
        super().__init__(scope, env=env)
        cfg = env.compute

        self.cluster = EcsCluster(
            self,
            "cluster",
            name=self.name("workers"),
            setting=[EcsClusterSetting(name="containerInsights", value="enabled")],
        )
        self.log_group = EncryptedLogGroup(
            self,
            "task_logs",
            name=f"{self.log_prefix}worker",
            retention_days=env.logs.retention_days,
            kms_key_arn=data.key.arn,
        )

        self.role_policies: list[IamRolePolicy] = []
        self.execution_role = self._task_role(
            "execution",
            "task-execution",
            "ECS agent: pulls the image, writes the task logs",
            "task-execution",
            self._execution_statements(data),
        )
        self.task_role = self._task_role(
            "task",
            "task",
            "Video worker: reads the ingest stream, connects to the database as its own user, sends failed jobs to "
            "the DLQ, publishes metrics",
            "video-worker",
            self._task_statements(data),
        )

        self.task_definition = EcsTaskDefinition(
            self,
            "task",
            family=self.name("worker"),
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(cfg.cpu),
            memory=str(cfg.memory),
            execution_role_arn=self.execution_role.arn,
            task_role_arn=self.task_role.arn,
            runtime_platform=EcsTaskDefinitionRuntimePlatform(
                operating_system_family="LINUX", cpu_architecture=cfg.architecture
            ),
            container_definitions=json.dumps([self._container(data)], sort_keys=True),
            # A video worker needs scratch space; the root filesystem stays read-only.
            volume=[EcsTaskDefinitionVolume(name=SCRATCH_VOLUME)],
            ephemeral_storage=EcsTaskDefinitionEphemeralStorage(size_in_gib=cfg.ephemeral_storage_gib),
        )

        # With spot_percent, the service takes a capacity provider strategy instead of a launch type: one task
        # always on Fargate (a Spot reclaim never stops every worker at once), the rest shared by weight.
        self.capacity_providers = (
            EcsClusterCapacityProviders(
                self, "capacity_providers", cluster_name=self.cluster.name, capacity_providers=list(SPOT_PROVIDERS)
            )
            if cfg.spot_percent
            else None
        )
        self.service = EcsService(
            self,
            "service",
            name=self.name("worker"),
            cluster=self.cluster.arn,
            task_definition=self.task_definition.arn,
            desired_count=cfg.desired_count,
            launch_type=None if cfg.spot_percent else "FARGATE",
            capacity_provider_strategy=[
                EcsServiceCapacityProviderStrategy(capacity_provider="FARGATE", weight=100 - cfg.spot_percent, base=1),
                EcsServiceCapacityProviderStrategy(capacity_provider="FARGATE_SPOT", weight=cfg.spot_percent),
            ]
            if cfg.spot_percent
            else None,
            platform_version="LATEST",
            network_configuration=EcsServiceNetworkConfiguration(
                subnets=[s.id for s in network.task_subnets],
                security_groups=[network.task_security_group.id],
                assign_public_ip=network.tasks_need_public_ip,
            ),
            deployment_circuit_breaker=EcsServiceDeploymentCircuitBreaker(enable=True, rollback=True),
            # Tasks that start but do not work (lag grows, tasks die, jobs fail) are caught by the alarms the
            # circuit breaker cannot see; ECS fails the deployment and rolls back when one goes into ALARM.
            alarms=EcsServiceAlarms(
                alarm_names=[self.name(a) for a in DEPLOYMENT_ALARM_IDS], enable=True, rollback=True
            ),
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            propagate_tags="SERVICE",
            enable_ecs_managed_tags=True,
            # Auto scaling owns the running count after the first deploy; a redeploy must not reset it.
            lifecycle=TerraformResourceLifecycle(ignore_changes=["desired_count"]) if cfg.autoscaling else None,
            # IAM is eventually consistent: tasks must not start before their roles may do their work.
            depends_on=[*self.role_policies, *([self.capacity_providers] if self.capacity_providers else [])],
        )

        if cfg.autoscaling:
            self._autoscaling(data)

        self.output("ecs_cluster_name", self.cluster.name, "Name of the ECS cluster that runs the video workers.")
        self.output("ecs_cluster_arn", self.cluster.arn, "ARN of the ECS cluster.")
        self.output("ecs_service_name", self.service.name, "Name of the ECS service of the video workers.")
        self.output("task_definition_family", self.task_definition.family, "Family of the worker task definition.")
        self.output("task_log_group_name", self.log_group.name, "CloudWatch log group of the worker tasks.")
        self.output("task_role_arn", self.task_role.arn, "ARN of the worker task role.")
        self.output("execution_role_arn", self.execution_role.arn, "ARN of the task execution role.")

    def _autoscaling(self, data: DataStack) -> None:
        """Target tracking between compute.min_count and compute.max_count: on consumer lag first, CPU second.

        Each shard is read by one worker at a time, so lag is what more workers cure; CPU catches
        jobs that get heavier without the stream falling behind. Application Auto Scaling scales out
        when either policy asks and in only when both allow.
        """
        cfg = self.env.compute
        target = AppautoscalingTarget(
            self,
            "scaling_target",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=f"service/{self.cluster.name}/{self.service.name}",
            min_capacity=cfg.min_count,
            max_capacity=cfg.max_count,
        )

        def track(id: str, name: str, target_value: float, **metric) -> None:
            """One target-tracking policy on the service; scale out within a minute, in after five."""
            AppautoscalingPolicy(
                self,
                id,
                name=self.name(name),
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration=AppautoscalingPolicyTargetTrackingScalingPolicyConfiguration(
                    target_value=target_value, scale_in_cooldown=300, scale_out_cooldown=60, **metric
                ),
            )

        namespace, metric, dimensions = consumer_lag_metric(self.env, data.stream.name, data.consumer_app_name)
        track(
            "scaling_lag",
            "worker-lag",
            cfg.lag_target_ms,
            customized_metric_specification=AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecification(
                namespace=namespace,
                metric_name=metric,
                statistic="Maximum",  # the slowest shard decides: an average hides one stuck shard
                dimensions=[
                    AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationCustomizedMetricSpecificationDimensions(
                        name=name, value=value
                    )
                    for name, value in dimensions.items()
                ],
            ),
        )
        track(
            "scaling_cpu",
            "worker-cpu",
            cfg.cpu_target_percent,
            predefined_metric_specification=AppautoscalingPolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecification(
                predefined_metric_type="ECSServiceAverageCPUUtilization"
            ),
        )

    def _task_role(self, id: str, name: str, description: str, policy_name: str, statements: list[dict]) -> IamRole:
        """A role ECS tasks of this account assume, with one inline policy of exactly these statements."""
        role = IamRole(
            self,
            f"{id}_role",
            name=self.name(name),
            description=description,
            assume_role_policy=assume_role_policy("ecs-tasks.amazonaws.com", self.account_id),
            permissions_boundary=self.permissions_boundary,
        )
        self.role_policies.append(
            IamRolePolicy(self, f"{id}_policy", name=policy_name, role=role.id, policy=document(*statements))
        )
        return role

    def _container(self, data: DataStack) -> dict:
        env = self.env
        environment = [
            {"name": "KINESIS_STREAM_NAME", "value": data.stream.name},
            # The KCL application: its name is the lease table's and the consumer library's metrics namespace.
            {"name": "CONSUMER_APP_NAME", "value": data.consumer_app_name},
            {"name": "CONSUMER_MODE", "value": env.data.kinesis.consumer},
            {"name": "LEASE_TABLE_NAME", "value": data.lease_tables.lease_table.name},
            *(
                [{"name": "STREAM_CONSUMER_ARN", "value": data.stream_consumer.arn}]
                if data.stream_consumer is not None
                else []
            ),
            {"name": "DLQ_URL", "value": data.dlq.url},
            # The workers' own user, by IAM authentication: each connection signs a 15-minute token with the
            # task role (rds-db:connect as this user alone), over TLS (the cluster forces SSL). No password:
            # the master's credentials are not in the task, and a rotation of them changes nothing here.
            {"name": "DB_HOST", "value": data.cluster.endpoint},
            {"name": "DB_PORT", "value": str(POSTGRES_PORT)},
            {"name": "DB_DBNAME", "value": env.data.aurora.database_name},
            {"name": "DB_ENGINE", "value": "postgres"},
            {"name": "DB_USER", "value": env.data.aurora.app_user},
            {"name": "DB_AUTH", "value": "iam"},
            {"name": "METRICS_NAMESPACE", "value": metrics_namespace(env)},
            {"name": "AWS_REGION", "value": env.aws.region},
            {"name": "TMPDIR", "value": "/tmp"},
        ]
        return worker_container(
            env.compute, environment=environment, log_group=self.log_group.name, region=env.aws.region
        )

    def _execution_statements(self, data: DataStack) -> list[dict]:
        statements = [
            statement("WriteTaskLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], [f"{self.log_group.arn}:*"]),
        ]
        ecr = ECR.match(self.env.compute.image)
        if ecr:
            repo_arn = f"arn:{self.partition}:ecr:{ecr['region']}:{ecr['account']}:repository/{ecr['repo']}"
            statements += [
                statement(
                    "PullWorkerImage",
                    ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                    [repo_arn],
                ),
                # GetAuthorizationToken has no resource-level permissions: "*" is the only resource.
                statement("RegistryLogin", ["ecr:GetAuthorizationToken"], ["*"]),
            ]
        return statements

    def _task_statements(self, data: DataStack) -> list[dict]:
        polling = data.stream_consumer is None
        stream_actions = ["kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:ListShards"]
        if polling:
            stream_actions += ["kinesis:GetRecords", "kinesis:GetShardIterator"]
        tables = data.lease_tables
        statements = [
            statement("ReadIngestStream", stream_actions, [data.stream.arn]),
            statement("KeepLeasesAndCheckpoints", list(LEASE_TABLE_ACTIONS), [tables.lease_table.arn]),
            statement(
                "FindOwnLeases", list(LEASE_INDEX_ACTIONS), [f"{tables.lease_table.arn}/index/{LEASE_OWNER_INDEX}"]
            ),
            statement(
                "CoordinateWorkers", list(COORDINATION_TABLE_ACTIONS), [t.arn for t in tables.coordination_tables]
            ),
            statement(
                "SendFailedJobs", ["sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:SendMessage"], [data.dlq.arn]
            ),
            # A worker protects its own task from scale-in while a job runs, and reads that protection back; only
            # tasks of this cluster (ECS offers no narrower resource: a task ARN is known only once it runs).
            statement(
                "ProtectOwnTaskFromScaleIn",
                ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"],
                [f"arn:{self.partition}:ecs:{self.region}:{self.account_id}:task/{self.cluster.name}/*"],
            ),
            # The database as its own user alone (IAM authentication): the token this signs is its password.
            statement(
                "ConnectAsOwnDatabaseUser",
                ["rds-db:connect"],
                [
                    f"arn:{self.partition}:rds-db:{self.region}:{self.account_id}:dbuser:"
                    f"{data.cluster.cluster_resource_id}/{self.env.data.aurora.app_user}"
                ],
            ),
            # The stream, queue and tables are encrypted with the pipeline key; only those services
            # may use it on this role's behalf.
            statement(
                "UsePipelineKey",
                ["kms:Decrypt", "kms:GenerateDataKey"],
                [data.key.arn],
                Condition={
                    "StringEquals": {"kms:ViaService": [via(s, self.region) for s in ("dynamodb", "kinesis", "sqs")]}
                },
            ),
            # PutMetricData has no resource-level permissions; the namespace condition narrows it to
            # the workers' own namespace and the consumer library's (its application name).
            statement(
                "PublishMetrics",
                ["cloudwatch:PutMetricData"],
                ["*"],
                Condition={
                    "StringEquals": {"cloudwatch:namespace": [metrics_namespace(self.env), data.consumer_app_name]}
                },
            ),
        ]
        if not polling:
            # A stream ARN authorizes nothing here: SubscribeToShard is checked against the consumer.
            statements.insert(
                1,
                statement(
                    "SubscribeAsFanOutConsumer",
                    ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"],
                    [data.stream_consumer.arn],
                ),
            )
        return statements
