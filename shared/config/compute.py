"""The compute section: the ECS Fargate workers, their size, count and scaling."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.config.problems import raise_if
from shared.config.section import Section

# Fargate task sizes: cpu units -> the memory sizes (MiB) AWS accepts with them.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
    8192: tuple(range(16384, 61441, 4096)),
    16384: tuple(range(32768, 122881, 8192)),
}


class ComputeConfig(Section):
    image: str = Field(
        "public.ecr.aws/streamflix/video-worker:1.0.0",
        description="Container image of the video worker.",
        min_length=3,
    )
    cpu: int = Field(256, description="Fargate task CPU units (256, 512, 1024, ...).")
    memory: int = Field(512, description="Fargate task memory (MiB); must suit cpu.")
    architecture: Literal["X86_64", "ARM64"] = Field("X86_64", description="CPU architecture of the task.")
    desired_count: int = Field(1, ge=0, le=1000, description="Tasks running after a deploy.")
    min_count: int = Field(1, ge=0, le=1000, description="Auto scaling lower bound.")
    max_count: int = Field(1, ge=1, le=1000, description="Auto scaling upper bound (at most the shard count).")
    cpu_target_percent: int = Field(60, ge=10, le=90, description="Average task CPU that auto scaling aims for.")
    lag_target_ms: int = Field(
        10_000,
        ge=1_000,
        le=86_400_000,
        description="Consumer lag that auto scaling aims for (ms): the iterator age when polling, "
        "MillisBehindLatest with enhanced fan-out. Lag is the first scaling signal, CPU the second.",
    )
    ephemeral_storage_gib: int = Field(
        21,
        ge=21,
        le=200,
        description="Fargate ephemeral storage (GiB) behind the worker's scratch volume at /tmp and its work "
        "directory; the root filesystem stays read-only.",
    )
    stop_timeout_seconds: int = Field(
        120,
        ge=2,
        le=120,
        description="Seconds a worker gets between the SIGTERM that stops it (a deploy, a scale-in) and the "
        "SIGKILL: the time to stop taking leases, checkpoint and release them. Fargate's default is 30; 120 is "
        "its maximum, and a video job's checkpoint needs it.",
    )
    health_check_command: tuple[str, ...] = Field(
        ("CMD-SHELL", 'test -n "$(find /tmp/worker-heartbeat -mmin -2 2>/dev/null)"'),
        description="The worker container's health check, in ECS's form (CMD and its arguments, or CMD-SHELL and "
        "one command line). The default asks that the worker touched /tmp/worker-heartbeat in the last two "
        "minutes, so a hung worker is replaced, not only a dead one.",
        strict=False,
    )
    health_check_start_period_seconds: int = Field(
        60,
        ge=0,
        le=300,
        description="Seconds after a worker starts during which a failing health check does not count (ECS "
        "allows 0-300): the time it needs to take its first leases.",
    )
    spot_percent: int = Field(
        0,
        ge=0,
        le=100,
        description="Share of the workers run on Fargate Spot (about 70% cheaper; AWS may stop a Spot task with "
        "two minutes' notice, a SIGTERM the worker contract already handles). 0 runs every task on Fargate; above "
        "0 the service takes a capacity provider strategy: one task always on Fargate, the rest shared by this "
        "weight. Not in a protected environment. Changing 0 to more, or back, replaces the service (a short gap "
        "in processing while its tasks restart).",
    )
    autoscaling: bool = Field(
        True,
        description="Scale the service between min_count and max_count. false runs exactly desired_count "
        "tasks: no scaling target or policy, and a deploy resets the count to desired_count.",
    )

    @model_validator(mode="after")
    def _sizes(self) -> ComputeConfig:
        problems = []
        if self.cpu not in FARGATE_SIZES:
            problems.append(("cpu", f"must be one of {sorted(FARGATE_SIZES)}, got {self.cpu}"))
        elif self.memory not in FARGATE_SIZES[self.cpu]:
            allowed = FARGATE_SIZES[self.cpu]
            problems.append(
                ("memory", f"{self.memory} MiB does not fit cpu {self.cpu}; allowed {allowed[0]}..{allowed[-1]}")
            )
        if self.min_count > self.max_count:
            problems.append(("min_count", f"{self.min_count} is above max_count ({self.max_count})"))
        elif not self.min_count <= self.desired_count <= self.max_count:
            problems.append(
                (
                    "desired_count",
                    f"{self.desired_count} is outside min_count..max_count ({self.min_count}..{self.max_count})",
                )
            )
        command = self.health_check_command
        if not command or command[0] not in ("CMD", "CMD-SHELL"):
            problems.append(("health_check_command", f"must start with CMD or CMD-SHELL, got {list(command)}"))
        elif len(command) < 2 or not all(part.strip() for part in command[1:]):
            problems.append(("health_check_command", f"{command[0]} needs a command after it, got {list(command)}"))
        elif command[0] == "CMD-SHELL" and len(command) != 2:
            problems.append(("health_check_command", f"CMD-SHELL takes one command line, got {len(command) - 1}"))
        raise_if(problems)
        return self
