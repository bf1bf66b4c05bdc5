"""Builds, in moto, the AWS resources a deployed environment has, and the outputs file that names them."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import boto3

from shared.config import EnvironmentConfig
from shared.contract import ALARM_IDS, EVENT_RULE_IDS, PAGING_ALARM_ID, SECRET_KEYS
from shared.naming import resource_name


@functools.cache
def mocked_client(service: str, region: str = "us-east-1"):
    """A boto3 client for moto's in-process mock, built once per session: building one costs ~30 ms, and
    moto answers a client's calls whenever a mock is active, whichever test built it. Only for tests
    under the `aws` fixture (dummy credentials)."""
    return boto3.client(service, region_name=region)


def create_pipeline(env: EnvironmentConfig, *, skip: frozenset[str] = frozenset()) -> dict:
    """Create the environment's resources (minus those named in `skip`); return its outputs by stack.

    `skip` takes: stream, instance, alarm:<id> (the paging alarm's too), rule:<id>, target:<id>, pager. The running task
    count follows MOTO_ECS_SERVICE_RUNNING.
    """
    region = env.aws.region
    name = lambda part: resource_name(env, part)  # noqa: E731
    kinesis = mocked_client("kinesis", region)
    stream = name("ingest")
    if "stream" not in skip:
        kinesis.create_stream(StreamName=stream, ShardCount=env.data.kinesis.shard_count)
    dlq_url = mocked_client("sqs", region).create_queue(QueueName=name("jobs-dlq"))["QueueUrl"]

    ecs = mocked_client("ecs", region)
    cluster = ecs.create_cluster(clusterName=name("workers"))["cluster"]["clusterName"]
    task = ecs.register_task_definition(
        family=name("worker"), containerDefinitions=[{"name": "worker", "image": env.compute.image, "memory": 512}]
    )["taskDefinition"]["taskDefinitionArn"]
    service = ecs.create_service(
        cluster=cluster, serviceName=name("worker"), taskDefinition=task, desiredCount=env.compute.desired_count
    )["service"]["serviceName"]

    rds = mocked_client("rds", region)
    ident = name("metadata")
    endpoint = rds.create_db_cluster(
        DBClusterIdentifier=ident,
        Engine="aurora-postgresql",
        EngineVersion=env.data.aurora.engine_version,
        MasterUsername=env.data.aurora.master_username,
        MasterUserPassword="not-a-real-password-1",
        ServerlessV2ScalingConfiguration={
            "MinCapacity": env.data.aurora.min_acu,
            "MaxCapacity": env.data.aurora.max_acu,
        },
    )["DBCluster"]["Endpoint"]
    if "instance" not in skip:
        rds.create_db_instance(
            DBInstanceIdentifier=name("metadata-1"),
            DBInstanceClass="db.serverless",
            Engine="aurora-postgresql",
            DBClusterIdentifier=ident,
        )

    # As RDS keeps the master user's secret: the username and password only.
    connection = {"username": env.data.aurora.master_username, "password": "generated"}
    if "secret_keys" in skip:
        connection.pop("password")
    secret = mocked_client("secretsmanager", region).create_secret(
        Name=name("metadata-db"), SecretString=json.dumps(connection)
    )["ARN"]
    assert set(connection) <= set(SECRET_KEYS)

    cloudwatch = mocked_client("cloudwatch", region)
    for alarm in ALARM_IDS:
        if f"alarm:{alarm}" not in skip:
            cloudwatch.put_metric_alarm(
                AlarmName=name(alarm),
                MetricName="m",
                Namespace="n",
                Statistic="Sum",
                Period=60,
                EvaluationPeriods=1,
                Threshold=0,
                ComparisonOperator="GreaterThanThreshold",
            )
    if f"alarm:{PAGING_ALARM_ID}" not in skip:
        # moto serves no PutCompositeAlarm (shared/emulator_quirks.py): its backend makes one as AWS would.
        from moto.cloudwatch.models import cloudwatch_backends
        from moto.core import DEFAULT_ACCOUNT_ID

        rule = " AND ".join(f'ALARM("{name(a)}")' for a in ("kinesis-iterator-age", "ecs-tasks-below-desired"))
        cloudwatch_backends[DEFAULT_ACCOUNT_ID][region].put_metric_alarm(
            name(PAGING_ALARM_ID), None, None, None, None, None, None, None, "", [], [], rule=rule
        )
    sns = mocked_client("sns", region)
    topic = paging = sns.create_topic(Name=name("alarms"))["TopicArn"]
    if env.monitoring.paging_endpoint:
        paging = sns.create_topic(Name=name("paging"))["TopicArn"]
        if "pager" not in skip:
            sns.subscribe(TopicArn=paging, Protocol="https", Endpoint=env.monitoring.paging_endpoint)
    events = mocked_client("events", region)
    for rule in EVENT_RULE_IDS:
        if f"rule:{rule}" not in skip:
            events.put_rule(Name=name(rule), EventPattern=json.dumps({"source": ["aws.ecs"]}))
            if f"target:{rule}" not in skip:
                events.put_targets(Rule=name(rule), Targets=[{"Id": "alarms", "Arn": topic}])
    return {
        "network": {"vpc_id": "vpc-0123"},
        "data": {
            "kinesis_stream_name": stream,
            "dlq_url": dlq_url,
            "db_secret_arn": secret,
            "rds_cluster_identifier": ident,
            "rds_cluster_endpoint": endpoint,
        },
        "compute": {"ecs_cluster_name": cluster, "ecs_service_name": service},
        "monitoring": {
            "alarm_names": [name(a) for a in ALARM_IDS],
            "alarm_topic_arn": topic,
            "paging_topic_arn": paging,
        },
    }


def write_outputs(outputs_dir: Path, env: EnvironmentConfig, outputs: dict) -> Path:
    outputs_dir.mkdir(parents=True, exist_ok=True)
    path = outputs_dir / f"{env.suffix}.json"
    path.write_text(json.dumps(outputs))
    return path
