"""The base stack: the provider and backend of each environment, emulator settings only where emulated."""

from __future__ import annotations

import pytest

from shared.stack import EMULATED_SERVICES, partition_of


@pytest.mark.parametrize(
    ("region", "partition"),
    [("us-east-1", "aws"), ("cn-north-1", "aws-cn"), ("us-gov-west-1", "aws-us-gov"), ("eu-west-1", "aws")],
)
def test_the_partition_is_known_at_synthesis(region, partition):
    assert partition_of(region) == partition


@pytest.mark.parametrize("stack", ["network", "data", "compute", "monitoring"])
def test_an_emulated_environment_sends_every_service_to_the_emulator_and_a_real_one_none(synth, stack):
    # Every provider of the stack: the data stack's second one (the backups' copy region) too.
    for local in synth.stack(stack, "local")["provider"]["aws"]:
        (endpoints,) = local["endpoints"]
        assert set(endpoints) == set(EMULATED_SERVICES) and set(endpoints.values()) == {"http://127.0.0.1:4566"}
        assert local["skip_credentials_validation"] is True and local["s3_use_path_style"] is True
    for dev in synth.stack(stack, "dev")["provider"]["aws"]:
        assert "endpoints" not in dev and "skip_credentials_validation" not in dev


@pytest.mark.parametrize("env", ["dev", "prod", "local"])
def test_every_stack_keeps_its_state_encrypted_with_the_environments_key_and_locked(synth, configs, env):
    from shared.naming import state_kms_alias

    backend = synth.stack("data", env)["terraform"]["backend"]["s3"]
    assert backend["encrypt"] is True and backend["use_lockfile"] is True
    assert backend["kms_key_id"] == state_kms_alias(configs[env])
