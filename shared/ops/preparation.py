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
from shared.ops import environment_lock, images, provider_install, releases, stacks
from shared.ops.aws import check_credentials, engine_environment
from shared.ops.confirm import require_confirmation
from shared.ops.engine import Engine, find_engine
from shared.ops.stacks import Stack, StackFailed, ordered_stacks
from shared.synthesis import synthesize_if_changed


@dataclass(frozen=True)
class Prepared:
    """An environment ready for the engine: engine found, credentials checked, stacks synthesized."""

    env: EnvironmentConfig  # with compute.image pinned to its digest, where the command resolved it
    engine: Engine
    identity: dict
    ordered: list[Stack]
    image: images.Resolved | None = None  # the configured image and its digest (deploy, plan, drift)


def prepare(
    action: str,
    env: EnvironmentConfig,
    *,
    outdir: Path = DEFAULT_OUTDIR,
    confirm: str | None = None,
    selection: list[str] | None = None,
    credentials: bool = True,
) -> Prepared:
    """Everything that must hold before the engine touches anything; raises UsageError (exit 2)."""
    if action == "destroy" and env.protected:
        raise UsageError(
            f"{env.suffix} is protected: the tool never destroys it, and its precious resources carry "
            "prevent_destroy, so the engine would refuse too. To take it down on purpose, set protected: false "
            f"in its environment file and deploy that first (make deploy ENV={env.name}); nothing was changed"
        )
    engine = find_engine()
    require_confirmation(env, action, confirm, selection)
    identity = check_credentials(env) if credentials else {}
    image = None
    if credentials and action in ("deploy", "plan", "drift"):  # what a deploy runs, and what plans compare with
        env, image = images.for_deploy(env)
    environment_lock.hold(outdir, [env.suffix])  # held until this command ends
    outdir = synthesize_if_changed(env, Path(outdir))
    owner_only(outdir)  # what an earlier version left readable to others (plans, state copies, JSON)
    engine = engine.configured(engine_environment(env), outdir)
    return Prepared(env, engine, identity, ordered_stacks(outdir, env), image)


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
            stacks.initialize(engine, stack, quiet=True)
        except StackFailed as exc:
            doc = json.loads((stack.workdir / "cdk.tf.json").read_text())
            message = provider_install.explain(exc.output, stack.id, doc)
            if message is not None:
                raise UsageError(message) from None
            raise OperationFailed(f"initializing {stack.id} failed, so no stack was touched:\n{exc.output}") from None
