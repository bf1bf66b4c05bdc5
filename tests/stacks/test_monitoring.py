"""monitoring: encrypted alarm topic, one alarm per failure mode, each notifying and deliberate about silence."""

from __future__ import annotations

import json

import pytest

from shared.contract import ALARM_IDS
from tests.support.synthesized import ENVIRONMENTS

S = "monitoring"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_topic_is_encrypted(synth, env):
    topics = synth.resources(S, env, "aws_sns_topic")
    assert topics["alarms"]["name"] == f"streamflix-alarms-{env}"
    for topic in topics.values():  # the paging topic too, where there is one
        assert topic["kms_master_key_id"].startswith(
            f"${{data.terraform_remote_state.cross-stack-reference-input-data-{env}"
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_alarm_exists_notifies_and_treats_missing_data_on_purpose(synth, env):
    alarms = synth.resources(S, env, "aws_cloudwatch_metric_alarm")
    assert sorted(alarms) == sorted(ALARM_IDS)
    for alarm_id, alarm in alarms.items():
        assert alarm["alarm_name"] == f"streamflix-{alarm_id}-{env}"
        # One alarm only ECS watches while it deploys: dlq-messages notifies about the same failed jobs.
        topic = [] if alarm_id == "dlq-jobs-failing" else ["${aws_sns_topic.alarms.arn}"]
        assert alarm["alarm_actions"] == topic == alarm["ok_actions"], alarm_id
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


def queries(alarm: dict) -> dict[str, dict]:
    return {q["id"]: q for q in alarm["metric_query"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_databases_alarms_watch_the_writer_and_the_readers_by_role(synth, configs, env):
    alarms = synth.resources(S, env, "aws_cloudwatch_metric_alarm")
    aurora, mon = configs[env].data.aurora, configs[env].monitoring
    # The cluster's CPU averages the writer with idle readers: a saturated writer would never alarm.
    assert alarms["aurora-cpu-high"]["dimensions"]["Role"] == "WRITER"
    connections = alarms["aurora-connections-high"]
    assert connections["dimensions"]["Role"] == "WRITER"
    at_max = min(int(aurora.max_acu * 2 * 1024**3 / 9_531_392), 5000)
    assert connections["threshold"] == round(at_max * mon.aurora_connections_percent / 100)
    memory = queries(alarms["aurora-freeable-memory-low"])
    assert (memory["m1"]["metric"]["metric_name"], memory["m1"]["metric"]["dimensions"]["Role"]) == (
        "FreeableMemory",
        "WRITER",
    )
    assert memory["m2"]["metric"]["metric_name"] == "ServerlessDatabaseCapacity"
    # Low memory only counts at max_acu, where the instance cannot grow out of it.
    limit = round(aurora.max_acu * 2 * 1024**3 * mon.aurora_freeable_memory_percent / 100)
    assert memory["e1"]["expression"] == f"IF(m2 >= {aurora.max_acu:g} AND m1 < {limit}, 1, 0)"
    lag = alarms["aurora-replica-lag"]
    assert (lag["metric_name"], lag["dimensions"]["Role"], lag["threshold"]) == (
        "AuroraReplicaLag",
        "READER",
        mon.aurora_replica_lag_ms,
    )
    assert lag["treat_missing_data"] == "notBreaching"  # one instance has no reader, and that is fine


def test_the_connections_threshold_follows_max_acu_and_aurora_caps_it():
    from stacks.monitoring import max_connections

    assert max_connections(1) == 225 and max_connections(16) == 3604
    assert max_connections(128) == 5000


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_jobs_are_watched_before_they_expire_and_as_they_arrive(synth, configs, env):
    alarms = synth.resources(S, env, "aws_cloudwatch_metric_alarm")
    age = alarms["dlq-oldest-message-age"]
    retention = configs[env].data.dlq.retention_days * 86_400
    assert age["metric_name"] == "ApproximateAgeOfOldestMessage" and age["statistic"] == "Maximum"
    assert age["threshold"] == round(retention * configs[env].monitoring.dlq_age_percent / 100) < retention
    failing = alarms["dlq-jobs-failing"]
    assert (failing["metric_name"], failing["statistic"], failing["threshold"]) == ("NumberOfMessagesSent", "Sum", 0)
    # Jobs that keep failing, not one bad input: 3 of 5 minutes, or one bad video rolls back a good release.
    assert (failing["period"], failing["evaluation_periods"], failing["datapoints_to_alarm"]) == (60, 5, 3)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_lease_table_throttling_counts_reads_and_writes_even_when_one_is_silent(synth, env):
    alarm = synth.resources(S, env, "aws_cloudwatch_metric_alarm")["lease-table-throttled"]
    q = queries(alarm)
    assert {q["m1"]["metric"]["metric_name"], q["m2"]["metric"]["metric_name"]} == {
        "ReadThrottleEvents",
        "WriteThrottleEvents",
    }
    table = f"${{{DATA.format(env=env)}aws_dynamodb_table{LEASES}name}}"
    assert q["m1"]["metric"]["dimensions"] == {"TableName": table}
    # DynamoDB reports throttle events only when there are some: without FILL, m1 + m2 would be missing.
    assert q["e1"]["expression"] == "FILL(m1, 0) + FILL(m2, 0)"


DATA = "data.terraform_remote_state.cross-stack-reference-input-data-{env}.outputs.cross-stack-output-"
LEASES = "lease_tables_leases_EDB2B455"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_ecs_deployment_failures_and_unexpected_worker_stops_reach_the_alarm_topic(synth, env):
    rules = synth.resources(S, env, "aws_cloudwatch_event_rule")
    assert sorted(rules) == ["worker-deployment-failed", "worker-stopped-unexpectedly"]
    failed = json.loads(rules["worker-deployment-failed"]["event_pattern"])
    assert failed["detail-type"] == ["ECS Deployment State Change"]
    assert failed["detail"] == {"eventName": ["SERVICE_DEPLOYMENT_FAILED"]}
    compute = DATA.replace("data-", "compute-").format(env=env)
    assert failed["resources"] == ["${" + compute + "aws_ecs_serviceserviceid}"]
    stopped = json.loads(rules["worker-stopped-unexpectedly"]["event_pattern"])["detail"]
    assert stopped["lastStatus"] == ["STOPPED"] and stopped["group"][0].startswith("service:${")
    # A worker stopped by a deploy or a scale-in is not news: only crashes, failed starts and failed health checks.
    assert stopped["$or"] == [
        {"stopCode": ["EssentialContainerExited", "TaskFailedToStart"]},
        {"stoppedReason": [{"prefix": "Task failed container health checks"}]},
    ]
    targets = synth.resources(S, env, "aws_cloudwatch_event_target")
    assert sorted((t["rule"], t["arn"]) for t in targets.values()) == [
        (f"${{aws_cloudwatch_event_rule.{r}.name}}", "${aws_sns_topic.alarms.arn}") for r in sorted(rules)
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_this_accounts_alarms_and_this_stacks_rules_may_publish_to_the_alarm_topic(synth, env):
    from tests.support.synthesized import policy

    doc = policy(synth.one(S, env, "aws_sns_topic_policy"))
    by_sid = {s["Sid"]: s for s in doc["Statement"]}
    assert sorted(by_sid) == ["AccountAdministers", "CloudWatchAlarmsPublish", "EcsEventsPublish"]
    assert all(s["Effect"] == "Allow" and s["Resource"] == "${aws_sns_topic.alarms.arn}" for s in by_sid.values())
    assert by_sid["CloudWatchAlarmsPublish"]["Condition"]["StringEquals"]["aws:SourceAccount"]
    assert by_sid["EcsEventsPublish"]["Condition"] == {
        "ArnEquals": {
            "aws:SourceArn": [
                "${aws_cloudwatch_event_rule.worker-deployment-failed.arn}",
                "${aws_cloudwatch_event_rule.worker-stopped-unexpectedly.arn}",
            ]
        }
    }
    assert not any(s["Principal"] == "*" or s["Principal"] == {"AWS": "*"} for s in by_sid.values())
    # EventBridge publishes to a topic encrypted with the pipeline key: the key lets it, for this account only.
    key = policy(synth.at("data", env, "aws_kms_key", "key/key"))
    (grant,) = [s for s in key["Statement"] if s["Sid"] == "EcsEventsPublish"]
    assert grant["Principal"] == {"Service": "events.amazonaws.com"} and grant["Condition"]["StringEquals"]


def test_workers_missing_while_work_piles_up_pages_the_paging_endpoint(synth, configs):
    alarm = synth.one(S, "prod", "aws_cloudwatch_composite_alarm")
    assert alarm["alarm_name"] == "streamflix-workers-missing-while-work-piles-up-prod"
    assert alarm["alarm_rule"] == (
        'ALARM("${aws_cloudwatch_metric_alarm.kinesis-iterator-age.alarm_name}") AND '
        'ALARM("${aws_cloudwatch_metric_alarm.ecs-tasks-below-desired.alarm_name}")'
    )
    assert alarm["alarm_actions"] == ["${aws_sns_topic.paging.arn}"] == alarm["ok_actions"]
    paging = synth.resources(S, "prod", "aws_sns_topic")["paging"]
    assert paging["name"] == "streamflix-paging-prod" and paging["kms_master_key_id"]
    pager = [s for s in synth.resources(S, "prod", "aws_sns_topic_subscription").values() if s["protocol"] == "https"]
    assert pager == [
        {**pager[0], "topic_arn": "${aws_sns_topic.paging.arn}", "endpoint": configs["prod"].monitoring.paging_endpoint}
    ]
    assert synth.outputs(S, "prod")["paging_topic_arn"]["value"] == "${aws_sns_topic.paging.arn}"
    # The deploy does not wait for the paging service to confirm (a wrong URL would fail it half-applied).
    assert "endpoint_auto_confirms" not in pager[0]


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_without_a_paging_endpoint_the_composite_alarm_notifies_the_alarm_topic(synth, env):
    alarm = synth.one(S, env, "aws_cloudwatch_composite_alarm")
    assert alarm["alarm_actions"] == ["${aws_sns_topic.alarms.arn}"]
    assert sorted(synth.resources(S, env, "aws_sns_topic")) == ["alarms"]


def test_an_emulated_environment_leaves_out_the_composite_alarm_it_cannot_make(synth):
    assert synth.resources(S, "local", "aws_cloudwatch_composite_alarm") == {}
    assert synth.resources(S, "local", "aws_cloudwatch_event_rule")  # what the emulator serves is still made
