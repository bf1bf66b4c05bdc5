"""The app: four stacks per environment, their backends and providers, deterministic and atomic synthesis."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from shared.contract import CONTRACT_OUTPUTS
from shared.errors import UsageError
from shared.naming import STACK_NAMES
from shared.stack import EMULATED_SERVICES
from tests.support.synthesized import ENVIRONMENTS, remote_state_config

ALL = [(s, e) for e in ENVIRONMENTS for s in STACK_NAMES]


def test_every_stack_of_every_environment_is_synthesized(synth):
    stacks = synth.manifest()["stacks"]
    assert sorted(stacks) == sorted(f"{s}-{e}" for s, e in ALL)
    assert len(stacks) == 4 * len(ENVIRONMENTS)
    for s, e in ALL:
        assert synth.stack(s, e)["resource"], f"{s}-{e} has no resources"


def test_manifest_orders_the_stacks_by_their_dependencies(synth):
    stacks = synth.manifest()["stacks"]
    for e in ENVIRONMENTS:
        assert stacks[f"network-{e}"]["dependencies"] == []
        assert stacks[f"data-{e}"]["dependencies"] == [f"network-{e}"]
        assert sorted(stacks[f"compute-{e}"]["dependencies"]) == sorted([f"network-{e}", f"data-{e}"])
        assert sorted(stacks[f"monitoring-{e}"]["dependencies"]) == sorted([f"data-{e}", f"compute-{e}"])


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_each_stack_has_its_own_encrypted_locked_state(synth, configs, stack, env):
    backend = synth.stack(stack, env)["terraform"]["backend"]["s3"]
    assert backend == {**remote_state_config(configs[env], stack), "use_lockfile": True}


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_provider_has_region_and_default_tags(synth, configs, stack, env):
    aws, *others = synth.stack(stack, env)["provider"]["aws"]
    assert aws["region"] == configs[env].aws.region and "alias" not in aws
    # Only the data stack has a second region: the copy region of its backups, with the same tags.
    expected = [("copy_region", configs[env].data.backup.copy_region)] if stack == "data" else []
    assert [(o["alias"], o["region"]) for o in others] == expected
    for provider in (aws, *others):
        assert provider["default_tags"] == [
            {"tags": {"project": "streamflix", "environment": env, "stack": stack, "managed-by": "cdktf"}}
        ]
        assert "allowed_account_ids" not in provider  # none configured in the checked-in environments


def test_allowed_account_ids_when_configured(tmp_path):
    import json

    from shared.app import synthesize

    env = load_environment("dev")
    env = env.model_copy(update={"aws": env.aws.model_copy(update={"account_id": "123456789012"})})
    out = synthesize([env], tmp_path / "out")
    (aws,) = json.loads((out / "stacks/network-dev/cdk.tf.json").read_text())["provider"]["aws"]
    assert aws["allowed_account_ids"] == ["123456789012"]


def test_synthesis_is_deterministic_and_keeps_each_stacks_working_directory(synth, configs, tmp_path):
    from shared.app import synthesize

    out = tmp_path / "cdktf.out"
    synthesize([configs["dev"]], out)
    # What the engine leaves beside the JSON survives the next synthesis: no init from cold.
    provider = out / "stacks/network-dev/.terraform/providers/marker"
    provider.parent.mkdir(parents=True)
    provider.write_text("installed")
    synthesize(list(configs.values()), out)
    assert provider.read_text() == "installed"
    first = {p.relative_to(synth.outdir): p.read_bytes() for p in synth.outdir.rglob("cdk.tf.json")}
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("cdk.tf.json")}
    assert first == second  # deterministic
    assert json.loads((out / "manifest.json").read_text())["stacks"] == synth.manifest()["stacks"]
    assert [p.name for p in out.iterdir() if p.name.startswith(".synth-")] == []  # no scratch left behind


def test_ctrl_c_just_after_the_scratch_folder_is_made_leaves_nothing_behind(configs, tmp_path, monkeypatch):
    # The moment the CLI-level interrupt test can hit under load: the signal arrives between the
    # scratch folder's creation and anything else. Here it arrives there every time.
    import signal
    import tempfile

    from shared import app

    mkdtemp = tempfile.mkdtemp

    def mkdtemp_then_ctrl_c(**kwargs):
        made = mkdtemp(**kwargs)
        signal.raise_signal(signal.SIGINT)
        return made

    class NodeEndedByTheSameCtrlC:
        def synth(self):
            raise RuntimeError("the jsii runtime's Node process is gone")

    out = tmp_path / "out"
    monkeypatch.setattr(app.tempfile, "mkdtemp", mkdtemp_then_ctrl_c)
    monkeypatch.setattr(app, "build_app", lambda envs, outdir: NodeEndedByTheSameCtrlC())
    with pytest.raises(KeyboardInterrupt):
        app.synthesize([configs["dev"]], out)
    assert list(out.iterdir()) == []  # no scratch folder, nothing published


def test_synthesizing_one_environment_leaves_the_others(configs, tmp_path):
    from shared.app import synthesize

    out = synthesize([configs["staging"]], tmp_path / "out")
    synthesize([configs["dev"]], out)
    stacks = json.loads((out / "manifest.json").read_text())["stacks"]
    assert {"network-staging", "network-dev"} <= set(stacks)
    assert (out / "stacks/monitoring-staging/cdk.tf.json").is_file()


def test_a_folder_that_is_not_a_synthesis_output_is_refused(configs, tmp_path):
    from shared.app import synthesize

    (tmp_path / "main.py").write_text("print('my source code')")
    with pytest.raises(UsageError, match=r"holds files that no synthesis wrote \(main.py\)"):
        synthesize([configs["dev"]], tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["main.py"]  # nothing written, nothing removed


def test_a_suffix_copy_has_its_own_names_ids_and_state(tmp_path):
    import json

    from shared.app import synthesize

    out = synthesize([load_environment("dev", suffix="pr-7")], tmp_path / "out")
    assert sorted(json.loads((out / "manifest.json").read_text())["stacks"]) == [
        "compute-pr-7",
        "data-pr-7",
        "monitoring-pr-7",
        "network-pr-7",
    ]
    data = json.loads((out / "stacks/data-pr-7/cdk.tf.json").read_text())
    assert data["terraform"]["backend"]["s3"]["key"] == "streamflix/pr-7/data.tfstate"
    assert next(iter(data["resource"]["aws_kinesis_stream"].values()))["name"] == "streamflix-ingest-pr-7"
    remote = data["data"]["terraform_remote_state"]
    assert [r["config"]["key"] for r in remote.values()] == ["streamflix/pr-7/network.tfstate"]


NAME_ATTRIBUTES = ("name", "identifier", "cluster_identifier", "family", "alarm_name", "dashboard_name")
# Attributes called "name" or "family" that are not resource names: an inline policy's name is
# scoped to its role; a parameter group family is the engine's.
NOT_NAMES = {("aws_iam_role_policy", "name"), ("aws_rds_cluster_parameter_group", "family")}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_six_contract_outputs_exist_with_descriptions(synth, env):
    for stack, names in CONTRACT_OUTPUTS.items():
        outputs = synth.outputs(stack, env)
        for name in names:
            assert outputs[name]["description"], f"{stack}-{env}: {name} has no description"


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_every_output_has_a_description(synth, stack, env):
    for name, output in synth.outputs(stack, env).items():
        if not name.startswith("cross-stack-output-"):  # CDKTF's own wiring outputs
            assert output.get("description"), f"{stack}-{env}: output {name} has no description"


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_every_resource_name_carries_the_environment_suffix(synth, stack, env):
    for rtype, resources in synth.stack(stack, env)["resource"].items():
        for rid, res in resources.items():
            for attr in NAME_ATTRIBUTES:
                value = res.get(attr)
                if (rtype, attr) in NOT_NAMES:
                    continue
                if isinstance(value, str) and not value.startswith("${"):
                    assert env in value, f"{stack}-{env} {rtype}.{rid}.{attr} = {value!r}"


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_remote_state_reads_only_its_own_environment(synth, configs, stack, env):
    for name, remote in synth.stack(stack, env).get("data", {}).get("terraform_remote_state", {}).items():
        assert name.endswith(f"-{env}")
        assert remote["config"]["bucket"] == configs[env].state.bucket
        assert remote["config"]["key"].startswith(f"streamflix/{env}/")


def test_synthesis_without_node_says_what_to_install(monkeypatch, tmp_path):
    from shared.app import synthesize
    from shared.errors import UsageError

    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(UsageError, match="Node.js .* is not on PATH"):
        synthesize([load_environment("dev")], tmp_path / "out")
    assert not (tmp_path / "out").exists()


BINDINGS_AWS_VERSION = "6.25.0"  # what cdktf-cdktf-provider-aws 21.22.1 was generated for


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_only_an_emulator_environment_carries_emulator_settings(synth, configs, stack, env):
    doc = synth.stack(stack, env)
    for aws in doc["provider"]["aws"]:  # another region's provider (the data stack's backup copies) alike
        _carries_emulator_settings_only_in_an_emulator(doc, aws, configs[env])


def _carries_emulator_settings_only_in_an_emulator(doc, aws, config):
    emulator_keys = {
        "endpoints",
        "s3_use_path_style",
        "skip_credentials_validation",
        "skip_requesting_account_id",
        "skip_metadata_api_check",
    }
    required = doc["terraform"]["required_providers"]["aws"]
    remote = [r["config"] for r in doc.get("data", {}).get("terraform_remote_state", {}).values()]
    if not config.emulated:
        # dev, staging and prod talk to AWS itself, with the bindings' provider, exactly as before.
        assert emulator_keys.isdisjoint(aws)
        assert required["version"] == BINDINGS_AWS_VERSION
        assert all(set(c) == {"bucket", "key", "region", "encrypt", "kms_key_id"} for c in remote)
        return
    endpoint = config.aws.endpoint
    assert aws["endpoints"] == [dict.fromkeys(EMULATED_SERVICES, endpoint)]
    assert aws["s3_use_path_style"] is True and aws["skip_requesting_account_id"] is True
    assert required["version"] == config.aws.provider_version
    assert all(c["endpoints"]["s3"] == endpoint and c["use_path_style"] is True for c in remote)


def test_every_aws_service_the_stacks_use_goes_to_the_emulator(synth):
    # A resource of a service missing from EMULATED_SERVICES would be created in real AWS.
    service_of = {
        "appautoscaling": "appautoscaling",
        "backup": "backup",
        "cloudwatch_log": "logs",
        "cloudwatch_event": "events",  # EventBridge keeps CloudWatch Events' resource names
        "cloudwatch": "cloudwatch",
        "db": "rds",
        "rds": "rds",
        "dynamodb": "dynamodb",
        "default": "ec2",
        "eip": "ec2",
        "flow": "ec2",
        "internet": "ec2",
        "nat": "ec2",
        "route": "ec2",
        "security": "ec2",
        "subnet": "ec2",
        "vpc": "ec2",
        "ecs": "ecs",
        "iam": "iam",
        "kinesis": "kinesis",
        "kms": "kms",
        "secretsmanager": "secretsmanager",
        "sns": "sns",
        "sqs": "sqs",
        "caller": "sts",
    }
    types = {t for s, e in ALL if e == "local" for t in synth.stack(s, e).get("resource", {})}
    types |= {"aws_caller_identity"}
    for rtype in sorted(t for t in types if t.startswith("aws_")):
        rest = rtype.removeprefix("aws_")
        prefix = max((p for p in service_of if rest.startswith(p)), key=len, default=None)
        assert prefix is not None, f"{rtype}: which AWS service does it call? add it to EMULATED_SERVICES"
        assert service_of[prefix] in EMULATED_SERVICES, rtype
