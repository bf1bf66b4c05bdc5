"""Test plugin: every environment synthesized once per session, the tests reading its JSON; a copy of it for a
command to find its stacks up to date; dev in the variant shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import EnvironmentConfig, load_environment
from tests.support.synthesized import ENVIRONMENTS, VARIANTS, Synthesized, variant


@pytest.fixture(scope="session")
def configs() -> dict[str, EnvironmentConfig]:
    return {name: load_environment(name) for name in ENVIRONMENTS}


@pytest.fixture(scope="session")
def synth(configs, tmp_path_factory) -> Synthesized:
    from shared.app import synthesize

    out = synthesize(list(configs.values()), tmp_path_factory.mktemp("synth") / "cdktf.out")
    return Synthesized(out)


@pytest.fixture
def presynthesized(synth):
    """`seed(outdir)`: outdir holds the session's synthesis of every environment, stamps included, so a
    command there finds its stacks up to date and skips synthesis (shared/synth_cache.py), as a
    second command in a checkout does. Tests of synthesis itself start from an empty folder instead."""
    import shutil

    def seed(outdir: Path) -> Path:
        shutil.copytree(synth.outdir, outdir, ignore=shutil.ignore_patterns(".locks", ".manifest.lock"))
        return outdir

    return seed


@pytest.fixture(scope="session")
def variants(configs, tmp_path_factory) -> Synthesized:
    """dev in the VARIANTS shapes, each under its own suffix (the key)."""
    from shared.app import synthesize

    envs = [variant(configs["dev"], suffix, **changes) for suffix, changes in VARIANTS.items()]
    return Synthesized(synthesize(envs, tmp_path_factory.mktemp("variants") / "cdktf.out"))
