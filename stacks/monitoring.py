"""The monitoring stack: an encrypted alarm topic, the pipeline's CloudWatch alarms, the ECS events that reach the
topic, the composite alarm that pages, and the dashboard."""

from __future__ import annotations

import json

from constructs import Construct
from shared.cdk.aws.cloudwatch_composite_alarm import CloudwatchCompositeAlarm
from shared.cdk.aws.cloudwatch_dashboard import CloudwatchDashboard
from shared.cdk.aws.cloudwatch_event_rule import CloudwatchEventRule
from shared.cdk.aws.cloudwatch_event_target import CloudwatchEventTarget
from shared.cdk.aws.sns_topic import SnsTopic
from shared.cdk.aws.sns_topic_policy import SnsTopicPolicy
from shared.cdk.aws.sns_topic_subscription import SnsTopicSubscription

from shared.components.alarms import AlarmSpec, Metric, metric_alarm
from shared.config import EnvironmentConfig
from shared.contract import ALARM_IDS, EVENT_RULE_IDS, PAGING_ALARM_ID
from shared.emulator_quirks import not_created
from shared.stack import PipelineStack
from stacks.compute import ComputeStack, consumer_lag_metric
from stacks.data import DataStack

# Aurora Serverless v2 gives each ACU about 2 GiB of memory.
ACU_MEMORY_BYTES = 2 * 1024**3
# What SNS's default topic policy lets the owning account do; a topic policy of our own keeps it.
TOPIC_OWNER_ACTIONS = [
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:GetTopicAttributes",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
    "sns:RemovePermission",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
]


def max_connections(max_acu: float) -> int:
    """Aurora PostgreSQL's default max_connections at max_acu: LEAST(DBInstanceClassMemory / 9531392, 5000) on
    the memory at max_acu. DBInstanceClassMemory is a little less than that memory, so this errs a few percent
    high: the connections alarm's share (80% by default) leaves room for it."""
    return min(int(max_acu * ACU_MEMORY_BYTES / 9_531_392), 5000)


