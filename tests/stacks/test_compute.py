"""compute: ECS cluster, least-privilege roles scoped to exact ARNs, the Fargate service and its scaling."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from tests.conftest import ENVIRONMENTS, policy

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
def test_execution_role_reads_only_this_secret_with_only_this_key(synth, env):
    stmts = statements(synth, env, "execution_policy")
    assert set(stmts) == {"WriteTaskLogs", "ReadDatabaseSecret", "DecryptDatabaseSecret"}  # public image: no ECR
    assert stmts["ReadDatabaseSecret"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert stmts["ReadDatabaseSecret"]["Resource"] == [remote(env, "data", "aws_secretsmanager_secretdb_secretarn")]
    assert stmts["DecryptDatabaseSecret"]["Resource"] == [remote(env, "data", "aws_kms_keykey_F64E54E4arn")]
    assert stmts["WriteTaskLogs"]["Resource"] == ["${aws_cloudwatch_log_group.task_logs_group_C5B4B06E.arn}:*"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_task_role_reads_only_this_stream_and_sends_only_to_this_dlq(synth, env):
    stmts = statements(synth, env, "task_policy")
    assert stmts["ReadIngestStream"]["Resource"] == [remote(env, "data", "aws_kinesis_streamstreamarn")]
    assert "kinesis:PutRecord" not in stmts["ReadIngestStream"]["Action"]
    assert stmts["SendFailedJobs"]["Resource"] == [remote(env, "data", "aws_sqs_queuedlqarn")]
    assert "sqs:DeleteMessage" not in stmts["SendFailedJobs"]["Action"]
    metrics = stmts["PublishMetrics"]
    assert metrics["Action"] == ["cloudwatch:PutMetricData"] and metrics["Resource"] == ["*"]
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": f"StreamFlix/{env}"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_wildcard_actions_and_star_resources_only_where_aws_has_nothing_narrower(synth, env):
    allowed_star = {"cloudwatch:PutMetricData", "ecr:GetAuthorizationToken"}
    for name in ("execution_policy", "task_policy"):
        for stmt in statements(synth, env, name).values():
            assert not any(a == "*" or a.endswith(":*") for a in stmt["Action"])
            if "*" in stmt["Resource"]:
                assert set(stmt["Action"]) <= allowed_star, stmt


def test_an_ecr_image_gets_pull_rights_on_its_repository_only(tmp_path):
    from shared.app import synthesize

    env = load_environment("dev")
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/video/worker:2.3.1"
    env = env.model_copy(update={"compute": env.compute.model_copy(update={"image": image})})
    out = synthesize([env], tmp_path / "out")
    doc = json.loads((out / "stacks/compute-dev/cdk.tf.json").read_text())
    stmts = {s["Sid"]: s for s in policy(doc["resource"]["aws_iam_role_policy"]["execution_policy"])["Statement"]}
    assert stmts["PullWorkerImage"]["Resource"] == ["arn:aws:ecr:us-east-1:123456789012:repository/video/worker"]
    login = stmts["RegistryLogin"]
    assert (login["Action"], login["Resource"]) == (["ecr:GetAuthorizationToken"], ["*"])
    (container,) = json.loads(doc["resource"]["aws_ecs_task_definition"]["task"]["container_definitions"])
    assert container["image"] == image


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
    secret = remote(env, "data", "aws_secretsmanager_secretdb_secretarn")
    assert {s["name"]: s["valueFrom"] for s in container["secrets"]} == {
        f"DB_{k.upper()}": f"{secret}:{k}::" for k in ("engine", "host", "port", "dbname", "username", "password")
    }
    assert container["logConfiguration"]["options"]["awslogs-group"] == (
        "${aws_cloudwatch_log_group.task_logs_group_C5B4B06E.name}"
    )
    assert container["readonlyRootFilesystem"] is True


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


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if load_environment(e).compute.autoscaling])
def test_auto_scaling_between_min_and_max_on_cpu(synth, configs, env):
    cfg = configs[env].compute
    target = synth.one(S, env, "aws_appautoscaling_target")
    assert (target["min_capacity"], target["max_capacity"]) == (cfg.min_count, cfg.max_count)
    assert target["resource_id"] == "service/${aws_ecs_cluster.cluster.name}/${aws_ecs_service.service.name}"
    scaling = synth.one(S, env, "aws_appautoscaling_policy")["target_tracking_scaling_policy_configuration"]
    assert scaling["target_value"] == cfg.cpu_target_percent
    assert scaling["predefined_metric_specification"]["predefined_metric_type"] == "ECSServiceAverageCPUUtilization"
    assert synth.one(S, env, "aws_ecs_service")["desired_count"] == cfg.desired_count


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_fixed_count_without_autoscaling(synth, configs, env):
    service = synth.one(S, env, "aws_ecs_service")
    if configs[env].compute.autoscaling:
        # Auto scaling owns the count after the first deploy; a redeploy must not reset it.
        assert service["lifecycle"] == {"ignore_changes": ["desired_count"]}
        return
    assert synth.resources(S, env, "aws_appautoscaling_target") == {}
    assert synth.resources(S, env, "aws_appautoscaling_policy") == {}
    assert "lifecycle" not in service  # nobody else owns the count: a deploy restores it


def test_ecs_cluster_name_is_an_output(synth):
    out = synth.outputs(S, "dev")["ecs_cluster_name"]
    assert out["value"] == "${aws_ecs_cluster.cluster.name}" and out["description"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_service_waits_for_its_roles_policies(synth, env):
    service = synth.one(S, env, "aws_ecs_service")
    assert sorted(service["depends_on"]) == ["aws_iam_role_policy.execution_policy", "aws_iam_role_policy.task_policy"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_worker_has_scratch_space_and_a_read_only_root(synth, configs, env):
    task = synth.one(S, env, "aws_ecs_task_definition")
    assert task["ephemeral_storage"] == {"size_in_gib": configs[env].compute.ephemeral_storage_gib}
    assert task["volume"] == [{"name": "scratch"}]
    (container,) = json.loads(task["container_definitions"])
    assert container["readonlyRootFilesystem"] is True
    assert {m["containerPath"] for m in container["mountPoints"] if m["sourceVolume"] == "scratch"} == {"/tmp", "/work"}
    assert container["workingDirectory"] == "/work"
