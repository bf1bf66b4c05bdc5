"""Names the stacks and the operational tools agree on; light to import (no provider bindings)."""

from pathlib import Path

# Where synthesis writes: cdktf.out/stacks/<id>/cdk.tf.json and cdktf.out/manifest.json.
DEFAULT_OUTDIR = Path("cdktf.out")

# The key identifiers every stack exposes as top-level outputs, under exactly these names (DESIGN.md).
CONTRACT_OUTPUTS = {
    "network": ("vpc_id",),
    "data": ("kinesis_stream_name", "rds_cluster_endpoint", "dlq_url", "db_secret_arn"),
    "compute": ("ecs_cluster_name",),
}

# Keys of the connection JSON in the database secret: what the workers read.
SECRET_KEYS = ("engine", "host", "port", "dbname", "username", "password")

# The monitoring stack's alarms; each alarm is named streamflix-<id>-<suffix>. Smoke checks them all.
ALARM_IDS = (
    "kinesis-write-throttled",
    "kinesis-read-throttled",
    "kinesis-iterator-age",
    "dlq-messages",
    "ecs-cpu-high",
    "ecs-memory-high",
    "ecs-tasks-below-desired",
    "aurora-capacity-high",
    "aurora-cpu-high",
)
