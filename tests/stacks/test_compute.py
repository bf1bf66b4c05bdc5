"""compute: ECS cluster, least-privilege roles scoped to exact ARNs, the Fargate service and its scaling."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from tests.support.synthesized import ENVIRONMENTS, policy

S = "compute"


def remote(env: str, stack: str, output: str) -> str:
    state = f"data.terraform_remote_state.cross-stack-reference-input-{stack}-{env}"
    return f"${{{state}.outputs.cross-stack-output-{output}}}"


def statements(synth, env: str, name: str) -> dict[str, dict]:
    doc = policy(synth.resources(S, env, "aws_iam_role_policy")[name])
    return {s["Sid"]: s for s in doc["Statement"]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_has_container_insights(synth, env):
    cluster = synth.one(S, env, "aws_ecs_cluster")
    assert cluster["name"] == f"streamflix-workers-{env}"
    assert cluster["setting"] == [{"name": "containerInsights", "value": "enabled"}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_log_group_retention_and_encryption(synth, configs, env):
    group = synth.one(S, env, "aws_cloudwatch_log_group")
    assert group["retention_in_days"] == configs[env].logs.retention_days
    assert group["kms_key_id"] == remote(env, "data", "aws_kms_keykey_F64E54E4arn")


def test_dev_keeps_task_logs_seven_days(synth):
    assert synth.one(S, "dev", "aws_cloudwatch_log_group")["retention_in_days"] == 7


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_execution_role_writes_logs_and_reads_no_secret(synth, env):
    """The workers log in with an IAM token: the agent injects no credential, so it reads no secret."""
    stmts = statements(synth, env, "execution_policy")
    assert set(stmts) == {"WriteTaskLogs"}  # public image: no ECR
    assert stmts["WriteTaskLogs"]["Resource"] == ["${aws_cloudwatch_log_group.task_logs_group_C5B4B06E.arn}:*"]
    assert "secretsmanager" not in json.dumps(synth.stack(S, env)["resource"]["aws_iam_role_policy"])


LEASES = "aws_dynamodb_tablelease_tables_leases_EDB2B455arn"
COORDINATION = (
    "aws_dynamodb_tablelease_tables_worker_metrics_7C106EC2arn",
    "aws_dynamodb_tablelease_tables_coordinator_state_8AAC4F29arn",
)
ITEM_ACTIONS = [
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
]


def task_role_is_least_privilege(stmts: dict[str, dict], env: str, region: str) -> None:
    """What a KCL worker in either consumer mode may do, and nothing more."""
    assert stmts["ReadIngestStream"]["Resource"] == [remote(env, "data", "aws_kinesis_streamstreamarn")]
    assert not {"kinesis:PutRecord", "kinesis:RegisterStreamConsumer"} & set(stmts["ReadIngestStream"]["Action"])
    # Leases and checkpoints: exactly KCL's item operations on its three tables; the tables and the
    # index exist already, so no CreateTable/UpdateTable/DeleteTable.
    assert (stmts["KeepLeasesAndCheckpoints"]["Action"], stmts["KeepLeasesAndCheckpoints"]["Resource"]) == (
        ITEM_ACTIONS,
        [remote(env, "data", LEASES)],
    )
    assert (stmts["FindOwnLeases"]["Action"], stmts["FindOwnLeases"]["Resource"]) == (
        ["dynamodb:Query"],
        [remote(env, "data", LEASES) + "/index/LeaseOwnerToLeaseKeyIndex"],
    )
    assert stmts["CoordinateWorkers"]["Action"] == ITEM_ACTIONS
    assert stmts["CoordinateWorkers"]["Resource"] == [remote(env, "data", c) for c in COORDINATION]
    assert stmts["SendFailedJobs"]["Resource"] == [remote(env, "data", "aws_sqs_queuedlqarn")]
    assert "sqs:DeleteMessage" not in stmts["SendFailedJobs"]["Action"]
    key = stmts["UsePipelineKey"]
    assert key["Resource"] == [remote(env, "data", "aws_kms_keykey_F64E54E4arn")]
    assert key["Condition"] == {
        "StringEquals": {
            "kms:ViaService": [f"{service}.{region}.amazonaws.com" for service in ("dynamodb", "kinesis", "sqs")]
        }
    }
    # The database as the workers' own user, in this environment's cluster alone: never the master.
    connect = stmts["ConnectAsOwnDatabaseUser"]
    cluster_id = remote(env, "data", "aws_rds_clusterclustercluster_resource_id")
    assert (connect["Action"], connect["Resource"]) == (
        ["rds-db:connect"],
        [
            f"arn:aws:rds-db:{region}:${{data.aws_caller_identity.caller.account_id}}:dbuser:{cluster_id}/pipeline_worker"
        ],
    ), connect
    metrics = stmts["PublishMetrics"]
    assert metrics["Action"] == ["cloudwatch:PutMetricData"] and metrics["Resource"] == ["*"]
    # The workers' own namespace and the consumer library's (its application name), nothing else.
    assert metrics["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": [f"StreamFlix/{env}", f"streamflix-video-worker-{env}"]}
    }


POLLING = [e for e in ENVIRONMENTS if load_environment(e).data.kinesis.consumer == "polling"]
# (fixture, env) of every synthesized environment with an enhanced fan-out consumer.
FAN_OUT = [("variants", "fanout")] + [("synth", e) for e in ENVIRONMENTS if e not in POLLING]


@pytest.mark.parametrize("env", POLLING)
def test_a_polling_worker_reads_records_and_keeps_its_leases_nothing_more(synth, configs, env):
    stmts = statements(synth, env, "task_policy")
    task_role_is_least_privilege(stmts, env, configs[env].aws.region)
    assert stmts["ReadIngestStream"]["Action"] == [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:ListShards",
    ]
    assert "SubscribeAsFanOutConsumer" not in stmts  # SubscribeToShard on a stream ARN would authorize nothing


@pytest.mark.parametrize(("source", "env"), FAN_OUT)
def test_a_fan_out_worker_subscribes_through_its_registered_consumer(request, source, env):
    variants = request.getfixturevalue(source)
    doc = policy(variants.resources(S, env, "aws_iam_role_policy")["task_policy"])
    stmts = {s["Sid"]: s for s in doc["Statement"]}
    task_role_is_least_privilege(stmts, env, "us-east-1")
    # No polling: GetRecords and GetShardIterator go; the consumer ARN is what SubscribeToShard checks.
    assert stmts["ReadIngestStream"]["Action"] == [
        "kinesis:DescribeStream",
        "kinesis:DescribeStreamSummary",
        "kinesis:ListShards",
    ]
    fan_out = stmts["SubscribeAsFanOutConsumer"]
    assert fan_out["Action"] == ["kinesis:DescribeStreamConsumer", "kinesis:SubscribeToShard"]
    assert fan_out["Resource"] == [remote(env, "data", "aws_kinesis_stream_consumerstream_consumerarn")]
    (container,) = json.loads(variants.one(S, env, "aws_ecs_task_definition")["container_definitions"])
    envvars = {e["name"]: e["value"] for e in container["environment"]}
    assert envvars["CONSUMER_MODE"] == "enhanced_fan_out"
    assert envvars["STREAM_CONSUMER_ARN"] == remote(env, "data", "aws_kinesis_stream_consumerstream_consumerarn")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_wildcard_actions_and_star_resources_only_where_aws_has_nothing_narrower(synth, env):
    allowed_star = {"cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"}
    for name in ("execution_policy", "task_policy"):
        for stmt in statements(synth, env, name).values():
            assert not any(a == "*" or a.endswith(":*") for a in stmt["Action"])
            if "*" in stmt["Resource"]:
                assert set(stmt["Action"]) <= allowed_star, stmt


def test_an_ecr_image_gets_pull_rights_on_its_repository_only(variants):
    doc = variants.stack(S, "ecr")
    stmts = {s["Sid"]: s for s in policy(doc["resource"]["aws_iam_role_policy"]["execution_policy"])["Statement"]}
    assert stmts["PullWorkerImage"]["Resource"] == ["arn:aws:ecr:us-east-1:123456789012:repository/video/worker"]
    login = stmts["RegistryLogin"]
    assert (login["Action"], login["Resource"]) == (["ecr:GetAuthorizationToken"], ["*"])
    (container,) = json.loads(doc["resource"]["aws_ecs_task_definition"]["task"]["container_definitions"])
    assert container["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/video/worker:2.3.1"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_roles_trust_ecs_tasks_of_this_account_only(synth, env):
    for role in synth.resources(S, env, "aws_iam_role").values():
        (trust,) = policy(role, "assume_role_policy")["Statement"]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"] == {
            "StringEquals": {"aws:SourceAccount": "${data.aws_caller_identity.caller.account_id}"}
        }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_definition_sizing_and_container_wiring(synth, configs, env):
    task = synth.one(S, env, "aws_ecs_task_definition")
    cfg = configs[env].compute
    assert (task["cpu"], task["memory"]) == (str(cfg.cpu), str(cfg.memory))
    assert task["requires_compatibilities"] == ["FARGATE"] and task["network_mode"] == "awsvpc"
    (container,) = json.loads(task["container_definitions"])
    envvars = {e["name"]: e["value"] for e in container["environment"]}
    assert envvars["KINESIS_STREAM_NAME"] == remote(env, "data", "aws_kinesis_streamstreamname")
    assert envvars["DLQ_URL"] == remote(env, "data", "aws_sqs_queuedlqurl")
    # The KCL application: its lease table, its name (also its metrics namespace), how it reads.
    assert envvars["LEASE_TABLE_NAME"] == remote(env, "data", "aws_dynamodb_tablelease_tables_leases_EDB2B455name")
    assert envvars["CONSUMER_APP_NAME"] == f"streamflix-video-worker-{env}"
    assert envvars["CONSUMER_MODE"] == configs[env].data.kinesis.consumer
    assert ("STREAM_CONSUMER_ARN" in envvars) is (configs[env].data.kinesis.consumer == "enhanced_fan_out")
    # Their own user by IAM token: no credential injected, the master's least of all.
    assert "secrets" not in container
    assert (envvars["DB_USER"], envvars["DB_AUTH"]) == (configs[env].data.aurora.app_user, "iam")
    assert envvars["DB_USER"] != configs[env].data.aurora.master_username
    assert envvars["DB_HOST"] == remote(env, "data", "aws_rds_clusterclusterendpoint")
    assert (envvars["DB_PORT"], envvars["DB_ENGINE"]) == ("5432", "postgres")
    assert envvars["DB_DBNAME"] == configs[env].data.aurora.database_name
    # The master's password is not theirs: nothing to roll the tasks on when it changes.
    assert not any("PASSWORD" in name for name in envvars)
    assert container["logConfiguration"]["options"]["awslogs-group"] == (
        "${aws_cloudwatch_log_group.task_logs_group_C5B4B06E.name}"
    )
    assert container["readonlyRootFilesystem"] is True


def test_a_generated_master_password_reaches_no_worker_and_its_version_rolls_nothing(variants):
    """A password the stack generates is the master's: a new version changes the data stack, never the workers."""
    rotated, generated = (variants.one(S, v, "aws_ecs_task_definition") for v in ("rotated", "generated"))
    assert "secrets" not in json.loads(rotated["container_definitions"])[0]
    same = [
        t["container_definitions"].replace(v, "<suffix>") for t, v in ((rotated, "rotated"), (generated, "generated"))
    ]
    assert same[0] == same[1]
    assert "ReadDatabaseSecret" not in statements(variants, "rotated", "execution_policy")


