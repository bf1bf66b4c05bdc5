"""The DynamoDB tables a Kinesis Client Library (KCL 3.x) application keeps its leases and checkpoints in.

KCL names them after the application: `<app>` (one lease and checkpoint per shard, with the
`LeaseOwnerToLeaseKeyIndex` index it looks leases up by), `<app>-WorkerMetricStats` and
`<app>-CoordinatorState`. It creates whichever is missing; creating them here instead gives them
the pipeline key, point-in-time recovery and deletion protection, and lets the workers' role go
without dynamodb:CreateTable. The key schemas are KCL's own: a table that differs is not used.
"""

from __future__ import annotations

from dataclasses import dataclass

from constructs import Construct

from shared.cdk.aws.dynamodb_table import (
    DynamodbTable,
    DynamodbTableAttribute,
    DynamodbTableGlobalSecondaryIndex,
    DynamodbTablePointInTimeRecovery,
    DynamodbTableServerSideEncryption,
)

LEASE_OWNER_INDEX = "LeaseOwnerToLeaseKeyIndex"

# What KCL does with each table (AWS: "IAM permissions required for KCL consumer applications"),
# without CreateTable and UpdateTable: the tables and the index exist before the first worker starts.
LEASE_TABLE_ACTIONS = (
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Scan",
    "dynamodb:UpdateItem",
)
LEASE_INDEX_ACTIONS = ("dynamodb:Query",)
COORDINATION_TABLE_ACTIONS = LEASE_TABLE_ACTIONS


@dataclass(frozen=True)
class _TableSpec:
    id: str
    suffix: str
    hash_key: str


# KCL 3.x's schemas: the key each table is read by.
_LEASES = _TableSpec("leases", "", "leaseKey")
_WORKER_METRICS = _TableSpec("worker_metrics", "-WorkerMetricStats", "wid")
_COORDINATOR_STATE = _TableSpec("coordinator_state", "-CoordinatorState", "key")


class LeaseTables(Construct):
    """`lease_table`, `worker_metrics_table` and `coordinator_state_table` of the application `app_name`."""

    def __init__(self, scope: Construct, id: str, *, app_name: str, kms_key_arn: str, protected: bool) -> None:
        super().__init__(scope, id)
        self.app_name = app_name

        def table(spec: _TableSpec, **extra) -> DynamodbTable:
            attributes = {spec.hash_key, *extra.pop("index_keys", ())}
            return DynamodbTable(
                self,
                spec.id,
                name=f"{app_name}{spec.suffix}",
                billing_mode="PAY_PER_REQUEST",  # a handful of small writes a second: on-demand costs least
                hash_key=spec.hash_key,
                attribute=[DynamodbTableAttribute(name=a, type="S") for a in sorted(attributes)],
                point_in_time_recovery=DynamodbTablePointInTimeRecovery(enabled=True),
                server_side_encryption=DynamodbTableServerSideEncryption(enabled=True, kms_key_arn=kms_key_arn),
                # Losing the checkpoints means reprocessing the stream from its trim horizon.
                deletion_protection_enabled=protected,
                **extra,
            )

        self.lease_table = table(
            _LEASES,
            index_keys=("leaseOwner",),
            global_secondary_index=[
                DynamodbTableGlobalSecondaryIndex(
                    name=LEASE_OWNER_INDEX, hash_key="leaseOwner", range_key="leaseKey", projection_type="KEYS_ONLY"
                )
            ],
        )
        self.worker_metrics_table = table(_WORKER_METRICS)
        self.coordinator_state_table = table(_COORDINATOR_STATE)

    @property
    def coordination_tables(self) -> list[DynamodbTable]:
        return [self.worker_metrics_table, self.coordinator_state_table]
