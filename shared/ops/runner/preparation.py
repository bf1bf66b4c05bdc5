"""What must hold before the engine touches anything: the engine found, the confirmation given, the
credentials checked, the environment locked, its stacks synthesized; a release that can be recorded;
every provider installed (the preflight of a command that changes things). Each failure is exit 2."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.files import owner_only
from shared.ops.aws import check_credentials, engine_environment
from shared.ops.engine import provider_install
from shared.ops.engine.discovery import find_engine
from shared.ops.engine.process import Engine
from shared.ops.engine.workdir import Stack, StackFailed, initialize
from shared.ops.runner import confirm as consent
from shared.ops.runner import environment_lock, images
from shared.ops.runner.selection import ordered_stacks
from shared.ops.state_bucket import protection, releases
from shared.synthesis import synthesize_if_changed


@dataclass(frozen=True)
class Prepared:
    """An environment ready for the engine: engine found, credentials checked, stacks synthesized."""

    env: EnvironmentConfig  # with compute.image pinned to its digest, where the command resolved it
    engine: Engine
    identity: dict
    ordered: list[Stack]
    image: images.Resolved | None = None  # the configured image and its digest (deploy, plan, drift)
    confirmed: bool = False  # a yes was typed for this environment (CONFIRM=)


def prepare(
    action: str,
    env: EnvironmentConfig,
    *,
    outdir: Path = DEFAULT_OUTDIR,
    confirm: str | None = None,
    credentials: bool = True,
) -> Prepared:
    """Everything that must hold before the engine touches anything; raises UsageError (exit 2). A command
    that changes things works on the environment as its state location records it (protected stays
    protected, whatever the file says now): Prepared.env is that environment."""
    refuse_protected_destroy(action, env)  # what the file says: before anything, not even the engine asked
    engine = find_engine()
    identity = check_credentials(env) if credentials else {}
    recorded = None
    if credentials and action in CHANGING:
        recorded = protection.read(env)
        if line := protection.overridden(env, recorded):
            print(line, flush=True)
        env = protection.effective(env, recorded)
        refuse_protected_destroy(action, env)
    # The yes itself comes after the plans, when they show what it approves (shared/ops/runner/run.py).
    confirmed = consent.named(env, confirm)
    if credentials and action == "deploy" and protection.needs_recording(env, recorded):
        protection.record(env, by=identity.get("Arn", ""), revision=releases.revision_or_unknown())
    image = None
    if credentials and action in ("deploy", "plan", "drift"):  # what a deploy runs, and what plans compare with
        env, image = images.for_deploy(env)
    environment_lock.hold(outdir, [env.suffix])  # held until this command ends
    outdir = synthesize_if_changed(env, Path(outdir))
    owner_only(outdir)  # what an earlier version left readable to others (plans, state copies, JSON)
    engine = engine.configured(engine_environment(env), outdir)
    return Prepared(env, engine, identity, ordered_stacks(outdir, env), image, confirmed)


# The commands that change an environment: each reads the protection its state location records.
CHANGING = ("deploy", "destroy", "unlock", "push-state")


def refuse_protected_destroy(action: str, env: EnvironmentConfig) -> None:
    """The tool never destroys a protected environment; the message says the only way that works."""
    if action != "destroy" or not env.protected:
        return
    if env.name == protection.ALWAYS_PROTECTED:
        how = (
            f"{env.name} is always protected: retire it by hand, resource by resource, after its data is "
            "saved elsewhere (docs/data-safety.md)"
        )
    else:
        how = (
            f"to take it down on purpose: set protected: false (and data.aurora.deletion_protection: false) in "
            f"{env.name}.yaml, run make unprotect ENV={env.name} CONFIRM={env.suffix}, then make deploy "
            f"ENV={env.name} with the ALLOW_REPLACE it asks for (turning deletion protection off is a finding), "
            f"then make destroy ENV={env.name} CONFIRM={env.suffix}"
        )
    raise UsageError(
        f"{env.suffix} is protected: the tool never destroys it, and its precious resources carry prevent_destroy. "
        f"{how}; nothing was changed"
    )


def release_can_be_recorded(env: EnvironmentConfig, action: str) -> None:
    """A whole-environment deploy or destroy ends by recording it (promotion trusts the records): one that
    could not be recorded must not start, rather than apply everything and then fail."""
    try:
        releases.current_revision()
        releases.tree_is_clean()
    except UsageError as exc:
        raise UsageError(
            f"make {action} ENV={env.name} records the git revision it {action}s, and this copy cannot tell it "
            f"({exc}). Work from a git clone of the repository (a `git archive` or a downloaded tarball has no "
            f"history), or {action} single stacks with STACK=, which records nothing; nothing was changed"
        ) from None


def install_providers(engine: Engine, chosen: list[Stack]) -> None:
    """Preflight of a command that changes things: every stack it will run is initialized (its providers
    installed, by the engine's own rules) before the first one is touched, so that a provider the machine
    cannot get stops the command with nothing applied, rather than after the stacks before it."""
    for stack in chosen:
        try:
            initialize(engine, stack, quiet=True)
        except StackFailed as exc:
            doc = json.loads((stack.workdir / "cdk.tf.json").read_text())
            message = provider_install.explain(exc.output, stack.id, doc)
            if message is not None:
                raise UsageError(message) from None
            raise OperationFailed(f"initializing {stack.id} failed, so no stack was touched:\n{exc.output}") from None
