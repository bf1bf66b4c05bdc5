"""Names: every name carries the suffix; state keys, the state key alias and the log bucket derive from config."""

from __future__ import annotations

from shared.config import load_environment
from shared.naming import (
    STACK_NAMES,
    access_log_bucket,
    default_tags,
    resource_name,
    stack_id,
    state_key,
    state_kms_alias,
)
from tests.support.synthesized import variant


def test_stack_ids_resource_names_and_state_keys_carry_the_suffix():
    dev = load_environment("dev")
    copy = load_environment("dev", suffix="pr-42")
    assert [stack_id(s, "pr-42") for s in STACK_NAMES] == [
        "network-pr-42",
        "data-pr-42",
        "compute-pr-42",
        "monitoring-pr-42",
    ]
    assert resource_name(dev, "worker") == "streamflix-worker-dev"
    assert resource_name(copy, "worker") == "streamflix-worker-pr-42"
    assert state_key(copy, "data") == "streamflix/pr-42/data.tfstate"


def test_the_state_key_alias_has_no_dots_and_the_log_bucket_follows_the_state_bucket():
    dotted = variant(load_environment("dev"), "dev", state__bucket="tf.state.example")
    assert state_kms_alias(dotted) == "alias/tf-state-example-state"
    assert access_log_bucket(dotted) == "tf.state.example-access-logs"


def test_every_resource_of_a_stack_is_tagged_with_project_environment_and_stack():
    assert default_tags(load_environment("prod"), "data") == {
        "project": "streamflix",
        "environment": "prod",
        "stack": "data",
        "managed-by": "cdktf",
    }
