"""Names the stacks and the operational tools agree on; light to import (no provider bindings)."""

from pathlib import Path

# The oldest Terraform and OpenTofu the project runs on: write-only arguments (the database password, never
# in state) arrived in 1.11 in both. The engine check enforces it; synthesis declares it to the toolchain.
ENGINE_FLOOR = (1, 11)

# Where synthesis writes: cdktf.out/stacks/<id>/cdk.tf.json and cdktf.out/manifest.json.
DEFAULT_OUTDIR = Path("cdktf.out")

# The key identifiers every stack exposes as top-level outputs, under exactly these names (docs/stacks.md).
CONTRACT_OUTPUTS = {
    "network": ("vpc_id",),
    "data": ("kinesis_stream_name", "rds_cluster_endpoint", "dlq_url", "db_secret_arn"),
    "compute": ("ecs_cluster_name",),
}

# Keys of the connection JSON in the database secret: what the workers read (as DB_<KEY>). The host is not
# among them: the secret is written before the cluster exists; the workers get DB_HOST from their task.
SECRET_KEYS = ("engine", "port", "dbname", "username", "password")

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
