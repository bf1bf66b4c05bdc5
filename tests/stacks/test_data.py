"""data: KMS key, Kinesis, DLQ, random password in Secrets Manager, Aurora Serverless v2 with instances."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ENVIRONMENTS, policy, remote_state_config

S = "data"
KEY = re.compile(r"^\$\{aws_kms_key\.key_[0-9A-F]+\.arn\}$")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_customer_managed_key_rotates_and_has_an_alias(synth, env):
    key = synth.one(S, env, "aws_kms_key")
    assert key["enable_key_rotation"] is True
    assert synth.one(S, env, "aws_kms_alias")["name"] == f"alias/streamflix-pipeline-{env}"
    statements = policy(key)["Statement"]
    logs = next(s for s in statements if s["Sid"] == "CloudWatchLogsEncrypts")
    # CloudWatch Logs may use the key for this environment's log groups only
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert all(f"/streamflix/{env}/" in a or f"streamflix-metadata-{env}/" in a for a in arns)
    for stmt in statements:
        assert "*" not in stmt["Action"] and "kms:*" not in stmt["Action"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stream_is_sized_per_environment_and_encrypted(synth, configs, env):
    stream = synth.one(S, env, "aws_kinesis_stream")
    cfg = configs[env].data.kinesis
    assert stream["name"] == f"streamflix-ingest-{env}"
    assert stream["shard_count"] == cfg.shard_count
    assert stream["retention_period"] == cfg.retention_hours
    assert stream["encryption_type"] == "KMS" and KEY.match(stream["kms_key_id"])
    assert stream["stream_mode_details"]["stream_mode"] == "PROVISIONED"


def test_on_demand_stream_has_no_shard_count(tmp_path):
    import json

    from shared.app import synthesize
    from shared.config import load_environment

    env = load_environment("dev")
    kinesis = env.data.kinesis.model_copy(update={"mode": "on_demand"})
    env = env.model_copy(update={"data": env.data.model_copy(update={"kinesis": kinesis})})
    out = synthesize([env], tmp_path / "out")
    stream = json.loads((out / "stacks/data-dev/cdk.tf.json").read_text())["resource"]["aws_kinesis_stream"]["stream"]
    assert stream["stream_mode_details"] == {"stream_mode": "ON_DEMAND"} and "shard_count" not in stream


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dlq_keeps_failed_jobs_14_days_encrypted_and_over_tls_only(synth, env):
    dlq = synth.one(S, env, "aws_sqs_queue")
    assert dlq["name"] == f"streamflix-jobs-dlq-{env}"
    assert dlq["message_retention_seconds"] == 14 * 86400
    assert KEY.match(dlq["kms_master_key_id"])
    (deny,) = policy(synth.one(S, env, "aws_sqs_queue_policy"))["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_password_comes_from_random_password(synth, env):
    pw = synth.one(S, env, "random_password")
    assert pw["length"] >= 32 and pw["special"] is True
    assert not set(pw["override_special"]) & set('/@" ')  # characters RDS refuses
    cluster = synth.one(S, env, "aws_rds_cluster")
    assert cluster["master_password"] == "${random_password.db_password.result}"
    secret_value = synth.one(S, env, "aws_secretsmanager_secret_version")["secret_string"]
    assert '"password" = random_password.db_password.result' in secret_value


def _strings(node, path=()):
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _strings(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _strings(v, (*path, str(i)))
    elif isinstance(node, str):
        yield path, node


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_literal_password_anywhere(synth, env):
    for stack in ("network", "data", "compute", "monitoring"):
        for path, value in _strings(synth.stack(stack, env)):
            if "password" in path[-1].lower() and path[-1] != "override_special":
                assert value.startswith("${"), f"{stack}-{env} {'.'.join(path)} is a literal"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_secret_holds_the_connection_json_and_is_encrypted(synth, configs, env):
    secret = synth.one(S, env, "aws_secretsmanager_secret")
    assert KEY.match(secret["kms_key_id"])
    assert secret["recovery_window_in_days"] == configs[env].data.secret_recovery_window_days
    value = synth.one(S, env, "aws_secretsmanager_secret_version")["secret_string"]
    for key in ("engine", "host", "port", "dbname", "username", "password"):
        assert f'"{key}" =' in value
    assert '"host" = aws_rds_cluster.cluster.endpoint' in value


def test_secret_is_deletable_at_once_outside_prod(configs):
    assert configs["dev"].data.secret_recovery_window_days == 0
    assert configs["staging"].data.secret_recovery_window_days == 0
    assert configs["prod"].data.secret_recovery_window_days >= 7


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_aurora_serverless_v2_cluster(synth, configs, env):
    cfg = configs[env].data.aurora
    cluster = synth.one(S, env, "aws_rds_cluster")
    assert cluster["cluster_identifier"] == f"streamflix-metadata-{env}"
    assert (cluster["engine"], cluster["engine_mode"]) == ("aurora-postgresql", "provisioned")
    assert cluster["serverlessv2_scaling_configuration"] == {"min_capacity": cfg.min_acu, "max_capacity": cfg.max_acu}
    assert cluster["storage_encrypted"] is True and KEY.match(cluster["kms_key_id"])
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["backup_retention_period"] == cfg.backup_retention_days
    assert cluster["vpc_security_group_ids"] == [
        f"${{data.terraform_remote_state.cross-stack-reference-input-network-{env}"
        ".outputs.cross-stack-output-aws_security_groupdb_sgid}"
    ]
    params = synth.one(S, env, "aws_rds_cluster_parameter_group")
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameter"]  # TLS in transit


@pytest.mark.parametrize(
    ("env", "protected"), [("dev", False), ("staging", False), ("prod", True)]
)  # fmt: skip
def test_only_prod_is_protected_from_deletion(synth, env, protected):
    cluster = synth.one(S, env, "aws_rds_cluster")
    assert cluster["deletion_protection"] is protected
    assert cluster["skip_final_snapshot"] is (not protected)
    assert ("final_snapshot_identifier" in cluster) is protected


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_cluster_has_serverless_instances_spread_over_azs(synth, configs, env):
    instances = list(synth.resources(S, env, "aws_rds_cluster_instance").values())
    assert len(instances) == configs[env].data.aurora.instances >= 1
    assert all(i["instance_class"] == "db.serverless" for i in instances)
    assert all(i["cluster_identifier"] == "${aws_rds_cluster.cluster.id}" for i in instances)
    assert all(i["publicly_accessible"] is False for i in instances)
    assert len({i["availability_zone"] for i in instances}) == len(instances)
    assert [i["identifier"] for i in instances] == [
        f"streamflix-metadata-{n}-{env}" for n in range(1, len(instances) + 1)
    ]


def test_prod_has_two_or_more_instances(synth):
    assert len(synth.resources(S, "prod", "aws_rds_cluster_instance")) >= 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_database_lives_in_the_private_subnets(synth, env):
    group = synth.one(S, env, "aws_db_subnet_group")
    assert all("aws_subnetprivate_" in s for s in group["subnet_ids"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_outputs_of_the_contract(synth, env):
    outputs = synth.outputs(S, env)
    assert outputs["kinesis_stream_name"]["value"] == "${aws_kinesis_stream.stream.name}"
    assert outputs["rds_cluster_endpoint"]["value"] == "${aws_rds_cluster.cluster.endpoint}"
    assert outputs["dlq_url"]["value"] == "${aws_sqs_queue.dlq.url}"
    assert outputs["db_secret_arn"]["value"] == "${aws_secretsmanager_secret.db_secret.arn}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reads_its_own_environments_network_state(synth, configs, env):
    remote = synth.stack(S, env)["data"]["terraform_remote_state"]
    assert list(remote) == [f"cross-stack-reference-input-network-{env}"]
    assert remote[f"cross-stack-reference-input-network-{env}"]["config"] == remote_state_config(
        configs[env], "network"
    )
