"""`make destroy ENV=<env> CONFIRM=<suffix> [STACK=a,b]`: the chosen stacks destroyed, dependants first; never
a protected environment."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.ops.runner.run import perform
from shared.paths import OUTPUTS_DIR


def destroy(
    env: EnvironmentConfig,
    *,
    stack_names: str | None = None,
    confirm: str | None = None,
    outdir: Path = DEFAULT_OUTDIR,
    outputs_dir: Path = OUTPUTS_DIR,
) -> None:
    perform("destroy", env, stack_names=stack_names, confirm=confirm, outdir=outdir, outputs_dir=outputs_dir)
