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

# Keys the workers read from the database secret (`db_secret_arn`), as DB_<KEY>, whoever keeps the password:
# RDS's own secret holds exactly these. The host, port, database name and engine come from their task
# definition (DB_HOST, DB_PORT, DB_DBNAME, DB_ENGINE): RDS's secret does not hold them.
SECRET_KEYS = ("username", "password")
# The connection JSON a generated password's secret holds (password_generator random or secrets_manager):
# no host, because that secret is written before the cluster exists.
GENERATED_SECRET_KEYS = ("engine", "port", "dbname", "username", "password")

# The monitoring stack's metric alarms; each alarm is named streamflix-<id>-<suffix>. Smoke checks them all.
ALARM_IDS = (
    "kinesis-write-throttled",
    "kinesis-read-throttled",
    "kinesis-iterator-age",
    "dlq-messages",
    "dlq-oldest-message-age",
    "dlq-jobs-failing",
    "ecs-cpu-high",
    "ecs-memory-high",
    "ecs-tasks-below-desired",
    "aurora-capacity-high",
    "aurora-cpu-high",
    "aurora-freeable-memory-low",
    "aurora-connections-high",
    "aurora-replica-lag",
    "lease-table-throttled",
)
# The alarms the worker service watches while it deploys: one going into ALARM fails the deployment and ECS rolls
# back. Named, not referenced: the service (compute) comes before the alarms (monitoring) in the stack order.
DEPLOYMENT_ALARM_IDS = ("kinesis-iterator-age", "ecs-tasks-below-desired", "dlq-jobs-failing")
# The composite alarm that pages: work piles up while workers are missing (monitoring stack, the paging topic).
PAGING_ALARM_ID = "workers-missing-while-work-piles-up"
# The EventBridge rules that send ECS's own events to the alarm topic (monitoring stack); smoke checks each.
EVENT_RULE_IDS = ("worker-deployment-failed", "worker-stopped-unexpectedly")
