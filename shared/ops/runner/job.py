"""One command over the chosen stacks of a prepared environment: what each stack's step needs to know."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.ops.engine.process import Engine
from shared.ops.engine.workdir import Stack
from shared.ops.runner import guard
from shared.ops.runner.preparation import Prepared
from shared.ops.runner.review import Reviewed
from shared.ops.state_bucket import errored_state, fingerprint


@dataclass
class Job:
    """One command over the chosen stacks of a prepared environment."""

    prepared: Prepared
    chosen: list[Stack]
    selection: list[str] | None
    outputs_dir: Path
    record_release: bool
    allowances: guard.Allowances | None = None  # a guarded deploy: the data guard judges each plan
    produced: dict = field(default_factory=dict)  # producers' outputs a speculative plan reads (plan, a review)
    force: bool = False  # FORCE=1: plan every stack, fingerprints or not
    revision: str = ""  # the git revision deployed, recorded with each fingerprint
    fingerprints: dict[str, fingerprint.Fingerprint] = field(default_factory=dict)  # computed this run
    origin: errored_state.Origin | None = None  # where a command that writes state runs (read-only: None)
    agreed: bool = False  # a yes was given: CONFIRM typed, or the prompt after the review
    reviewed: Reviewed | None = None  # what the review before the yes showed (none when CONFIRM was typed)
    applied: set[str] = field(default_factory=set)  # the stacks that applied changes in this run

    @property
    def env(self) -> EnvironmentConfig:
        return self.prepared.env

    @property
    def engine(self) -> Engine:
        return self.prepared.engine
