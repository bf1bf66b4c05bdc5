"""The usage section: what the cost estimate (`make cost`, shared/cost/) cannot read from the stacks, because it
depends on the traffic and not on the code: records per second, log volume, bytes through NAT, database storage.

Each key is an average over a month. The defaults are dev-sized guesses, stated here once and shown beside every
estimate (docs/cost.md); an environment file sets what it knows better. Nothing here changes what is deployed.
"""

from __future__ import annotations

from pydantic import Field

from shared.config.section import Section


class UsageConfig(Section):
    records_per_second: float = Field(
        10.0,
        ge=0,
        le=1_000_000,
        description="Records written to the ingest stream per second, averaged over the month (cost estimate: "
        "Kinesis PUT payload units and data, enhanced fan-out data).",
    )
    record_kb: float = Field(
        5.0,
        gt=0,
        le=1024,
        description="Average size of one record on the ingest stream, in KB (Kinesis bills PUT payload units of "
        "25 KB; a record is at most 1 MiB).",
    )
    aurora_expected_acu: float | None = Field(
        None,
        ge=0,
        le=256,
        description="ACUs each database instance runs at on average: the estimate's expected column. Unset: "
        "data.aurora.min_acu, the baseline (low is always min_acu, high max_acu). Between min_acu and max_acu.",
    )
    aurora_storage_gb: float = Field(
        10.0, ge=0, description="Data the Aurora cluster stores (GB-month): its storage is billed by what it holds."
    )
    aurora_io_millions: float = Field(
        5.0, ge=0, description="Millions of Aurora I/O requests a month (Aurora Standard bills each read and write)."
    )
    aurora_backup_gb: float = Field(
        0.0,
        ge=0,
        description="Backup storage beyond the free amount (which equals the cluster's storage while the backups "
        "are within backup_retention_days), in GB-month.",
    )
    backup_vault_gb: float = Field(
        12.0,
        ge=0,
        description="Aurora snapshots each AWS Backup vault holds (the copy vault as much), in GB-month: about the "
        "cluster's data once, then each day's changes for data.backup's retention.",
    )
    backup_copy_gb_per_month: float = Field(
        3.0,
        ge=0,
        description="Snapshot data copied to data.backup.copy_region a month, in GB (billed as data transfer "
        "between regions): the first copy is whole, later ones carry a day's changes.",
    )
    enhanced_monitoring_gb_per_instance: float = Field(
        0.5,
        ge=0,
        description="OS metrics each database instance sends to CloudWatch Logs (RDSOSMetrics) a month, in GB, "
        "where data.aurora.enhanced_monitoring is on (one record a minute).",
    )
    task_logs_gb_per_day: float = Field(
        0.1, ge=0, description="Log data the workers write to CloudWatch Logs a day, in GB (all tasks together)."
    )
    flow_logs_gb_per_day: float = Field(
        0.05,
        ge=0,
        description="VPC flow log data a day, in GB (vended logs); it grows with network.flow_logs_traffic ALL.",
    )
    database_logs_gb_per_day: float = Field(
        0.01, ge=0, description="PostgreSQL log data the cluster exports to CloudWatch Logs a day, in GB."
    )
    nat_gb_per_month: float = Field(
        10.0,
        ge=0,
        description="Data the NAT gateways process a month, in GB, shared evenly between them (only where "
        "network.nat_gateways is above 0).",
    )
    endpoint_gb_per_month: float = Field(
        10.0,
        ge=0,
        description="Data through the interface VPC endpoints a month, in GB, shared evenly between them (only "
        "where network.interface_endpoints is on).",
    )
    sqs_requests_millions: float = Field(
        0.1,
        ge=0,
        description="Millions of requests to the dead-letter queue a month (the workers' polls count too: a "
        "long poll is one request per 20 s per worker).",
    )
    lease_table_writes_millions: float = Field(
        1.0,
        ge=0,
        description="Millions of write request units to the lease tables a month, shared evenly between them "
        "(lease renewals and checkpoints: about one per shard every few seconds).",
    )
    lease_table_reads_millions: float = Field(
        2.0,
        ge=0,
        description="Millions of read request units from the lease tables a month, shared evenly between them.",
    )
    lease_table_storage_gb: float = Field(
        0.01, ge=0, description="Data the lease tables hold together, in GB (a few hundred bytes a shard)."
    )
    state_bucket_gb: float = Field(
        0.1,
        ge=0,
        description="Data the environment's state bucket holds, in GB, every state version kept included "
        "(make bootstrap creates the bucket; the estimate lists it under `state`).",
    )
