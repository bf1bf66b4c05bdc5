"""The app: four stacks per environment, their backends and providers, deterministic and atomic synthesis."""

from __future__ import annotations

import pytest

from shared.config import load_environment
from shared.naming import STACK_NAMES
from tests.conftest import ENVIRONMENTS

ALL = [(s, e) for e in ENVIRONMENTS for s in STACK_NAMES]


def test_every_stack_of_every_environment_is_synthesized(synth):
    stacks = synth.manifest()["stacks"]
    assert sorted(stacks) == sorted(f"{s}-{e}" for s, e in ALL)
    assert len(stacks) == 12
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
    assert backend == {
        "bucket": configs[env].state.bucket,
        "key": f"streamflix/{env}/{stack}.tfstate",
        "region": configs[env].aws.region,
        "encrypt": True,
        "use_lockfile": True,
    }


@pytest.mark.parametrize(("stack", "env"), ALL)
def test_provider_has_region_and_default_tags(synth, configs, stack, env):
    (aws,) = synth.stack(stack, env)["provider"]["aws"]
    assert aws["region"] == configs[env].aws.region
    assert aws["default_tags"] == [
        {"tags": {"project": "streamflix", "environment": env, "stack": stack, "managed-by": "cdktf"}}
    ]
    assert "allowed_account_ids" not in aws  # none configured in the checked-in environments


def test_allowed_account_ids_when_configured(tmp_path):
    import json

    from shared.app import synthesize

    env = load_environment("dev")
    env = env.model_copy(update={"aws": env.aws.model_copy(update={"account_id": "123456789012"})})
    out = synthesize([env], tmp_path / "out")
    (aws,) = json.loads((out / "stacks/network-dev/cdk.tf.json").read_text())["provider"]["aws"]
    assert aws["allowed_account_ids"] == ["123456789012"]


def test_synthesis_is_deterministic_and_replaces_the_folder_atomically(synth, configs, tmp_path):
    from shared.app import synthesize

    out = tmp_path / "cdktf.out"
    out.mkdir()
    (out / "stale.txt").write_text("left by an earlier run")
    synthesize(list(configs.values()), out)
    first = {p.relative_to(synth.outdir): p.read_bytes() for p in synth.outdir.rglob("*") if p.is_file()}
    second = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert first == second
    assert not (out / "stale.txt").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["cdktf.out"]  # no scratch folder left behind


def test_a_suffix_copy_has_its_own_names_ids_and_state(tmp_path):
    import json

    from shared.app import synthesize

    out = synthesize([load_environment("dev", suffix="pr-7")], tmp_path / "out")
    assert sorted(json.loads((out / "manifest.json").read_text())["stacks"]) == [
        "compute-pr-7", "data-pr-7", "monitoring-pr-7", "network-pr-7"]  # fmt: skip
    data = json.loads((out / "stacks/data-pr-7/cdk.tf.json").read_text())
    assert data["terraform"]["backend"]["s3"]["key"] == "streamflix/pr-7/data.tfstate"
    assert next(iter(data["resource"]["aws_kinesis_stream"].values()))["name"] == "streamflix-ingest-pr-7"
    remote = data["data"]["terraform_remote_state"]
    assert [r["config"]["key"] for r in remote.values()] == ["streamflix/pr-7/network.tfstate"]


CONTRACT_OUTPUTS = {
    "network": ["vpc_id"],
    "data": ["kinesis_stream_name", "rds_cluster_endpoint", "dlq_url", "db_secret_arn"],
    "compute": ["ecs_cluster_name"],
}
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
