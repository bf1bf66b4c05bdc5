"""`make drift ENV=<env>`: every stack compared with what runs; OperationFailed when one differs."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.ops.runner.run import perform
from shared.paths import OUTPUTS_DIR


def drift(env: EnvironmentConfig, *, outdir: Path = DEFAULT_OUTDIR, outputs_dir: Path = OUTPUTS_DIR) -> None:
    perform("drift", env, outdir=outdir, outputs_dir=outputs_dir)
