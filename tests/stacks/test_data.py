"""data: KMS key, Kinesis, DLQ, the password RDS keeps (or one generated), Aurora Serverless v2 with instances."""

from __future__ import annotations

import re

import pytest

from tests.support.synthesized import ENVIRONMENTS, VARIANTS, policy, remote_state_config
from tests.support.synthesized import variant as as_variant

S = "data"
KEY = re.compile(r"^\$\{aws_kms_key\.key_[0-9A-F]+\.arn\}$")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_customer_managed_key_rotates_and_has_an_alias(synth, env):
    key = synth.at(S, env, "aws_kms_key", "key/key")
    assert key["enable_key_rotation"] is True
    assert synth.at(S, env, "aws_kms_alias", "key/alias")["name"] == f"alias/streamflix-pipeline-{env}"
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


def test_on_demand_stream_has_no_shard_count(variants):
    stream = variants.one(S, "ondemand", "aws_kinesis_stream")
    assert stream["stream_mode_details"] == {"stream_mode": "ON_DEMAND"} and "shard_count" not in stream


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_shard_level_metrics_nobody_reads(synth, env):
    # Billed per shard and metric; every alarm and the dashboard read the free stream-level ones
    # (tests/stacks/test_monitoring.py asserts that none of them has a ShardId dimension).
    assert "shard_level_metrics" not in synth.one(S, env, "aws_kinesis_stream")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_consumer_keeps_leases_in_kcl_tables_of_its_own(synth, configs, env):
    tables = {t["name"]: t for t in synth.resources(S, env, "aws_dynamodb_table").values()}
    app = f"streamflix-video-worker-{env}"
    assert sorted(tables) == sorted([app, f"{app}-CoordinatorState", f"{app}-WorkerMetricStats"])
    for table in tables.values():
        assert table["billing_mode"] == "PAY_PER_REQUEST"
        assert table["point_in_time_recovery"] == {"enabled": True}
        assert table["server_side_encryption"]["enabled"] is True
        assert KEY.match(table["server_side_encryption"]["kms_key_arn"])
        assert table["deletion_protection_enabled"] is configs[env].protected
    # KCL 3.x's key schemas: a table keyed otherwise is unusable to it.
    leases = tables[app]
    assert leases["hash_key"] == "leaseKey" and "range_key" not in leases
    assert leases["attribute"] == [{"name": "leaseKey", "type": "S"}, {"name": "leaseOwner", "type": "S"}]
    assert leases["global_secondary_index"] == [
        {
            "name": "LeaseOwnerToLeaseKeyIndex",
            "hash_key": "leaseOwner",
            "range_key": "leaseKey",
            "projection_type": "KEYS_ONLY",
        }
    ]
    assert tables[f"{app}-WorkerMetricStats"]["hash_key"] == "wid"
    assert tables[f"{app}-CoordinatorState"]["hash_key"] == "key"
    outputs = synth.outputs(S, env)
    assert outputs["lease_table_name"]["value"] == "${aws_dynamodb_table.lease_tables_leases_EDB2B455.name}"
    assert outputs["consumer_app_name"]["value"] == app
    assert len(outputs["coordination_table_arns"]["value"]) == 2
    assert all(outputs[o]["description"] for o in ("lease_table_name", "lease_table_arn", "consumer_app_name"))


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != "local"])
def test_polling_registers_no_stream_consumer(synth, configs, env):
    assert configs[env].data.kinesis.consumer == "polling"
    assert synth.resources(S, env, "aws_kinesis_stream_consumer") == {}
    assert "stream_consumer_arn" not in synth.outputs(S, env)


