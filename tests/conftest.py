"""Shared fixtures: every environment is synthesized once per session; tests read the JSON."""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from shared.config import EnvironmentConfig, available_environments, load_environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENTS = available_environments()


class Synthesized:
    """Read access to one synthesized output folder."""

    def __init__(self, outdir: Path):
        self.outdir = outdir

    @cache  # noqa: B019 - one instance per session
    def stack(self, stack: str, env: str) -> dict:
        return json.loads((self.outdir / "stacks" / f"{stack}-{env}" / "cdk.tf.json").read_text())

    def resources(self, stack: str, env: str, rtype: str) -> dict[str, dict]:
        return self.stack(stack, env).get("resource", {}).get(rtype, {})

    def one(self, stack: str, env: str, rtype: str) -> dict:
        found = self.resources(stack, env, rtype)
        assert len(found) == 1, f"expected one {rtype} in {stack}-{env}, found {sorted(found)}"
        return next(iter(found.values()))

    def outputs(self, stack: str, env: str) -> dict[str, dict]:
        return self.stack(stack, env).get("output", {})

    def manifest(self) -> dict:
        return json.loads((self.outdir / "manifest.json").read_text())


@pytest.fixture(scope="session")
def configs() -> dict[str, EnvironmentConfig]:
    return {name: load_environment(name) for name in ENVIRONMENTS}


@pytest.fixture(scope="session")
def synth(configs, tmp_path_factory) -> Synthesized:
    from shared.app import synthesize

    out = synthesize(list(configs.values()), tmp_path_factory.mktemp("synth") / "cdktf.out")
    return Synthesized(out)


def policy(resource: dict, key: str = "policy") -> dict:
    """A JSON policy document attribute, parsed (tokens stay as ${...} strings)."""
    return json.loads(resource[key])
