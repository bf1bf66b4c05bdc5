"""What is precious: the data-bearing resource types, each with what is lost when one goes.

This is the one list. The stacks read it to put `prevent_destroy` on every such resource of a
protected environment, the deploy guard (shared/ops/runner/guard.py) reads it to refuse a plan that
replaces or deletes one, and precious_addresses.json beside this file pins the addresses it selects.
Light to import: no provider bindings (the guard runs without them).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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
    "aws_secretsmanager_secret": "the database master's credentials, which the deploy's Data API logs in with",
    # Only a generated password has one (password_generator random or secrets_manager): a new version writes a
    # new password to the secret while the cluster keeps the old one (its write-only password is sent only when
    # password_version changes), and whatever logs in with the secret (the deploy, through the Data API) fails.
    "aws_secretsmanager_secret_version": "the database password the cluster has: a new version holds one the "
    "cluster does not, and the deploy can no longer make the workers' database user (raise "
    "data.aurora.password_version instead: that replaces it and updates the cluster in the same plan, see PAIRS)",
    "aws_sqs_queue": "every failed job waiting in the dead-letter queue",
    # All log groups, not only the audit ones: flow logs are the network's audit trail, the database's
    # log records every schema change, the workers' log is the only record of what a job did.
    "aws_cloudwatch_log_group": "the logs it holds (flow logs, the database's statement log, the workers' log)",
    # The recovery points live in the vaults, not in the plan; but a plan that goes makes no more of them, and
    # its rules decide how long each is kept (a retention cut is guarded below).
    "aws_backup_vault": "every recovery point in it: the database's backups, or their copies in the other region",
    "aws_backup_plan": "the daily backups of the database and their copies to the other region: none is made "
    "until a new plan is in place",
    "aws_backup_vault_lock_configuration": "the lock that keeps the vault's recovery points from deletion, whoever "
    "asks: without it they can be deleted before their time",
}


@dataclass(frozen=True)
class Pair:
    """Two attributes that carry one value into two resources: a replacement of the first resource forced by its
    attribute alone is no loss when the same plan updates the second's attribute to the same value (a generated
    password's deliberate change: the AWS provider replaces the secret version when its write-only version
    changes, and the cluster takes the password of that new version in the same apply)."""

    resource_type: str
    attribute: str
    partner_type: str
    partner_attribute: str


PAIRS: tuple[Pair, ...] = (
    Pair(
        "aws_secretsmanager_secret_version", "secret_string_wo_version", "aws_rds_cluster", "master_password_wo_version"
    ),
)


# What decides how long a precious resource keeps its data, or whether it survives a mistake: a plain
# update that lowers one of these numbers, or turns one of these switches the weak way, deletes data as
# surely as a replacement does (CloudWatch drops log events older than the new retention at once, SQS and
# Kinesis drop older messages and records, RDS deletes backups past the new window). Listed beside the
# types so that one list says both what is precious and how its data can be lost.


@dataclass(frozen=True)
class Retention:
    """A number: how long the resource keeps its data. Lowering it loses what is older than the new value."""

    attribute: str  # the attribute in the plan (dotted, with list indexes: point_in_time_recovery.0.enabled)
    seconds_per_unit: int  # the attribute's unit, in seconds (for words: "1 day", not "86400")
    what: str  # "log events", "DLQ messages": what is kept for that long
    forever: int | None = None  # the value that means "kept forever" (a log group's 0)
    # What is lost, in words: {what}, {after} (the new value) and {before} (the old one, or "forever").
    template: str = "{what} older than {after} (kept for {before} until now)"
    default: int | None = None  # what AWS keeps when the attribute is left out (removing it is setting this)

    def weakened(self, before: object, after: object) -> bool:
        before, after = self.default if before is None else before, self.default if after is None else after
        if not _number(before) or not _number(after) or before == after:
            return False
        if self.forever is not None and before == self.forever:
            return True  # forever -> anything
        if self.forever is not None and after == self.forever:
            return False
        return after < before

    def lost(self, before: object, after: object) -> str:
        before, after = self.default if before is None else before, self.default if after is None else after
        return self.template.format(what=self.what, after=self.words(after), before=self.words(before))

    def words(self, value: object) -> str:
        if value == self.forever:
            return "ever"
        if not value:
            return f"0 {_UNITS[self.seconds_per_unit]}s"
        return duration(int(value) * self.seconds_per_unit)


@dataclass(frozen=True)
class Switch:
    """A yes/no that keeps the resource's data through a mistake: setting it to `weak` weakens that."""

    attribute: str
    weak: bool  # the value that weakens
    lost: str  # what that costs, in one sentence
    default: bool | None = None  # what AWS does when the attribute (or its block) is left out

    def weakened(self, before: object, after: object) -> bool:
        before, after = self.default if before is None else before, self.default if after is None else after
        return isinstance(after, bool) and after is self.weak and before is (not self.weak)


