"""What is precious, as every environment's synthesized JSON carries it: prevent_destroy exactly where
protected, backups that outlive the cluster, and the committed address contract."""

from __future__ import annotations

import pytest

from shared import precious
from shared.naming import STACK_NAMES, stack_id
from tests.support.synthesized import ENVIRONMENTS


def _resources(synth, stack: str, env: str):
    for rtype, items in synth.stack(stack, env).get("resource", {}).items():
        for name, body in items.items():
            yield rtype, name, body


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prevent_destroy_is_on_every_precious_resource_exactly_where_the_environment_is_protected(synth, configs, env):
    protected = configs[env].protected
    seen = set()
    for stack in STACK_NAMES:
        for rtype, name, body in _resources(synth, stack, env):
            held = body.get("lifecycle", {}).get("prevent_destroy", False)
            expected = protected and precious.is_precious(rtype)
            assert held is expected, f"{stack}-{env}: {rtype}.{name} prevent_destroy={held}, expected {expected}"
            if held:
                seen.add(rtype)
    if protected:  # every listed type that prod has is covered, not only some
        # prod polls: no consumer; RDS keeps prod's password: no secret (or version) of the stack's own.
        absent = {"aws_kinesis_stream_consumer", "aws_secretsmanager_secret", "aws_secretsmanager_secret_version"}
        assert seen == set(precious.PRECIOUS) - absent, seen


def test_only_prod_is_protected_today(configs):
    # The test above proves both sides (with and without prevent_destroy) only while this holds.
    assert {name for name, env in configs.items() if env.protected} == {"prod"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_automated_backups_outlive_the_cluster_wherever_a_final_snapshot_is_taken(synth, configs, env):
    cluster = synth.one("data", env, "aws_rds_cluster")
    if configs[env].data.aurora.final_snapshot:
        assert cluster["delete_automated_backups"] is False
        assert cluster["skip_final_snapshot"] is False
    else:
        assert "delete_automated_backups" not in cluster  # nothing is kept: the provider's default, true


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_precious_addresses_are_the_committed_contract(synth, configs, env):
    committed = precious.committed_addresses()
    assert env in committed, f"{env} has no entry in {precious.ADDRESSES_FILE.name}: add its precious addresses"
    problems = []
    for stack in STACK_NAMES:
        sid = stack_id(stack, configs[env].suffix)
        problems += precious.contract_problems(sid, committed[env][stack], precious.addresses(synth.stack(stack, env)))
    assert problems == [], "\n".join(problems)


def test_a_changed_address_is_named_with_the_old_the_new_and_how_to_move_it():
    problems = precious.contract_problems(
        "data-prod",
        ["aws_dynamodb_table.lease_tables_leases_EDB2B455", "aws_sqs_queue.dlq"],
        ["aws_dynamodb_table.leases_1A2B3C4D", "aws_sqs_queue.dlq"],
    )
    (problem,) = problems
    assert problem.startswith(
        "data-prod: aws_dynamodb_table.lease_tables_leases_EDB2B455 is now aws_dynamodb_table.leases_1A2B3C4D"
    )
    assert 'move_from_id("aws_dynamodb_table.lease_tables_leases_EDB2B455")' in problem
    assert "checkpoints" in problem  # what is lost, from the one list


def test_a_vanished_and_a_new_precious_address_are_each_named():
    problems = precious.contract_problems("data-dev", ["aws_sqs_queue.dlq"], ["aws_kms_key.key_F64E54E4"])
    assert problems == [
        problems[0],
        f"data-dev: aws_kms_key.key_F64E54E4 is precious and new: add it to {precious.ADDRESSES_FILE.name}",
    ]
    assert problems[0].startswith("data-dev: aws_sqs_queue.dlq is no longer synthesized: a deploy would delete it")


def test_every_precious_type_says_what_is_lost():
    for rtype, lost in precious.PRECIOUS.items():
        assert rtype.startswith("aws_") and lost and not lost.endswith("."), rtype
