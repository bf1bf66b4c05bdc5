"""`make promote FROM=<env> TO=<env>`: move the revision running in one environment to the next, behind gates.

Gates, in order, each stopping the promotion with its reason before anything in TO is touched:
  1. the working tree is clean (what is deployed is exactly a commit);
  2. the checked-out revision is the one recorded as running in FROM;
  3. FROM has no drift;
  4. smoke passes in FROM.
Then TO is deployed stack by stack with FROM's image (a protected TO shows its plans, then asks for its yes),
smoke runs in TO, and the release is recorded in TO.
"""

from __future__ import annotations

import sys
from pathlib import Path

from shared.config import PROMOTION_ORDER, EnvironmentConfig, load_environment
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.image_ref import parse
from shared.ops.aws import check_credentials, one_command
from shared.ops.commands import smoke
from shared.ops.engine.discovery import find_engine
from shared.ops.runner import confirm as consent
from shared.ops.runner import environment_lock, guard, preparation
from shared.ops.runner import run as runner
from shared.ops.state_bucket import protection, releases
from shared.paths import OUTPUTS_DIR


def _step(source: str, target: str) -> None:
    order = " -> ".join(PROMOTION_ORDER)
    if source not in PROMOTION_ORDER or target not in PROMOTION_ORDER:
        raise UsageError(f"promotion moves along {order}; {source or '(none)'} -> {target or '(none)'} is not on it")
    if PROMOTION_ORDER.index(target) != PROMOTION_ORDER.index(source) + 1:
        raise UsageError(f"promotion goes one step forward along {order}; {source} -> {target} is not one step")


def _gate(number: int, text: str) -> None:
    print(f"gate {number}: {text}: ok", flush=True)


def _with_image(env: EnvironmentConfig, image: str) -> EnvironmentConfig:
    return env.model_copy(update={"compute": env.compute.model_copy(update={"image": image})})


@one_command()  # the clients of both environments, made once for the whole promotion
def promote(
    source: str,
    target: str,
    *,
    outdir: Path = DEFAULT_OUTDIR,
    outputs_dir: Path = OUTPUTS_DIR,
    confirm: str | None = None,
    allow_replace: str | None = None,
    force: bool = False,
) -> None:
    _step(source, target)
    guard.Allowances.parse(allow_replace)  # a malformed value fails now, not after the gates
    src, dst = load_environment(source), load_environment(target)
    find_engine()
    environment_lock.hold(outdir, [src.suffix, dst.suffix])  # neither may change under the promotion
    # Check TO's credentials, and refuse a protected TO without CONFIRM where nobody can be asked, before the gates,
    # not after minutes of checks (a terminal is asked once TO's plans are shown); TO as its state location records
    # it: protected there is protected, whatever its file says now.
    identity = check_credentials(dst)
    recorded = protection.read(dst)
    if line := protection.overridden(dst, recorded):
        print(line, flush=True)
    dst = protection.effective(dst, recorded)
    consent.named(dst, confirm)
    if consent.needs_yes(dst, "deploy") and not confirm and not sys.stdin.isatty():
        consent.obtain(dst, "deploy")
    # FROM is synthesized once; the drift gate and the outputs for smoke share it.
    source_stacks = preparation.prepare("drift", src, outdir=outdir)

    if changed := releases.uncommitted():
        shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
        raise OperationFailed(
            f"gate 1: the working tree has uncommitted changes ({shown}); commit or stash them. {target} untouched"
        )
    _gate(1, "working tree is clean")

    head = releases.current_revision()
    running = releases.latest(src)
    if running is None:
        raise OperationFailed(
            f"gate 2: nothing is recorded as running in {source} (never deployed, or destroyed); "
            f"deploy it there first. {target} untouched"
        )
    if running.revision != head:
        raise OperationFailed(
            f"gate 2: {source} runs {running.revision[:12]} but this checkout is {head[:12]}; "
            f"check out {running.revision[:12]} to promote it, or deploy {head[:12]} to {source} first. "
            f"{target} untouched"
        )
    if not running.clean:
        raise OperationFailed(
            f"gate 2: {source} runs {head[:12]} plus uncommitted changes; deploy a commit to {source} first. "
            f"{target} untouched"
        )
    _gate(2, f"{head[:12]} is what runs in {source}")

    try:
        runner.execute("drift", source_stacks, outputs_dir=outputs_dir)
    except OperationFailed as exc:
        raise OperationFailed(f"gate 3: {source} has drifted from the code ({exc}). {target} untouched") from None
    _gate(3, f"no drift in {source}")

    runner.execute("outputs", source_stacks, outputs_dir=outputs_dir)
    try:
        smoke.run(src, outputs_dir)
    except OperationFailed:
        raise OperationFailed(f"gate 4: smoke failed in {source} (see above). {target} untouched") from None
    _gate(4, f"smoke passes in {source}")

    print(f"\npromoting {head[:12]} ({running.image}) from {source} to {target}", flush=True)
    # FROM's digest, never its tag: TO runs exactly the bits FROM was checked with.
    carried = parse(running.image).pinned(running.digest) if running.digest else running.image
    target_env = _with_image(dst, carried)
    try:
        runner.perform(
            "deploy",
            target_env,
            outdir=outdir,
            outputs_dir=outputs_dir,
            confirm=confirm,
            record_release=False,
            allow_replace=allow_replace,
            force=force,
        )
    except OperationFailed:
        raise OperationFailed(
            f"deploying {target} failed (see the summary above); rerun the promotion to resume"
        ) from None
    try:
        smoke.run(target_env, outputs_dir)
    except OperationFailed:
        raise OperationFailed(
            f"{target} is deployed but smoke fails there; roll back by checking out the previous release "
            f"(make releases) and running make deploy ENV={target}"
        ) from None
    releases.record(
        target_env,
        deployed_by=identity.get("Arn", "unknown"),
        revision=head,
        image=running.image,
        digest=running.digest,
    )
    print(f"promoted {head[:12]} to {target}")