DAY, HOUR = 86400, 3600
_UNITS = {DAY: "day", HOUR: "hour", 60: "minute", 1: "second"}
WEAKENINGS: dict[str, tuple[Retention | Switch, ...]] = {
    "aws_rds_cluster": (
        Retention("backup_retention_period", DAY, "automated backups (points in time to restore to)", default=1),
        Switch("deletion_protection", False, "the database can be deleted by any call, the engine's included", False),
        Switch("skip_final_snapshot", True, "deleting the cluster keeps no final snapshot of its data", False),
        Switch("delete_automated_backups", True, "deleting the cluster deletes its automated backups with it", True),
    ),
    "aws_kinesis_stream": (Retention("retention_period", HOUR, "jobs on the stream", default=24),),
    "aws_sqs_queue": (Retention("message_retention_seconds", 1, "DLQ messages", default=345600),),
    "aws_cloudwatch_log_group": (Retention("retention_in_days", DAY, "log events", forever=0, default=0),),
    "aws_kms_key": (
        Retention(
            "deletion_window_in_days",
            DAY,
            "the key",
            template="a deletion of {what} by mistake can be cancelled for {after} (for {before} until now)",
            default=30,
        ),
        Switch("is_enabled", False, "whatever the key encrypts cannot be read while it is disabled", True),
    ),
    "aws_secretsmanager_secret": (
        Retention(
            "recovery_window_in_days",
            DAY,
            "the secret",
            template="{what}, deleted by mistake, can be restored for {after} (for {before} until now)",
            default=30,
        ),
    ),
    "aws_backup_plan": (
        Retention(
            "rule.0.lifecycle.0.delete_after",
            DAY,
            "recovery points",
            forever=0,
            default=0,
            template="{what} made from now on are deleted after {after} (kept for {before} until now)",
        ),
        Retention(
            "rule.0.copy_action.0.lifecycle.0.delete_after",
            DAY,
            "copies in the other region",
            forever=0,
            default=0,
            template="{what} made from now on are deleted after {after} (kept for {before} until now)",
        ),
    ),
    "aws_backup_vault": (
        Switch("force_destroy", True, "deleting the vault deletes every recovery point in it first", False),
    ),
    "aws_backup_vault_lock_configuration": (
        Retention(
            "min_retention_days",
            DAY,
            "recovery points",
            template="{what} can be deleted after {after} (locked for {before} until now)",
        ),
    ),
    "aws_dynamodb_table": (
        Switch(
            "point_in_time_recovery.0.enabled", False, "the workers' leases lose their point-in-time backups", False
        ),
        Switch(
            "deletion_protection_enabled", False, "the table can be deleted by any call, the engine's included", False
        ),
    ),
}


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def duration(seconds: int) -> str:
    """`1 day`, `36 hours`, `90 seconds`: the largest unit that divides it."""
    for size, unit in _UNITS.items():
        if seconds % size == 0 and seconds >= size or size == 1:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    raise AssertionError("unreachable")


def attribute(values: dict | None, dotted: str) -> object:
    """A (nested) attribute of a plan's before or after values; None where it is absent."""
    node: object = values or {}
    for part in dotted.split("."):
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    return node


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