class MonitoringStack(PipelineStack):
    """Alarms notify `topic`; `alarm_names` lists every alarm this stack owns."""

    stack_name = "monitoring"

    def __init__(self, scope: Construct, *, env: EnvironmentConfig, data: DataStack, compute: ComputeStack) -> None:
        super().__init__(scope, env=env)
        self.topic = SnsTopic(self, "alarms", name=self.name("alarms"), kms_master_key_id=data.key.arn)
        for i, email in enumerate(env.monitoring.alarm_emails):
            SnsTopicSubscription(self, f"alarm_email_{i}", topic_arn=self.topic.arn, protocol="email", endpoint=email)
        for i, url in enumerate(env.monitoring.alarm_https_endpoints):
            SnsTopicSubscription(
                self,
                f"alarm_https_{i}",
                topic_arn=self.topic.arn,
                protocol="https",
                endpoint=url,
                endpoint_auto_confirms=True,
            )

        specs = self._specs(data, compute)
        if tuple(s.id for s in specs) != ALARM_IDS:  # smoke checks for exactly these
            raise RuntimeError("shared/contract.py ALARM_IDS and the monitoring stack's alarms differ")
        self.alarms = [metric_alarm(self, spec, name=self.name(spec.id), topic_arn=self.topic.arn) for spec in specs]
        self.alarm_names = [a.alarm_name for a in self.alarms]

        self.event_rules = self._ecs_events(compute)
        self._topic_policy()
        self.paging_alarm = self._paging(data)

        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.name("pipeline"),
            dashboard_body=json.dumps(self._dashboard(data, compute), sort_keys=True),
        )

        self.output("alarm_topic_arn", self.topic.arn, "ARN of the SNS topic every alarm notifies.")
        self.output("alarm_names", self.alarm_names, "Names of the pipeline's CloudWatch alarms.")
        self.output(
            "event_rule_names",
            [r.name for r in self.event_rules],
            "Names of the EventBridge rules that send ECS deployment failures and unexpected worker stops to the "
            "alarm topic.",
        )
        self.output(
            "paging_topic_arn",
            self.paging_topic.arn,
            "ARN of the SNS topic the paging alarm notifies (the alarm topic where no paging endpoint is set).",
        )
        self.output("dashboard_name", self.dashboard.dashboard_name, "Name of the pipeline's CloudWatch dashboard.")

    def _specs(self, data: DataStack, compute: ComputeStack) -> list[AlarmSpec]:
        mon, aurora = self.env.monitoring, self.env.data.aurora
        stream = {"StreamName": data.stream.name}
        dlq = {"QueueName": data.dlq.name}
        service = {"ClusterName": compute.cluster.name, "ServiceName": compute.service.name}
        cluster = {"DBClusterIdentifier": data.cluster.cluster_identifier}
        # Cluster metrics average the writer with idle readers: a saturated writer must not hide behind them.
        writer, readers = {**cluster, "Role": "WRITER"}, {**cluster, "Role": "READER"}
        lease_table = {"TableName": data.lease_tables.lease_table.name}
        retention_s = self.env.data.dlq.retention_days * 86_400
        memory_at_max = aurora.max_acu * ACU_MEMORY_BYTES
        return [
            # No traffic means no throttling: silence is fine for the throttle and DLQ alarms.
            AlarmSpec("kinesis-write-throttled", "Producers are throttled writing to the ingest stream",
                      Metric("AWS/Kinesis", "WriteProvisionedThroughputExceeded", stream),
                      "GreaterThanThreshold", 0, "notBreaching"),
            AlarmSpec("kinesis-read-throttled", "Workers are throttled reading the ingest stream",
                      Metric("AWS/Kinesis", "ReadProvisionedThroughputExceeded", stream),
                      "GreaterThanThreshold", 0, "notBreaching"),
            # The lag metric of the consumer mode in use; idle workers still report it (0), so silence
            # means nobody is consuming.
            AlarmSpec("kinesis-iterator-age", "Workers lag behind the ingest stream",
                      Metric(*self._lag(data), "Maximum", 60),
                      "GreaterThanThreshold", mon.iterator_age_ms, "breaching", 5, 3),
            AlarmSpec("dlq-messages", "Failed jobs are waiting in the dead-letter queue",
                      Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", dlq, "Maximum", 300),
                      "GreaterThanThreshold", 0, "notBreaching"),
            # SQS deletes a failed job unseen when its retention ends: warn while half of it (by default) is left.
            AlarmSpec("dlq-oldest-message-age", "A failed job nears the end of its retention in the dead-letter queue",
                      Metric("AWS/SQS", "ApproximateAgeOfOldestMessage", dlq, "Maximum", 300),
                      "GreaterThanThreshold", round(retention_s * mon.dlq_age_percent / 100), "notBreaching"),
            # New failures, not the backlog: a deployment watches this one (a backlog from before it must not
            # fail it), and dlq-messages already notifies about the same jobs. Jobs failing in 3 of 5 minutes,
            # so that one bad input video during a deploy does not roll back a good release.
            AlarmSpec("dlq-jobs-failing", "Workers keep sending failed jobs to the dead-letter queue",
                      Metric("AWS/SQS", "NumberOfMessagesSent", dlq, "Sum", 60),
                      "GreaterThanThreshold", 0, "notBreaching", 5, 3, notify=False),
            # With no tasks there is no CPU or memory data; ecs-tasks-below-desired covers that case.
            AlarmSpec("ecs-cpu-high", "Video workers run hot on CPU",
                      Metric("AWS/ECS", "CPUUtilization", service, "Average", 60),
                      "GreaterThanThreshold", mon.ecs_cpu_percent, "notBreaching", 5, 3),
            AlarmSpec("ecs-memory-high", "Video workers run short of memory",
                      Metric("AWS/ECS", "MemoryUtilization", service, "Average", 60),
                      "GreaterThanThreshold", mon.ecs_memory_percent, "notBreaching", 5, 3),
            # Container Insights reports both counts every minute; silence means it cannot see the service.
            AlarmSpec("ecs-tasks-below-desired", "Fewer video workers run than the service wants",
                      Metric("ECS/ContainerInsights", "DesiredTaskCount", service, "Average", 60),
                      "GreaterThanThreshold", 0, "breaching", 5, 5,
                      expression="m1 - m2",
                      other=Metric("ECS/ContainerInsights", "RunningTaskCount", service, "Average", 60)),
            AlarmSpec("aurora-capacity-high", "The metadata database nears its maximum capacity",
                      Metric("AWS/RDS", "ServerlessDatabaseCapacity", cluster, "Average", 300),
                      "GreaterThanOrEqualToThreshold",
                      round(aurora.max_acu * mon.aurora_capacity_percent / 100, 2), "notBreaching", 3, 3),
            AlarmSpec("aurora-cpu-high", "The metadata database's writer runs hot on CPU",
                      Metric("AWS/RDS", "CPUUtilization", writer, "Average", 300),
                      "GreaterThanThreshold", mon.aurora_cpu_percent, "notBreaching", 3, 3),
            # Serverless v2 adds memory as it scales: little freeable memory matters only at max_acu, where it
            # cannot grow any more (below it, low memory is what makes it scale up).
            AlarmSpec("aurora-freeable-memory-low", "The metadata database's writer runs out of memory at max_acu",
                      Metric("AWS/RDS", "FreeableMemory", writer, "Minimum", 300),
                      "GreaterThanThreshold", 0, "notBreaching", 3, 3,
                      expression=f"IF(m2 >= {aurora.max_acu:g} AND m1 < "
                                 f"{round(memory_at_max * mon.aurora_freeable_memory_percent / 100)}, 1, 0)",
                      other=Metric("AWS/RDS", "ServerlessDatabaseCapacity", writer, "Maximum", 300)),
            AlarmSpec("aurora-connections-high", "The metadata database's writer nears max_connections",
                      Metric("AWS/RDS", "DatabaseConnections", writer, "Maximum", 300),
                      "GreaterThanThreshold",
                      round(max_connections(aurora.max_acu) * mon.aurora_connections_percent / 100),
                      "notBreaching", 2, 2),
            # Only readers report it: with one instance it is silent, and silence is fine.
            AlarmSpec("aurora-replica-lag", "The metadata database's readers fall behind the writer",
                      Metric("AWS/RDS", "AuroraReplicaLag", readers, "Maximum", 60),
                      "GreaterThanThreshold", mon.aurora_replica_lag_ms, "notBreaching", 5, 3),
            # DynamoDB reports throttle events only when there are some: FILL turns their absence into zero.
            AlarmSpec("lease-table-throttled", "Workers are throttled keeping their leases and checkpoints",
                      Metric("AWS/DynamoDB", "ReadThrottleEvents", lease_table),
                      "GreaterThanThreshold", 0, "notBreaching",
                      expression="FILL(m1, 0) + FILL(m2, 0)",
                      other=Metric("AWS/DynamoDB", "WriteThrottleEvents", lease_table)),
        ]  # fmt: skip

    def _lag(self, data: DataStack) -> tuple[str, str, dict[str, str]]:
        return consumer_lag_metric(self.env, data.stream.name, data.consumer_app_name)

    def _ecs_events(self, compute: ComputeStack) -> list[CloudwatchEventRule]:
        """ECS's own events, which no metric carries, sent to the alarm topic: a deployment that failed (ECS rolls
        it back), and a worker that stopped on its own: it crashed, could not start, or failed its health check.
        A worker stopped by a deploy or a scale-in (stopCode ServiceSchedulerInitiated) is not news."""
        patterns = {
            "worker-deployment-failed": (
                "A deployment of the video workers failed; ECS rolls it back",
                {
                    "source": ["aws.ecs"],
                    "detail-type": ["ECS Deployment State Change"],
                    "resources": [compute.service.id],  # the service's ARN
                    "detail": {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]},
                },
            ),
            "worker-stopped-unexpectedly": (
                "A video worker crashed, could not start, or failed its health check",
                {
                    "source": ["aws.ecs"],
                    "detail-type": ["ECS Task State Change"],
                    "detail": {
                        "clusterArn": [compute.cluster.arn],
                        "group": [f"service:{compute.service.name}"],
                        "lastStatus": ["STOPPED"],
                        "$or": [
                            {"stopCode": ["EssentialContainerExited", "TaskFailedToStart"]},
                            {"stoppedReason": [{"prefix": "Task failed container health checks"}]},
                        ],
                    },
                },
            ),
        }
        if tuple(patterns) != EVENT_RULE_IDS:  # smoke checks for exactly these
            raise RuntimeError("shared/contract.py EVENT_RULE_IDS and the monitoring stack's rules differ")
        rules = []
        for rule_id, (description, pattern) in patterns.items():
            rule = CloudwatchEventRule(
                self,
                rule_id,
                name=self.name(rule_id),
                description=description,
                event_pattern=json.dumps(pattern, sort_keys=True),
            )
            CloudwatchEventTarget(self, f"{rule_id}-to-topic", rule=rule.name, arn=self.topic.arn, target_id="alarms")
            rules.append(rule)
        return rules

    def _topic_policy(self) -> None:
        """Who may publish to the alarm topic. A topic policy replaces SNS's default one, so the account keeps what
        that gave it; CloudWatch publishes for this account's alarms, EventBridge for this stack's rules only."""
        topic = self.topic.arn
        SnsTopicPolicy(
            self,
            "alarms_policy",
            arn=topic,
            policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AccountAdministers",
                            "Effect": "Allow",
                            "Principal": {"AWS": f"arn:{self.partition}:iam::{self.account_id}:root"},
                            "Action": TOPIC_OWNER_ACTIONS,
                            "Resource": topic,
                        },
                        {
                            "Sid": "CloudWatchAlarmsPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "cloudwatch.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": topic,
                            "Condition": {"StringEquals": {"aws:SourceAccount": self.account_id}},
                        },
                        {
                            "Sid": "EcsEventsPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": topic,
                            "Condition": {"ArnEquals": {"aws:SourceArn": [r.arn for r in self.event_rules]}},
                        },
                    ],
                },
                sort_keys=True,
            ),
        )

    def _paging(self, data: DataStack) -> CloudwatchCompositeAlarm | None:
        """Work piling up while workers are missing: the one alarm that wakes someone. Either alone has a benign
        cause (a burst the workers catch up on, a task being replaced); both at once is an outage. It pages
        through a topic of its own that only the paging service subscribes to, so the pager gets no e-mail
        alarms and the e-mail list gets no pages; without a paging endpoint it notifies the alarm topic."""
        endpoint = self.env.monitoring.paging_endpoint
        target = self.topic
        if endpoint is not None:
            target = SnsTopic(self, "paging", name=self.name("paging"), kms_master_key_id=data.key.arn)
            # A paging service confirms the subscription on its own; the deploy does not wait for it (a wrong URL
            # would fail the monitoring stack half-applied): make smoke says whether it did.
            SnsTopicSubscription(self, "paging_https", topic_arn=target.arn, protocol="https", endpoint=endpoint)
        self.paging_topic = target
        if self.env.emulated and not_created("aws_cloudwatch_composite_alarm"):
            return None  # the emulator cannot make one (shared/emulator_quirks.py)
        by_id = dict(zip(ALARM_IDS, self.alarms, strict=True))
        return CloudwatchCompositeAlarm(
            self,
            PAGING_ALARM_ID,
            alarm_name=self.name(PAGING_ALARM_ID),
            alarm_description="Work piles up on the ingest stream while video workers are missing: page",
            alarm_rule=" AND ".join(
                f'ALARM("{by_id[a].alarm_name}")' for a in ("kinesis-iterator-age", "ecs-tasks-below-desired")
            ),
            alarm_actions=[target.arn],
            ok_actions=[target.arn],
        )

    def _dashboard(self, data: DataStack, compute: ComputeStack) -> dict:
        region = self.env.aws.region
        stream, dlq = data.stream.name, data.dlq.name
        cluster, service = compute.cluster.name, compute.service.name
        db = data.cluster.cluster_identifier
        lag_namespace, lag_metric, lag_dimensions = self._lag(data)

        def graph(title: str, metrics: list[list], x: int, y: int) -> dict:
            return {
                "type": "metric",
                "x": x,
                "y": y,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": region,
                    "metrics": metrics,
                    "view": "timeSeries",
                    "stat": "Sum",
                    "period": 300,
                },
            }

        return {
            "widgets": [
                graph("Ingest stream: records in", [["AWS/Kinesis", "IncomingRecords", "StreamName", stream]], 0, 0),
                graph(
                    "Ingest stream: consumer lag (ms)",
                    [
                        [
                            lag_namespace,
                            lag_metric,
                            *[x for kv in lag_dimensions.items() for x in kv],
                            {"stat": "Maximum"},
                        ]
                    ],
                    12,
                    0,
                ),
                graph(
                    "Dead-letter queue depth",
                    [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", dlq, {"stat": "Maximum"}]],
                    0,
                    6,
                ),
                graph(
                    "Workers: running vs desired tasks",
                    [
                        [
                            "ECS/ContainerInsights",
                            "RunningTaskCount",
                            "ClusterName",
                            cluster,
                            "ServiceName",
                            service,
                            {"stat": "Average"},
                        ],
                        [".", "DesiredTaskCount", ".", ".", ".", ".", {"stat": "Average"}],
                    ],
                    12,
                    6,
                ),
                graph(
                    "Workers: CPU and memory (%)",
                    [
                        [
                            "AWS/ECS",
                            "CPUUtilization",
                            "ClusterName",
                            cluster,
                            "ServiceName",
                            service,
                            {"stat": "Average"},
                        ],
                        [".", "MemoryUtilization", ".", ".", ".", ".", {"stat": "Average"}],
                    ],
                    0,
                    12,
                ),
                graph(
                    "Database: capacity (ACU) and CPU (%)",
                    [
                        ["AWS/RDS", "ServerlessDatabaseCapacity", "DBClusterIdentifier", db, {"stat": "Average"}],
                        [".", "CPUUtilization", ".", ".", {"stat": "Average"}],
                    ],
                    12,
                    12,
                ),
                {
                    "type": "alarm",
                    "x": 0,
                    "y": 18,
                    "width": 24,
                    "height": 4,
                    "properties": {"title": "Pipeline alarms", "alarms": [a.arn for a in self.alarms]},
                },
            ]
        }