@pytest.mark.parametrize(("env", "public"), [("dev", True), ("staging", False), ("prod", False)])
def test_service_runs_in_the_subnets_the_environment_calls_for(synth, env, public):
    service = synth.one(S, env, "aws_ecs_service")
    net = service["network_configuration"]
    assert net["assign_public_ip"] is public
    tier = "public" if public else "private"
    assert net["subnets"] and all(f"aws_subnet{tier}_" in s for s in net["subnets"])
    assert net["security_groups"] == [remote(env, "network", "aws_security_grouptask_sgid")]
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    assert service["launch_type"] == "FARGATE"


SCALING = [e for e in ENVIRONMENTS if load_environment(e).compute.autoscaling]


def scaling_policies(synthesized, env: str) -> dict[str, dict]:
    return {
        name: p["target_tracking_scaling_policy_configuration"]
        for name, p in synthesized.resources(S, env, "aws_appautoscaling_policy").items()
    }


@pytest.mark.parametrize("env", SCALING)
def test_auto_scaling_between_min_and_max_on_lag_first_and_cpu_second(synth, configs, env):
    cfg = configs[env].compute
    target = synth.one(S, env, "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (cfg.min_count, cfg.max_count)
    assert target["resource_id"] == "service/${aws_ecs_cluster.cluster.name}/${aws_ecs_service.service.name}"
    policies = scaling_policies(synth, env)
    assert sorted(policies) == ["scaling_cpu", "scaling_lag"]
    cpu, lag = policies["scaling_cpu"], policies["scaling_lag"]
    assert cpu["target_value"] == cfg.cpu_target_percent
    assert cpu["predefined_metric_specification"]["predefined_metric_type"] == "ECSServiceAverageCPUUtilization"
    # Polling workers' lag is the stream's iterator age, worst shard first.
    assert lag["target_value"] == cfg.lag_target_ms
    assert lag["customized_metric_specification"] == {
        "namespace": "AWS/Kinesis",
        "metric_name": "GetRecords.IteratorAgeMilliseconds",
        "statistic": "Maximum",
        "dimensions": [{"name": "StreamName", "value": remote(env, "data", "aws_kinesis_streamstreamname")}],
    }
    assert synth.one(S, env, "aws_ecs_service")["desired_count"] == cfg.desired_count


def test_fan_out_workers_scale_on_millis_behind_latest(variants):
    lag = scaling_policies(variants, "fanout")["scaling_lag"]["customized_metric_specification"]
    assert lag["metric_name"] == "SubscribeToShardEvent.MillisBehindLatest" and lag["statistic"] == "Maximum"
    assert lag["dimensions"] == [
        {"name": "StreamName", "value": remote("fanout", "data", "aws_kinesis_streamstreamname")},
        {"name": "ConsumerName", "value": "streamflix-video-worker-fanout"},
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_fixed_count_without_autoscaling(synth, configs, env):
    service = synth.one(S, env, "aws_ecs_service")
    if configs[env].compute.autoscaling:
        # Auto scaling owns the count after the first deploy; a redeploy must not reset it.
        assert service["lifecycle"] == {"ignore_changes": ["desired_count"]}
        return
    assert synth.resources(S, env, "aws_appautoscaling_target") == {}
    assert synth.resources(S, env, "aws_appautoscaling_policy") == {}
    # Nobody else owns the count: a deploy restores it.
    assert "desired_count" not in service.get("lifecycle", {}).get("ignore_changes", [])


def test_ecs_cluster_name_is_an_output(synth):
    out = synth.outputs(S, "dev")["ecs_cluster_name"]
    assert out["value"] == "${aws_ecs_cluster.cluster.name}" and out["description"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_service_waits_for_its_roles_policies(synth, configs, env):
    service = synth.one(S, env, "aws_ecs_service")
    providers = ["aws_ecs_cluster_capacity_providers.capacity_providers"] if configs[env].compute.spot_percent else []
    assert sorted(service["depends_on"]) == [
        *providers,
        "aws_iam_role_policy.execution_policy",
        "aws_iam_role_policy.task_policy",
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_worker_has_scratch_space_and_a_read_only_root(synth, configs, env):
    task = synth.one(S, env, "aws_ecs_task_definition")
    assert task["ephemeral_storage"] == {"size_in_gib": configs[env].compute.ephemeral_storage_gib}
    assert task["volume"] == [{"name": "scratch"}]
    (container,) = json.loads(task["container_definitions"])
    assert container["readonlyRootFilesystem"] is True
    assert {m["containerPath"] for m in container["mountPoints"] if m["sourceVolume"] == "scratch"} == {"/tmp", "/work"}
    assert container["workingDirectory"] == "/work"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_worker_gets_its_stop_timeout_and_a_health_check_that_catches_a_hung_one(synth, configs, env):
    cfg = configs[env].compute
    (container,) = json.loads(synth.one(S, env, "aws_ecs_task_definition")["container_definitions"])
    # Fargate's default of 30 s cuts a checkpoint short; 120 s is its maximum.
    assert container["stopTimeout"] == cfg.stop_timeout_seconds == 120
    check = container["healthCheck"]
    assert check["command"] == list(cfg.health_check_command)
    assert check["command"][0] == "CMD-SHELL" and "/tmp/worker-heartbeat -mmin -2" in check["command"][1]
    assert check["startPeriod"] == cfg.health_check_start_period_seconds
    # Three failures 30 s apart: a stale heartbeat replaces the worker within about two minutes.
    assert (check["interval"], check["timeout"], check["retries"]) == (30, 5, 3)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_deployment_that_starts_workers_that_do_not_work_is_rolled_back(synth, env):
    from shared.contract import DEPLOYMENT_ALARM_IDS

    service = synth.one(S, env, "aws_ecs_service")
    names = [f"streamflix-{a}-{env}" for a in DEPLOYMENT_ALARM_IDS]
    assert service["alarms"] == {"alarm_names": names, "enable": True, "rollback": True}
    assert service["deployment_circuit_breaker"] == {"enable": True, "rollback": True}
    # Named, not referenced: each is an alarm the monitoring stack makes, under exactly that name.
    made = {a["alarm_name"] for a in synth.resources("monitoring", env, "aws_cloudwatch_metric_alarm").values()}
    assert set(names) <= made


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_worker_may_protect_tasks_of_its_own_cluster_from_scale_in_and_nothing_else(synth, env):
    protect = statements(synth, env, "task_policy")["ProtectOwnTaskFromScaleIn"]
    assert protect["Action"] == ["ecs:GetTaskProtection", "ecs:UpdateTaskProtection"]
    (resource,) = protect["Resource"]
    assert resource.startswith("arn:aws:ecs:") and resource.endswith(":task/${aws_ecs_cluster.cluster.name}/*")
    assert not any("ecs:" in a for s in statements(synth, env, "execution_policy").values() for a in s["Action"])


def test_a_shell_variable_in_the_health_check_reaches_the_container_as_written():
    from shared.components.worker_container import worker_container
    from shared.config.compute import ComputeConfig

    cfg = ComputeConfig(health_check_command=("CMD-SHELL", "curl -f localhost:${PORT}/health || exit 1"))
    command = worker_container(cfg, environment=[], log_group="g", region="us-east-1")["healthCheck"]
    # $${ is the engine's escape: it hands the container ${PORT}, where a bare ${PORT} would be its own reference.
    assert command["command"] == ["CMD-SHELL", "curl -f localhost:$${PORT}/health || exit 1"]


def test_spot_shares_the_tasks_past_one_on_fargate_through_the_clusters_capacity_providers(variants, synth):
    """compute.spot_percent: a capacity provider strategy instead of a launch type, one task always on Fargate."""
    service = variants.one(S, "spot", "aws_ecs_service")
    assert "launch_type" not in service
    assert service["capacity_provider_strategy"] == [
        {"capacity_provider": "FARGATE", "weight": 50, "base": 1},
        {"capacity_provider": "FARGATE_SPOT", "weight": 50},
    ]
    providers = variants.one(S, "spot", "aws_ecs_cluster_capacity_providers")
    assert providers["capacity_providers"] == ["FARGATE", "FARGATE_SPOT"]
    assert providers["cluster_name"] == "${aws_ecs_cluster.cluster.name}"
    assert "aws_ecs_cluster_capacity_providers.capacity_providers" in service["depends_on"]
    for env in ENVIRONMENTS:  # off by default, everywhere
        assert synth.one(S, env, "aws_ecs_service")["launch_type"] == "FARGATE"
        assert "aws_ecs_cluster_capacity_providers" not in synth.stack(S, env)["resource"]
