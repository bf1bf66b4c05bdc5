"""The logs and monitoring sections: how long logs are kept, and the alarms and who they reach."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, field_validator

from shared.config import patterns
from shared.config.section import Section

# CloudWatch Logs accepts only these retention periods (days).
LOG_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip


class LogsConfig(Section):
    retention_days: int = Field(7, description="Retention of task and flow logs (CloudWatch values).")

    @field_validator("retention_days")
    @classmethod
    def _allowed(cls, value: int) -> int:
        if value not in LOG_RETENTION_DAYS:
            raise ValueError(f"must be one of the CloudWatch values {list(LOG_RETENTION_DAYS)}, got {value}")
        return value


Email = Annotated[str, Field(pattern=patterns.EMAIL.regex)]


HttpsUrl = Annotated[str, Field(pattern=patterns.HTTPS_URL.regex)]


class MonitoringConfig(Section):
    alarm_emails: tuple[Email, ...] = Field((), description="Addresses subscribed to the alarm topic.", strict=False)
    alarm_https_endpoints: tuple[HttpsUrl, ...] = Field(
        (),
        description="HTTPS endpoints (a pager, a chat webhook) subscribed to the alarm topic.",
        strict=False,
    )
    iterator_age_ms: int = Field(
        60_000, ge=1000, description="Consumer lag (Kinesis iterator age) that raises an alarm."
    )
    ecs_cpu_percent: int = Field(80, ge=1, le=100, description="Service CPU that raises an alarm.")
    ecs_memory_percent: int = Field(80, ge=1, le=100, description="Service memory that raises an alarm.")
    aurora_capacity_percent: int = Field(
        90, ge=10, le=100, description="Aurora capacity, as a share of max_acu, that raises an alarm."
    )
    aurora_cpu_percent: int = Field(80, ge=1, le=100, description="Aurora CPU that raises an alarm.")
    dlq_age_percent: int = Field(
        50,
        ge=1,
        le=99,
        description="Age of the oldest failed job, as a share of the dead-letter queue's retention, that raises "
        "an alarm: the rest of the retention is the time left to look at it before SQS deletes it unseen.",
    )
    aurora_freeable_memory_percent: int = Field(
        10,
        ge=1,
        le=50,
        description="The writer's freeable memory, as a share of its memory at max_acu (2 GiB an ACU), that raises "
        "an alarm while it runs at max_acu: below it, it can grow no further and starts to swap.",
    )
    aurora_connections_percent: int = Field(
        80,
        ge=10,
        le=95,  # connections never exceed max_connections: at 100% the alarm could never fire
        description="Connections to the writer, as a share of max_connections at max_acu, that raise an alarm: "
        "past max_connections new workers cannot connect.",
    )
    aurora_replica_lag_ms: int = Field(
        2000,
        ge=100,
        description="Replica lag (ms) that raises an alarm: a reader this far behind serves stale metadata, and a "
        "failover to it loses nothing but waits for it.",
    )
    paging_endpoint: HttpsUrl | None = Field(
        None,
        description="HTTPS endpoint of the paging service (a PagerDuty or Opsgenie CloudWatch integration URL) "
        "that the composite alarm pages: workers missing while work piles up. Required in a protected "
        "environment.",
    )
