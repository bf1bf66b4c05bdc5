"""`make deploy ENV=<env> [STACK=a,b] [CONFIRM=<suffix>] [ALLOW_REPLACE=<stack>:<address>,...] [FORCE=1]`:
what changed, planned and applied in dependency order behind the data guard; the release recorded."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.ops.runner.run import perform
from shared.paths import OUTPUTS_DIR


def deploy(
    env: EnvironmentConfig,
    *,
    stack_names: str | None = None,
    confirm: str | None = None,
    allow_replace: str | None = None,
    force: bool = False,
    outdir: Path = DEFAULT_OUTDIR,
    outputs_dir: Path = OUTPUTS_DIR,
) -> None:
    perform(
        "deploy",
        env,
        stack_names=stack_names,
        confirm=confirm,
        allow_replace=allow_replace,
        force=force,
        outdir=outdir,
        outputs_dir=outputs_dir,
    )
