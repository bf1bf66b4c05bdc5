"""The monitoring stack: an encrypted alarm topic, the pipeline's CloudWatch alarms and its dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from constructs import Construct
from shared.cdk.aws.cloudwatch_dashboard import CloudwatchDashboard
from shared.cdk.aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from shared.cdk.aws.sns_topic import SnsTopic
from shared.cdk.aws.sns_topic_subscription import SnsTopicSubscription

from shared.config import EnvironmentConfig
from shared.contract import ALARM_IDS
from shared.stack import PipelineStack
from stacks.compute import ComputeStack, consumer_lag_metric
from stacks.data import DataStack


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: dict[str, str]
    statistic: str = "Sum"
    period: int = 300


@dataclass(frozen=True)
class AlarmSpec:
    id: str
    description: str
    metric: Metric
    comparison: str
    threshold: float
    missing: str  # what a silence means: every alarm says so on purpose
    evaluation_periods: int = 1
    datapoints: int | None = None
    expression: str | None = None  # metric math over m1 (the metric) and m2 (the `other` metric)
    other: Metric | None = field(default=None)


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
        self.alarms = [self._alarm(spec) for spec in specs]
        self.alarm_names = [a.alarm_name for a in self.alarms]

        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=self.name("pipeline"),
            dashboard_body=json.dumps(self._dashboard(data, compute), sort_keys=True),
        )

        self.output("alarm_topic_arn", self.topic.arn, "ARN of the SNS topic every alarm notifies.")
        self.output("alarm_names", self.alarm_names, "Names of the pipeline's CloudWatch alarms.")
        self.output("dashboard_name", self.dashboard.dashboard_name, "Name of the pipeline's CloudWatch dashboard.")

    def _specs(self, data: DataStack, compute: ComputeStack) -> list[AlarmSpec]:
        mon, aurora = self.env.monitoring, self.env.data.aurora
        stream = {"StreamName": data.stream.name}
        service = {"ClusterName": compute.cluster.name, "ServiceName": compute.service.name}
        cluster = {"DBClusterIdentifier": data.cluster.cluster_identifier}
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
                      Metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": data.dlq.name},
                             "Maximum", 300),
                      "GreaterThanThreshold", 0, "notBreaching"),
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
            AlarmSpec("aurora-cpu-high", "The metadata database runs hot on CPU",
                      Metric("AWS/RDS", "CPUUtilization", cluster, "Average", 300),
                      "GreaterThanThreshold", mon.aurora_cpu_percent, "notBreaching", 3, 3),
        ]  # fmt: skip

    def _lag(self, data: DataStack) -> tuple[str, str, dict[str, str]]:
        return consumer_lag_metric(self.env, data.stream.name, data.consumer_app_name)

    def _alarm(self, spec: AlarmSpec) -> CloudwatchMetricAlarm:
        common = dict(
            alarm_name=self.name(spec.id),
            alarm_description=spec.description,
            comparison_operator=spec.comparison,
            threshold=spec.threshold,
            evaluation_periods=spec.evaluation_periods,
            datapoints_to_alarm=spec.datapoints or spec.evaluation_periods,
            treat_missing_data=spec.missing,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
        )
        m = spec.metric
        if spec.expression is None:
            return CloudwatchMetricAlarm(
                self,
                spec.id,
                namespace=m.namespace,
                metric_name=m.name,
                dimensions=m.dimensions,
                statistic=m.statistic,
                period=m.period,
                **common,
            )
        queries = [
            CloudwatchMetricAlarmMetricQuery(
                id=qid,
                return_data=False,
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace=q.namespace,
                    metric_name=q.name,
                    dimensions=q.dimensions,
                    stat=q.statistic,
                    period=q.period,
                ),
            )
            for qid, q in (("m1", m), ("m2", spec.other))
        ]
        queries.append(
            CloudwatchMetricAlarmMetricQuery(id="e1", expression=spec.expression, label=spec.id, return_data=True)
        )
        return CloudwatchMetricAlarm(self, spec.id, metric_query=queries, **common)

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
