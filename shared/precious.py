"""What is precious: the data-bearing resource types, each with what is lost when one goes.

This is the one list. The stacks read it to put `prevent_destroy` on every such resource of a
protected environment, the deploy guard (shared/ops/guard.py) reads it to refuse a plan that
replaces or deletes one, and precious_addresses.json beside this file pins the addresses it selects.
Light to import: no provider bindings (the guard runs without them).
"""

from __future__ import annotations

import json
from pathlib import Path

PRECIOUS: dict[str, str] = {
    "aws_rds_cluster": "the metadata database: every job and video record, and (without a final snapshot) "
    "every automated backup",
    "aws_rds_cluster_instance": "a database instance: the cluster serves nothing while none is left, and every "
    "connection to it drops",
    "aws_kinesis_stream": "every job on the stream not yet processed (up to its retention period)",
    "aws_kinesis_stream_consumer": "the workers' enhanced fan-out registration: they read nothing until a new "
    "one is registered and their leases name it",
    "aws_dynamodb_table": "the workers' leases and checkpoints: they restart from the stream's trim horizon",
    "aws_kms_key": "whatever it encrypts (stream, queue, secret, database, logs, snapshots) becomes unreadable "
    "once its deletion window ends",
    "aws_secretsmanager_secret": "the database credentials the workers read at start",
    "aws_sqs_queue": "every failed job waiting in the dead-letter queue",
    # All log groups, not only the audit ones: flow logs are the network's audit trail, the database's
    # log records every schema change, the workers' log is the only record of what a job did.
    "aws_cloudwatch_log_group": "the logs it holds (flow logs, the database's statement log, the workers' log)",
}


def is_precious(resource_type: str) -> bool:
    return resource_type in PRECIOUS


def lost_with(resource_type: str) -> str:
    """One sentence: what goes with a resource of this type."""
    return PRECIOUS[resource_type]


def addresses(stack_json: dict) -> list[str]:
    """`<type>.<name>` of every precious resource in a synthesized stack (cdk.tf.json), sorted."""
    return sorted(
        f"{rtype}.{name}"
        for rtype, items in stack_json.get("resource", {}).items()
        if is_precious(rtype)
        for name in items
    )


ADDRESSES_FILE = Path(__file__).with_name("precious_addresses.json")


def committed_addresses() -> dict[str, dict[str, list[str]]]:
    """{environment: {stack: [address, ...]}}: the reviewed contract of where precious resources live."""
    return json.loads(ADDRESSES_FILE.read_text())["environments"]


def contract_problems(stack_id: str, committed: list[str], synthesized: list[str]) -> list[str]:
    """How a stack's synthesized precious addresses differ from the committed ones, each in words that say
    what the engine would do and how to avoid it; [] when they agree."""
    gone = sorted(set(committed) - set(synthesized))
    new = sorted(set(synthesized) - set(committed))
    problems = []
    for old in gone:
        rtype = old.split(".", 1)[0]
        successor = next((n for n in new if n.split(".", 1)[0] == rtype), None)
        if successor is not None:
            new.remove(successor)
            problems.append(
                f"{stack_id}: {old} is now {successor}: the engine would destroy it and create an empty one "
                f"({lost_with(rtype)}). Keep the construct's id and path, or move its state: on the new "
                f'resource call .move_from_id("{old}") (or .move_to on the old one), which writes a `moved` '
                f"block, and change {ADDRESSES_FILE.name} in the same commit"
            )
        else:
            problems.append(
                f"{stack_id}: {old} is no longer synthesized: a deploy would delete it ({lost_with(rtype)}). If "
                f"that is meant, remove it from {ADDRESSES_FILE.name}; if it moved, move its state (move_from_id)"
            )
    problems += [f"{stack_id}: {a} is precious and new: add it to {ADDRESSES_FILE.name}" for a in new]
    return problems
