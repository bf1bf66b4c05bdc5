"""`make outputs ENV=<env>`: every stack's outputs, keyed by stack, written to outputs/<env>.json."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.ops.runner.run import perform
from shared.paths import OUTPUTS_DIR


def outputs(env: EnvironmentConfig, *, outdir: Path = DEFAULT_OUTDIR, outputs_dir: Path = OUTPUTS_DIR) -> None:
    perform("outputs", env, outdir=outdir, outputs_dir=outputs_dir)
