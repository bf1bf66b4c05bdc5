"""A CloudWatch metric alarm from a frozen spec: one metric, or metric math over two; every alarm says what a
silence means."""

from __future__ import annotations

from dataclasses import dataclass, field

from constructs import Construct

from shared.cdk.aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)


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
    notify: bool = True  # False: an alarm only ECS watches (a deployment's), another one notifies for it


def metric_alarm(scope: Construct, spec: AlarmSpec, *, name: str, topic_arn: str) -> CloudwatchMetricAlarm:
    """The alarm of `spec` in `scope` (its construct id is the spec's id), notifying `topic_arn` unless it is
    an alarm only ECS watches."""
    common = dict(
        alarm_name=name,
        alarm_description=spec.description,
        comparison_operator=spec.comparison,
        threshold=spec.threshold,
        evaluation_periods=spec.evaluation_periods,
        datapoints_to_alarm=spec.datapoints or spec.evaluation_periods,
        treat_missing_data=spec.missing,
        alarm_actions=[topic_arn] if spec.notify else [],
        ok_actions=[topic_arn] if spec.notify else [],
    )
    m = spec.metric
    if spec.expression is None:
        return CloudwatchMetricAlarm(
            scope,
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
    return CloudwatchMetricAlarm(scope, spec.id, metric_query=queries, **common)
