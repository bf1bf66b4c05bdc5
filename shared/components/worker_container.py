"""The video worker's container definition: how it runs, stops, proves it is alive and logs; what it is told is
the compute stack's to say (its environment and secrets)."""

from __future__ import annotations

from shared.config.compute import ComputeConfig

CONTAINER_NAME = "worker"
SCRATCH_VOLUME = "scratch"
WORK_DIR = "/work"  # the worker's working directory, on the scratch volume like /tmp
# How often ECS runs the health check, how long one may take, and how many failures in a row make a worker
# unhealthy (ECS then replaces it): a hung worker is gone within about two minutes of the heartbeat going stale.
HEALTH_CHECK_INTERVAL_SECONDS = 30
HEALTH_CHECK_TIMEOUT_SECONDS = 5
HEALTH_CHECK_RETRIES = 3


def literal(text: str) -> str:
    """`text` as the engine must pass it on: `${` and `%{` are its own template syntax, so a shell's `${PORT}` is
    written `$${PORT}`, which the engine gives back as `${PORT}`."""
    return text.replace("${", "$${").replace("%{", "%%{")


def worker_container(cfg: ComputeConfig, *, environment: list[dict], log_group: str, region: str) -> dict:
    """The one container of the worker task: read-only root with scratch space, a clean stop, a health check."""
    return {
        "name": CONTAINER_NAME,
        "image": cfg.image,
        "essential": True,
        "readonlyRootFilesystem": True,
        "mountPoints": [
            {"sourceVolume": SCRATCH_VOLUME, "containerPath": path, "readOnly": False} for path in ("/tmp", WORK_DIR)
        ],
        "workingDirectory": WORK_DIR,
        "linuxParameters": {"initProcessEnabled": True},
        # On SIGTERM a worker stops taking leases, checkpoints and releases them (docs/stacks.md); ECS waits this
        # long before SIGKILL. Fargate's default of 30 s cuts a video job's checkpoint short.
        "stopTimeout": cfg.stop_timeout_seconds,
        "healthCheck": {
            "command": [literal(part) for part in cfg.health_check_command],
            "interval": HEALTH_CHECK_INTERVAL_SECONDS,
            "timeout": HEALTH_CHECK_TIMEOUT_SECONDS,
            "retries": HEALTH_CHECK_RETRIES,
            "startPeriod": cfg.health_check_start_period_seconds,
        },
        # No `secrets`: the workers log in to the database with an IAM token, so no credential is injected.
        "environment": environment,
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": CONTAINER_NAME,
            },
        },
    }
