"""Synthesis when it is needed: the stacks of an environment as they are, or synthesized anew when what is
there is not what a synthesis would write now (shared/synth_cache.py decides). Light to import: the
provider bindings load only once there is work for them."""

from __future__ import annotations

from pathlib import Path

from shared.config import EnvironmentConfig
from shared.synth_cache import is_fresh
from shared.workdirs import require_node


def synthesize_if_changed(env: EnvironmentConfig, outdir: Path) -> Path:
    """The stacks of `env` in `outdir`, synthesized unless what is there is what a synthesis would write."""
    outdir = outdir.resolve()
    if is_fresh(env, outdir):
        print(f"{env.suffix}: the synthesized stacks in {outdir}/stacks/ are up to date (synthesis skipped)")
        return outdir
    require_node()
    from shared.app import synthesize  # the provider bindings load only once there is work for them

    return synthesize([env], outdir)
