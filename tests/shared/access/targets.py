"""Targets of every environment, from the session's one synthesis (tests/support/fixtures_synthesis.py)."""

from __future__ import annotations

from shared.access.target import Target, read_synthesized, resources_of

ACCOUNT = "123456789012"


def target(synth, configs, name: str) -> Target:
    env = configs[name]
    return Target(env, ACCOUNT, "aws", resources_of(read_synthesized(env, synth.outdir / "stacks")))