@pytest.mark.parametrize(("source", "env"), [("variants", "fanout"), ("synth", "local")])
def test_enhanced_fan_out_registers_the_consumer_under_the_application_name(request, source, env):
    synthesized = request.getfixturevalue(source)
    consumer = synthesized.one(S, env, "aws_kinesis_stream_consumer")
    assert consumer == {
        **consumer,
        "name": f"streamflix-video-worker-{env}",
        "stream_arn": "${aws_kinesis_stream.stream.arn}",
    }
    out = synthesized.outputs(S, env)["stream_consumer_arn"]
    assert out["value"] == "${aws_kinesis_stream_consumer.stream_consumer.arn}" and out["description"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_dlq_keeps_failed_jobs_14_days_encrypted_and_over_tls_only(synth, env):
    dlq = synth.one(S, env, "aws_sqs_queue")
    assert dlq["name"] == f"streamflix-jobs-dlq-{env}"
    assert dlq["message_retention_seconds"] == 14 * 86400
    assert KEY.match(dlq["kms_master_key_id"])
    (deny,) = policy(synth.one(S, env, "aws_sqs_queue_policy"))["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_rds_keeps_the_password_in_its_own_secret_under_the_pipeline_key(synth, configs, env):
    doc = synth.stack(S, env)
    aurora = configs[env].data.aurora
    assert aurora.password_generator == "rds"  # every environment's default; no file sets another
    cluster = synth.one(S, env, "aws_rds_cluster")
    assert cluster["manage_master_user_password"] is True and KEY.match(cluster["master_user_secret_kms_key_id"])
    assert not {k for k in cluster if k.startswith("master_password")}  # the engine never sends one
    # Nothing the engine would read or write the password through: no generator, no secret or version of ours.
    assert "ephemeral" not in doc and "random" not in doc["terraform"]["required_providers"]
    for rtype in ("aws_secretsmanager_secret", "aws_secretsmanager_secret_version", "random_password"):
        assert rtype not in doc["resource"], rtype
    # The secret RDS made: the cluster's attribute, or (on the deploy that turns management on, where the AWS
    # provider plans it as an empty list) the cluster as read after the apply.
    secret = (
        "${try(aws_rds_cluster.cluster.master_user_secret[0].secret_arn, "
        "data.aws_rds_cluster.db_cluster_after_apply.master_user_secret[0].secret_arn)}"
    )
    assert doc["locals"]["db_master_user_secret_arn"] == secret
    after = doc["data"]["aws_rds_cluster"]["db_cluster_after_apply"]
    assert after["depends_on"] == ["aws_rds_cluster.cluster"]
    assert after["cluster_identifier"] == "${aws_rds_cluster.cluster.cluster_identifier}"
    assert synth.outputs(S, env)["db_secret_arn"]["value"] == "${local.db_master_user_secret_arn}"


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != "local"])
def test_rds_rotates_its_secret_on_the_configured_schedule_without_a_lambda(synth, configs, env):
    rotation = synth.one(S, env, "aws_secretsmanager_secret_rotation")
    assert rotation["secret_id"] == "${local.db_master_user_secret_arn}"
    assert rotation["rotation_rules"] == {"automatically_after_days": configs[env].data.aurora.secret_rotation_days}
    assert "rotation_lambda_arn" not in rotation  # RDS's managed rotation: the schedule only
    assert rotation["rotate_immediately"] is False  # setting the schedule is no rotation


def test_an_emulated_environment_leaves_the_schedule_to_rds_its_emulator_cannot_cancel_it(synth):
    # moto refuses CancelRotateSecret on RDS's secret, which every destroy of the schedule calls
    # (shared/emulator_quirks.py, IMITATIONS); the secret itself is there.
    assert synth.resources(S, "local", "aws_secretsmanager_secret_rotation") == {}
    assert synth.outputs(S, "local")["db_secret_arn"]["value"] == "${local.db_master_user_secret_arn}"


@pytest.mark.parametrize("variant", ["rotated", "generated"])
def test_a_generated_password_is_ephemeral_and_written_only_through_write_only_arguments(variants, configs, variant):
    doc = variants.stack(S, variant)
    aurora = as_variant(configs["dev"], variant, **VARIANTS[variant]).data.aurora
    if aurora.password_generator == "random":
        pw = doc["ephemeral"]["random_password"]["db_password"]
        assert pw["length"] >= 32 and pw["special"] is True
        assert not set(pw["override_special"]) & set('/@" ')  # characters RDS refuses
        assert doc["locals"]["db_password"] == "${ephemeral.random_password.db_password.result}"
        assert "random" in doc["terraform"]["required_providers"]
    else:
        pw = doc["ephemeral"]["aws_secretsmanager_random_password"]["db_password"]
        assert pw["password_length"] >= 32 and set('/@" ') <= set(pw["exclude_characters"])
        assert doc["locals"]["db_password"] == (
            "${ephemeral.aws_secretsmanager_random_password.db_password.random_password}"
        )
        assert "random" not in doc["terraform"]["required_providers"]  # only the AWS provider is needed
    assert "random_password" not in doc.get("resource", {})  # a resource would keep the password in state
    version = variants.one(S, variant, "aws_secretsmanager_secret_version")
    assert "secret_string" not in version and version["secret_string_wo_version"] == aurora.password_version
    assert '"password" = local.db_password' in version["secret_string_wo"]
    # The cluster's password is a read of the very secret version just written: the secret is the one source.
    written = doc["ephemeral"]["aws_secretsmanager_secret_version"]["db_secret_written"]
    assert written["version_id"] == "${aws_secretsmanager_secret_version.db_secret_value.version_id}"
    cluster = variants.one(S, variant, "aws_rds_cluster")
    assert "master_password" not in cluster and "manage_master_user_password" not in cluster
    assert cluster["master_password_wo"] == (
        "${jsondecode(ephemeral.aws_secretsmanager_secret_version.db_secret_written.secret_string).password}"
    )
    assert cluster["master_password_wo_version"] == aurora.password_version
    assert variants.outputs(S, variant)["db_secret_arn"]["value"] == "${aws_secretsmanager_secret.db_secret.arn}"
    assert "aws_secretsmanager_secret_rotation" not in doc["resource"]  # it changes with password_version


