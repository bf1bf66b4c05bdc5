"""monitoring: encrypted alarm topic, one alarm per failure mode, each notifying and deliberate about silence."""

from __future__ import annotations

import json

import pytest

from shared.contract import ALARM_IDS
from tests.support.synthesized import ENVIRONMENTS

S = "monitoring"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_topic_is_encrypted(synth, env):
    topic = synth.one(S, env, "aws_sns_topic")
    assert topic["name"] == f"streamflix-alarms-{env}"
    assert topic["kms_master_key_id"].startswith(
        f"${{data.terraform_remote_state.cross-stack-reference-input-data-{env}"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_exists_notifies_and_treats_missing_data_on_purpose(synth, env):
    alarms = synth.resources(S, env, "aws_cloudwatch_metric_alarm")
    assert sorted(alarms) == sorted(ALARM_IDS)
    for alarm_id, alarm in alarms.items():
        assert alarm["alarm_name"] == f"streamflix-{alarm_id}-{env}"
        assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"] == alarm["ok_actions"]
        assert alarm["treat_missing_data"] in ("breaching", "notBreaching")
        assert alarm["alarm_description"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_metrics(synth, configs, env):
    alarms = synth.resources(S, env, "aws_cloudwatch_metric_alarm")
    assert alarms["kinesis-write-throttled"]["metric_name"] == "WriteProvisionedThroughputExceeded"
    assert alarms["kinesis-read-throttled"]["metric_name"] == "ReadProvisionedThroughputExceeded"
    assert alarms["kinesis-iterator-age"]["threshold"] == configs[env].monitoring.iterator_age_ms
    dlq = alarms["dlq-messages"]
    assert (dlq["metric_name"], dlq["comparison_operator"], dlq["threshold"]) == (
        "ApproximateNumberOfMessagesVisible",
        "GreaterThanThreshold",
        0,
    )
    capacity = alarms["aurora-capacity-high"]
    assert capacity["threshold"] == pytest.approx(configs[env].data.aurora.max_acu * 0.9)
    below = alarms["ecs-tasks-below-desired"]
    assert {q["id"]: q.get("expression") for q in below["metric_query"]}["e1"] == "m1 - m2"
    assert below["treat_missing_data"] == "breaching"


def test_thresholds_follow_the_environment_sizing(synth):
    def capacity(env):
        return synth.resources(S, env, "aws_cloudwatch_metric_alarm")["aurora-capacity-high"]["threshold"]

    assert capacity("dev") < capacity("staging") < capacity("prod")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dashboard_shows_the_pipeline(synth, env):
    dashboard = synth.one(S, env, "aws_cloudwatch_dashboard")
    assert dashboard["dashboard_name"] == f"streamflix-pipeline-{env}"
    body = json.loads(dashboard["dashboard_body"])
    namespaces = {w["properties"]["metrics"][0][0] for w in body["widgets"] if w["type"] == "metric"}
    assert namespaces == {"AWS/Kinesis", "AWS/SQS", "AWS/ECS", "ECS/ContainerInsights", "AWS/RDS"}
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert len(alarm_widget["properties"]["alarms"]) == len(ALARM_IDS)


def test_subscriptions_come_from_config(variants):
    subs = variants.resources(S, "alerted", "aws_sns_topic_subscription")
    assert sorted((s["protocol"], s["endpoint"]) for s in subs.values()) == [
        ("email", "oncall@example.com"),
        ("https", "https://hooks.example.com/alarms"),
    ]
    assert all(s["topic_arn"] == "${aws_sns_topic.alarms.arn}" for s in subs.values())


@pytest.mark.parametrize(
    ("source", "env", "metric", "dimensions"),
    [
        ("synth", "dev", "GetRecords.IteratorAgeMilliseconds", ["StreamName"]),
        ("synth", "prod", "GetRecords.IteratorAgeMilliseconds", ["StreamName"]),
        ("synth", "local", "SubscribeToShardEvent.MillisBehindLatest", ["ConsumerName", "StreamName"]),
        ("variants", "fanout", "SubscribeToShardEvent.MillisBehindLatest", ["ConsumerName", "StreamName"]),
    ],
)
def test_the_lag_alarm_and_graph_read_the_metric_the_consumer_mode_emits(request, source, env, metric, dimensions):
    # A fan-out consumer never calls GetRecords: an iterator-age alarm would sit in ALARM for want of
    # data ("breaching" on silence). Each mode's alarm reads the lag metric it does emit.
    synthesized = request.getfixturevalue(source)
    alarm = synthesized.resources(S, env, "aws_cloudwatch_metric_alarm")["kinesis-iterator-age"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/Kinesis", metric, "Maximum")
    assert sorted(alarm["dimensions"]) == dimensions
    if "ConsumerName" in dimensions:
        assert alarm["dimensions"]["ConsumerName"] == f"streamflix-video-worker-{env}"
    body = json.loads(synthesized.one(S, env, "aws_cloudwatch_dashboard")["dashboard_body"])
    (lag,) = [w for w in body["widgets"] if w["properties"].get("title") == "Ingest stream: consumer lag (ms)"]
    assert lag["properties"]["metrics"][0][:2] == ["AWS/Kinesis", metric]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_reads_shard_level_metrics(synth, env):
    # The stream enables none (they cost per shard): no alarm or graph may depend on one.
    for alarm in synth.resources(S, env, "aws_cloudwatch_metric_alarm").values():
        queries = [q["metric"] for q in alarm.get("metric_query", []) if "metric" in q]
        for dims in [alarm.get("dimensions", {})] + [q.get("dimensions", {}) for q in queries]:
            assert "ShardId" not in dims
    assert "ShardId" not in synth.one(S, env, "aws_cloudwatch_dashboard")["dashboard_body"]


def test_alarm_names_are_an_output(synth):
    out = synth.outputs(S, "prod")["alarm_names"]
    assert len(out["value"]) == len(ALARM_IDS) and out["description"]
