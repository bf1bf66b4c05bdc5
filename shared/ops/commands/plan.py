"""`make plan ENV=<env> [STACK=a,b]`: every chosen stack planned, side by side; nothing applied, no state lock
taken. A stack whose producers are not deployed yet is planned speculatively."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.ops.runner.run import perform
from shared.paths import OUTPUTS_DIR


def plan(
    env: EnvironmentConfig,
    *,
    stack_names: str | None = None,
    outdir: Path = DEFAULT_OUTDIR,
    outputs_dir: Path = OUTPUTS_DIR,
) -> None:
    perform("plan", env, stack_names=stack_names, outdir=outdir, outputs_dir=outputs_dir)