def test_raising_password_version_rotates_the_secret_and_the_cluster_together(variants):
    doc = variants.stack(S, "rotated")
    assert doc["resource"]["aws_rds_cluster"]["cluster"]["master_password_wo_version"] == 2
    assert doc["resource"]["aws_secretsmanager_secret_version"]["db_secret_value"]["secret_string_wo_version"] == 2


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


@pytest.mark.parametrize("variant", ["rotated", "generated"])
def test_a_generated_passwords_secret_holds_the_connection_json_and_is_encrypted(variants, variant):
    secret = variants.one(S, variant, "aws_secretsmanager_secret")
    assert KEY.match(secret["kms_key_id"])
    assert secret["recovery_window_in_days"] == 0  # dev's
    value = variants.one(S, variant, "aws_secretsmanager_secret_version")["secret_string_wo"]
    for key in ("engine", "port", "dbname", "username", "password"):
        assert f'"{key}" =' in value
    # The host is not in it: the secret is written before the cluster (whose password it gives) exists.
    assert "host" not in value and "aws_rds_cluster" not in value


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
    assert cfg.min_acu > 0 or env == "local"  # real environments keep capacity; local pauses
    assert cluster["storage_encrypted"] is True and KEY.match(cluster["kms_key_id"])
    assert cluster["enabled_cloudwatch_logs_exports"] == ["postgresql"]
    assert cluster["backup_retention_period"] == cfg.backup_retention_days
    assert cluster["vpc_security_group_ids"] == [
        f"${{data.terraform_remote_state.cross-stack-reference-input-network-{env}"
        ".outputs.cross-stack-output-aws_security_groupdb_sgid}"
    ]
    params = synth.one(S, env, "aws_rds_cluster_parameter_group")
    assert {"name": "rds.force_ssl", "value": "1"} in params["parameter"]  # TLS in transit


@pytest.mark.parametrize(("env", "protected"), [("dev", False), ("staging", False), ("prod", True)])
def test_only_prod_is_protected_from_deletion(synth, env, protected):
    cluster = synth.one(S, env, "aws_rds_cluster")
    assert cluster["deletion_protection"] is protected
    assert cluster["skip_final_snapshot"] is (not protected)
    assert ("final_snapshot_identifier" in cluster) is protected


