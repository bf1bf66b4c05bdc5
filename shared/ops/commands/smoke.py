"""`make smoke`: check a deployed pipeline through the AWS APIs, from the environment's outputs.

Each check is one line of the table; any failure makes the exit code 1. Nothing here changes
the environment except one small test record put on the stream (it expires with the stream's
retention; workers must ignore records whose payload has "smoke": true).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from botocore.exceptions import ClientError

from shared.config import EnvironmentConfig
from shared.contract import ALARM_IDS, EVENT_RULE_IDS, PAGING_ALARM_ID, SECRET_KEYS
from shared.emulator_quirks import not_created
from shared.errors import OperationFailed, UsageError
from shared.naming import resource_name
from shared.ops.aws import check_credentials, client, new_session
from shared.paths import OUTPUTS_DIR


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


class _Fail(Exception):
    pass


def load_outputs(env: EnvironmentConfig, outputs_dir: Path = OUTPUTS_DIR) -> dict:
    path = outputs_dir / f"{env.suffix}.json"
    if not path.is_file():
        raise UsageError(
            f"no outputs for {env.suffix} ({path}): run make outputs ENV={env.name} (deploy writes it too)"
        )
    outputs = json.loads(path.read_text())
    missing = [
        f"{stack}.{key}"
        for stack, key in (
            ("data", "kinesis_stream_name"),
            ("data", "dlq_url"),
            ("data", "db_secret_arn"),
            ("data", "rds_cluster_identifier"),
            ("compute", "ecs_cluster_name"),
            ("compute", "ecs_service_name"),
        )
        if key not in outputs.get(stack, {})
    ]
    if missing:
        raise UsageError(f"{path} lacks {', '.join(missing)}: is every stack deployed? (make deploy ENV={env.name})")
    return outputs


def _error(exc: ClientError) -> str:
    err = exc.response.get("Error", {})
    return f"{err.get('Code', 'error')}: {err.get('Message', '')}".strip()


class Smoke:
    def __init__(self, env: EnvironmentConfig, outputs: dict):
        self.env, self.out = env, outputs
        self.stream_active = False
        self._session = new_session(env)  # one session, one client per service
        self._clients: dict[str, object] = {}

    def client(self, service: str):
        if service not in self._clients:
            self._clients[service] = client(service, self.env, session=self._session)
        return self._clients[service]

    def stream_active_check(self) -> str:
        name = self.out["data"]["kinesis_stream_name"]
        summary = self.client("kinesis").describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        if summary["StreamStatus"] != "ACTIVE":
            raise _Fail(f"{name} is {summary['StreamStatus']}")
        self.stream_active = True
        return f"{name} ACTIVE, {summary.get('OpenShardCount', '?')} open shard(s)"

    def stream_round_trip(self) -> str:
        if not self.stream_active:
            raise _Fail("skipped: the stream is not active")
        kinesis, name = self.client("kinesis"), self.out["data"]["kinesis_stream_name"]
        token = str(uuid.uuid4())
        data = json.dumps({"smoke": True, "token": token}).encode()
        put = kinesis.put_record(StreamName=name, Data=data, PartitionKey=token)
        iterator = kinesis.get_shard_iterator(
            StreamName=name,
            ShardId=put["ShardId"],
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=put["SequenceNumber"],
        )["ShardIterator"]
        for _ in range(5):  # a just-written record can take a moment to be readable
            got = kinesis.get_records(ShardIterator=iterator, Limit=10)
            if any(r["Data"] == data for r in got["Records"]):
                return f"record {token[:8]} written to {put['ShardId']} and read back"
            iterator = got["NextShardIterator"]
            time.sleep(1)
        raise _Fail(f"record {token[:8]} was written but not read back")

    def dlq(self) -> str:
        attrs = self.client("sqs").get_queue_attributes(
            QueueUrl=self.out["data"]["dlq_url"], AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return f"depth {attrs['ApproximateNumberOfMessages']}"

    def ecs_cluster(self) -> str:
        name = self.out["compute"]["ecs_cluster_name"]
        clusters = self.client("ecs").describe_clusters(clusters=[name])["clusters"]
        if not clusters:
            raise _Fail(f"{name} not found")
        if clusters[0]["status"] != "ACTIVE":
            raise _Fail(f"{name} is {clusters[0]['status']}")
        return f"{name} ACTIVE"

    def ecs_service(self) -> str:
        cluster, name = self.out["compute"]["ecs_cluster_name"], self.out["compute"]["ecs_service_name"]
        services = self.client("ecs").describe_services(cluster=cluster, services=[name])["services"]
        if not services:
            raise _Fail(f"{name} not found in {cluster}")
        svc = services[0]
        detail = f"{svc['runningCount']} of {svc['desiredCount']} tasks running"
        if svc["status"] != "ACTIVE" or svc["runningCount"] < svc["desiredCount"]:
            raise _Fail(f"{name} {svc['status']}: {detail}")
        return detail

    def aurora(self) -> str:
        rds, ident = self.client("rds"), self.out["data"]["rds_cluster_identifier"]
        try:
            (cluster,) = rds.describe_db_clusters(DBClusterIdentifier=ident)["DBClusters"]
        except ClientError as exc:
            raise _Fail(f"{ident}: {_error(exc)}") from None
        if cluster["Status"] != "available":
            raise _Fail(f"{ident} is {cluster['Status']}")
        members = [m["DBInstanceIdentifier"] for m in cluster.get("DBClusterMembers", [])]
        available = [
            i["DBInstanceIdentifier"]
            for m in members
            for i in rds.describe_db_instances(DBInstanceIdentifier=m)["DBInstances"]
            if i["DBInstanceStatus"] == "available"
        ]
        if not available:
            raise _Fail(
                f"{ident} is available but has no available instance ({len(members)} member(s)): "
                "Aurora Serverless v2 serves nothing without one"
            )
        return f"{ident} available, {len(available)} available instance(s)"

    def secret(self) -> str:
        value = self.client("secretsmanager").get_secret_value(SecretId=self.out["data"]["db_secret_arn"])
        try:
            doc = json.loads(value.get("SecretString") or "")
        except json.JSONDecodeError:
            raise _Fail("the secret is not JSON") from None
        missing = [k for k in SECRET_KEYS if not doc.get(k)] if isinstance(doc, dict) else list(SECRET_KEYS)
        if missing:
            raise _Fail(f"the secret lacks {', '.join(missing)}")
        return f"the secret has {', '.join(SECRET_KEYS)}"  # never the values

    def alarms(self) -> str:
        expected = [resource_name(self.env, a) for a in ALARM_IDS]
        if not (self.env.emulated and not_created("aws_cloudwatch_composite_alarm")):
            expected.append(resource_name(self.env, PAGING_ALARM_ID))
        pages = (
            self.client("cloudwatch")
            .get_paginator("describe_alarms")
            .paginate(AlarmNames=expected, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        )
        found = {
            a["AlarmName"] for page in pages for kind in ("MetricAlarms", "CompositeAlarms") for a in page.get(kind, [])
        }
        missing = [a for a in expected if a not in found]
        if missing:
            raise _Fail(f"missing {', '.join(missing)}")
        return f"all {len(expected)} alarms exist"

    def event_rules(self) -> str:
        events = self.client("events")
        problems = []
        for rule in (resource_name(self.env, r) for r in EVENT_RULE_IDS):
            try:
                state = events.describe_rule(Name=rule)["State"]
            except ClientError as exc:
                if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                    raise
                problems.append(f"{rule} is missing")
                continue
            if state != "ENABLED":
                problems.append(f"{rule} is {state}")
                continue
            targets = [t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]]
            topic = self.out.get("monitoring", {}).get("alarm_topic_arn")
            if not targets or (topic and topic not in targets):
                problems.append(f"{rule} does not send to the alarm topic")
        if problems:
            raise _Fail("; ".join(problems))
        return f"all {len(EVENT_RULE_IDS)} rules send to the alarm topic"

    def pager(self) -> str:
        """The paging endpoint confirmed its subscription: until it does, SNS sends it nothing and nobody is paged."""
        endpoint, topic = self.env.monitoring.paging_endpoint, self.out.get("monitoring", {}).get("paging_topic_arn")
        if endpoint is None:
            return "no paging endpoint in this environment"
        sns = self.client("sns")
        found = [
            s for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] if s["Endpoint"] == endpoint
        ]
        if not found:
            raise _Fail(f"{topic} has no subscription of {endpoint}")
        arn = found[0]["SubscriptionArn"]
        pending = arn == "PendingConfirmation" or (
            sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"].get("PendingConfirmation") == "true"
        )
        if pending:
            raise _Fail(f"{endpoint} has not confirmed its subscription: is monitoring.paging_endpoint right?")
        return f"{endpoint} is subscribed and confirmed"

    def checks(self) -> list[tuple[str, Callable[[], str]]]:
        return [
            ("stream is active", self.stream_active_check),
            ("stream record round trip", self.stream_round_trip),
            ("dead-letter queue", self.dlq),
            ("ECS cluster is active", self.ecs_cluster),
            ("service runs desired count", self.ecs_service),
            ("Aurora cluster and instance", self.aurora),
            ("database secret", self.secret),
            ("alarms exist", self.alarms),
            ("ECS events reach the alarm topic", self.event_rules),
            ("the paging endpoint listens", self.pager),
        ]

    def run(self) -> list[Check]:
        results = []
        for name, check in self.checks():
            try:
                results.append(Check(name, True, check()))
            except _Fail as exc:
                results.append(Check(name, False, str(exc)))
            except ClientError as exc:
                results.append(Check(name, False, _error(exc)))
        return results


def print_table(env: EnvironmentConfig, results: list[Check]) -> None:
    print(f"smoke {env.suffix}:")
    width = max(len(r.name) for r in results)
    for r in results:
        print(f"  {r.name:<{width}}  {'pass' if r.ok else 'FAIL'}  {r.detail}")
    failed = sum(not r.ok for r in results)
    print(f"{len(results) - failed} passed, {failed} failed")


def run(env: EnvironmentConfig, outputs_dir: Path = OUTPUTS_DIR) -> None:
    """Every check, as a table; raises OperationFailed when one fails."""
    outputs = load_outputs(env, outputs_dir)
    check_credentials(env)
    results = Smoke(env, outputs).run()
    print_table(env, results)
    if failed := [r.name for r in results if not r.ok]:
        raise OperationFailed(f"smoke of {env.suffix}: {', '.join(failed)} failed (see above)")