def test_each_prod_cluster_takes_its_final_snapshot_under_a_name_of_its_own(synth):
    # A fixed name fails the second destroy (the first one's snapshot holds it): the name carries
    # the cluster's creation time, fixed in state because later plans ignore the attribute.
    cluster = synth.one(S, "prod", "aws_rds_cluster")
    assert cluster["final_snapshot_identifier"] == (
        'streamflix-metadata-final-prod-${formatdate("YYYYMMDDhhmmss", timestamp())}'
    )
    assert cluster["lifecycle"]["ignore_changes"] == ["final_snapshot_identifier"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_engine_version_is_a_floor_aws_may_raise(synth, configs, env):
    stack = synth.stack(S, env)
    cluster = synth.one(S, env, "aws_rds_cluster")
    floor = configs[env].data.aurora.engine_version
    major, minor = (int(p) for p in floor.split("."))
    assert cluster["engine_version"] == "${local.aurora_engine_version}"
    assert cluster["allow_major_version_upgrade"] is True
    # What runs is read through a lookup that finds nothing before the first deploy.
    assert stack["data"]["aws_rds_clusters"]["existing_cluster"]["filter"] == [
        {"name": "db-cluster-id", "values": [f"streamflix-metadata-{env}"]}
    ]
    running = stack["data"]["aws_rds_cluster"]["running_cluster"]
    assert running["count"] == "${length(tolist(data.aws_rds_clusters.existing_cluster.cluster_identifiers))}"
    locals_ = stack["locals"]
    assert locals_["aurora_running_version"] == "${one(data.aws_rds_cluster.running_cluster[*].engine_version)}"
    assert f'>= {major * 1000 + minor} ? local.aurora_running_version : "{floor}"' in locals_["aurora_engine_version"]
    # Instances run the cluster's version instead of restating it.
    assert all("engine_version" not in i for i in synth.resources(S, env, "aws_rds_cluster_instance").values())
    # A new major needs a parameter group of its family before the cluster moves to it.
    params = synth.one(S, env, "aws_rds_cluster_parameter_group")
    assert params["name"] == f"streamflix-metadata-pg{major}-{env}" and params["family"] == f"aurora-postgresql{major}"
    assert params["lifecycle"] == {"create_before_destroy": True}


def test_a_cluster_with_min_acu_0_pauses_after_the_configured_idle_time(variants):
    scaling = variants.one(S, "paused", "aws_rds_cluster")["serverlessv2_scaling_configuration"]
    assert scaling == {"min_capacity": 0, "max_capacity": 1, "seconds_until_auto_pause": 900}


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
    assert outputs["db_secret_arn"]["value"] == "${local.db_master_user_secret_arn}"
    assert "RDS" in outputs["db_secret_arn"]["description"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_reads_its_own_environments_network_state(synth, configs, env):
    remote = synth.stack(S, env)["data"]["terraform_remote_state"]
    assert list(remote) == [f"cross-stack-reference-input-network-{env}"]
    assert remote[f"cross-stack-reference-input-network-{env}"]["config"] == remote_state_config(
        configs[env], "network"
    )


# ---------------------------------------------------------------- AWS Backup, copied to another region


def _refers(value: str, rtype: str, resource: dict, attribute: str) -> bool:
    """Whether `value` is the reference `${<type>.<name>.<attribute>}` to this synthesized resource."""
    return value == f"${{{rtype}.{resource['//']['metadata']['uniqueId']}.{attribute}}}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_copy_vault_and_its_key_live_in_the_copy_region_through_a_provider_of_their_own(synth, configs, env):
    backup = configs[env].data.backup
    providers = {p.get("alias"): p for p in synth.stack(S, env)["provider"]["aws"]}
    assert providers["copy_region"]["region"] == backup.copy_region != configs[env].aws.region
    copy_vault = synth.at(S, env, "aws_backup_vault", "backup/copy_vault")
    copy_key = synth.at(S, env, "aws_kms_key", "backup/copy_key/key")
    for resource in (copy_vault, copy_key, synth.at(S, env, "aws_kms_alias", "backup/copy_key/alias")):
        assert resource["provider"] == "aws.copy_region"
    # Everything else of the stack stays in the environment's region.
    stack = synth.stack(S, env)["resource"]
    elsewhere = {
        f"{t}.{n}" for t, by_name in stack.items() for n, r in by_name.items() if r.get("provider") == "aws.copy_region"
    }
    assert len(elsewhere) == 3 + (1 if backup.lock_min_retention_days is not None else 0), elsewhere
    # Its own key, not the pipeline key: a copy stays readable when this region or its key is lost.
    assert _refers(copy_vault["kms_key_arn"], "aws_kms_key", copy_key, "arn")
    assert copy_key["enable_key_rotation"] is True
    (admin,) = policy(copy_key)["Statement"]  # no service may use it on its own: AWS Backup uses it by grants
    assert admin["Principal"] == {"AWS": "arn:aws:iam::${data.aws_caller_identity.caller.account_id}:root"}
    vault = synth.at(S, env, "aws_backup_vault", "backup/vault")
    assert "provider" not in vault and _refers(
        vault["kms_key_arn"], "aws_kms_key", synth.at(S, env, "aws_kms_key", "key/key"), "arn"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_plan_backs_up_daily_into_this_regions_vault_and_copies_to_the_other(synth, configs, env):
    backup = configs[env].data.backup
    plan = synth.one(S, env, "aws_backup_plan")
    (rule,) = plan["rule"]
    assert plan["name"] == f"streamflix-metadata-{env}"
    assert rule["schedule"] == backup.schedule
    assert _refers(
        rule["target_vault_name"], "aws_backup_vault", synth.at(S, env, "aws_backup_vault", "backup/vault"), "name"
    )
    assert rule["lifecycle"] == {"delete_after": backup.retention_days}
    (copy,) = rule["copy_action"]
    assert _refers(
        copy["destination_vault_arn"],
        "aws_backup_vault",
        synth.at(S, env, "aws_backup_vault", "backup/copy_vault"),
        "arn",
    )
    assert copy["lifecycle"] == {"delete_after": backup.copy_retention_days}
    assert "enable_continuous_backup" not in rule  # snapshots: continuous backups cannot be copied as such


@pytest.mark.parametrize("env", ["dev", "staging", "prod"])
def test_the_selection_is_the_cluster_alone_taken_by_a_role_of_its_own(synth, env):
    selection = synth.one(S, env, "aws_backup_selection")
    # The lease tables are left out (shared/components/backup.py says why): only the cluster.
    assert selection["resources"] == ["${aws_rds_cluster.cluster.arn}"]
    assert _refers(selection["plan_id"], "aws_backup_plan", synth.one(S, env, "aws_backup_plan"), "id")
    role = synth.at(S, env, "aws_iam_role", "backup/role")
    assert _refers(selection["iam_role_arn"], "aws_iam_role", role, "arn")
    (trust,) = policy(role, "assume_role_policy")["Statement"]
    assert trust["Principal"] == {"Service": "backup.amazonaws.com"} and trust["Condition"]["StringEquals"]
    assert role["permissions_boundary"].endswith(f":policy/streamflix-boundary-{env}")
    attached = [a["policy_arn"] for a in synth.resources(S, env, "aws_iam_role_policy_attachment").values()]
    assert "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup" in attached


def test_an_emulated_environment_has_the_plan_and_vaults_but_no_selection(synth):
    # The emulator does not implement CreateBackupSelection (shared/emulator_quirks.py IMITATIONS).
    assert synth.resources(S, "local", "aws_backup_selection") == {}
    # Nor AWS's managed policies (IAM:AttachRolePolicy there): the backup role stands without its policy.
    assert synth.at(S, "local", "aws_iam_role", "backup/role")
    assert synth.resources(S, "local", "aws_iam_role_policy_attachment") == {}
    assert synth.one(S, "local", "aws_backup_plan")
    for vault in synth.resources(S, "local", "aws_backup_vault").values():
        assert "force_destroy" not in vault  # the emulator cannot list recovery points to delete them


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_vaults_are_locked_where_configured_and_compliance_mode_only_with_a_grace(synth, configs, env):
    backup = configs[env].data.backup
    locks = synth.resources(S, env, "aws_backup_vault_lock_configuration")
    if backup.lock_min_retention_days is None:
        assert locks == {} and not configs[env].protected
        return
    vaults = [synth.at(S, env, "aws_backup_vault", p) for p in ("backup/vault", "backup/copy_vault")]
    locked = sorted(lock["backup_vault_name"] for lock in locks.values())
    assert locked == sorted(f"${{aws_backup_vault.{v['//']['metadata']['uniqueId']}.name}}" for v in vaults)
    for lock in locks.values():
        assert lock["min_retention_days"] == backup.lock_min_retention_days
        assert lock.get("changeable_for_days") == backup.lock_grace_days
    copy_lock = synth.at(S, env, "aws_backup_vault_lock_configuration", "backup/copy_vault_lock")
    assert copy_lock["provider"] == "aws.copy_region"


def test_prod_locks_its_vaults_in_compliance_mode_and_keeps_them(synth, configs):
    for lock in synth.resources(S, "prod", "aws_backup_vault_lock_configuration").values():
        assert lock["changeable_for_days"] == 3 and lock["min_retention_days"] == 35
    for rtype in ("aws_backup_vault", "aws_backup_plan", "aws_backup_vault_lock_configuration"):
        for resource in synth.resources(S, "prod", rtype).values():
            assert resource["lifecycle"]["prevent_destroy"] is True, rtype
    for vault in synth.resources(S, "prod", "aws_backup_vault").values():
        assert "force_destroy" not in vault


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_an_unprotected_environments_vaults_go_with_their_recovery_points(synth, env):
    # Destroyable without manual steps: a vault that holds recovery points cannot be deleted otherwise.
    for vault in synth.resources(S, env, "aws_backup_vault").values():
        assert vault["force_destroy"] is True


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_backups_are_stack_outputs(synth, env):
    outputs = synth.outputs(S, env)
    for name in ("backup_vault_name", "backup_copy_vault_arn", "backup_plan_id"):
        assert outputs[name]["description"], name
