"""Deploy orchestration through the real engine: plan, deploy, destroy, outputs and drift, stack by stack.

Every stack is planned to a saved plan file and exactly that file is applied. Order comes from
the dependencies in cdktf.out/manifest.json (destroy runs in reverse). A failing stack stops
the run; the summary says what happened to each stack, and a rerun picks up from there.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.files import owner_only, write_atomically
from shared.ops import guard, locks, provider_install, releases, speculative, stacks, state_lock, steps
from shared.ops.aws import check_credentials, engine_environment
from shared.ops.confirm import require_confirmation
from shared.ops.engine import (
    INTERRUPTS,
    OUTPUT,
    Engine,
    EngineInterrupted,
    emit,
    find_engine,
)
from shared.ops.outcome import Outcome, Report, Status, write_report
from shared.ops.stacks import Stack, StackFailed, ordered_stacks, parse_selection
from shared.ops.steps import stack_outputs
from shared.paths import OUTPUTS_DIR
from shared.synthesis import synthesize_if_changed
from shared.workdirs import refuse_errored_state

# ------------------------------------------------------------------ commands


def parallelism() -> int:
    """PARALLELISM=: how many stacks read-only work (plan, drift, outputs) runs at once; 1 is serial."""
    value = os.environ.get("PARALLELISM", "4").strip() or "4"
    if not value.isdigit() or not 1 <= int(value) <= 32:
        raise UsageError(f"PARALLELISM={value!r}: give how many stacks to work on at once, 1 to 32")
    return int(value)


def _work(
    action: str,
    engine: Engine,
    outcome: Outcome,
    env: EnvironmentConfig,
    produced: dict,
    *,
    announce: bool,
    allowances: guard.Allowances | None = None,
) -> None:
    """One stack's part of `action`; the outcome records what happened (a failure included). With
    `allowances`, the plan is judged by the data guard before it is applied."""
    stack = outcome.stack
    started = time.monotonic()
    try:
        stacks.initialize(engine, stack)
        if announce:
            steps.announce(engine, stack)
        if action == "plan" and (missing := speculative.missing_reads(stack.workdir, produced)):
            _plan_speculatively(engine, outcome, env, missing)
            return
        if action == "drift":
            outcome.status = Status.DRIFTED if steps.plan(engine, stack, outcome) else Status.IN_SYNC
            return
        if action == "destroy":
            steps.keep_snapshot_key(engine, stack, env, outcome)
        changes = steps.plan(engine, stack, outcome, destroy=action == "destroy")
        if allowances is not None and not (verdict := guard.judge(stack.name, outcome.precious, allowances)).ok:
            outcome.status = Status.REFUSED
            outcome.refusal = guard.refusal(env, stack.id, verdict, allowances)  # its plan goes below, unapplied
        elif action == "plan":
            outcome.status = Status.PLANNED if changes else Status.NO_CHANGES
        elif not changes:
            outcome.status = Status.NO_CHANGES
        else:
            steps.apply(engine, stack)
            outcome.status = Status.DESTROYED if action == "destroy" else Status.APPLIED
    except StackFailed as exc:
        outcome.status = Status.FAILED
        outcome.error = f"({exc.step}) {exc.output}"
        if held := state_lock.from_engine_output(exc.output):
            outcome.note = f"state locked ({held.operation or 'by another run'}, lock ID {held.id})"
            outcome.hint = state_lock.what_to_do(env, stack.name, stack.id, held)
    except EngineInterrupted as exc:
        finished = exc.step == "apply" and exc.result.returncode == 0  # let finish: it completed
        done = Status.DESTROYED if action == "destroy" else Status.APPLIED
        outcome.status = done if finished else Status.INTERRUPTED
        raise
    finally:
        # Applied, found empty, refused or failed: the saved plan is of no further use to anyone, and it
        # holds the prior state of the stack.
        (stack.workdir / stack.plan_file).unlink(missing_ok=True)
        outcome.seconds = time.monotonic() - started


def _install_providers(engine: Engine, chosen: list[Stack]) -> None:
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


def _producer_outputs(engine: Engine, ordered: list[Stack], chosen: list[Stack]) -> dict[str, dict | None]:
    """Outputs (wiring included) of every stack a chosen one reads, read once before plans start, so
    that no two engines ever share a working directory. None: the stack has no state yet."""
    wanted = {p for s in chosen for p in speculative.producers(s.workdir)}
    found: dict[str, dict | None] = {}
    for stack in (s for s in ordered if s.id in wanted):
        stacks.initialize(engine, stack, quiet=True)
        found[stack.id] = steps.all_outputs(engine, stack) or None
    return found


def _plan_speculatively(engine: Engine, outcome: Outcome, env: EnvironmentConfig, missing: dict) -> None:
    """Plan against placeholders for what the producers lack; the plan file is removed at once."""
    outcome.note = "speculative: " + "; ".join(m.describe() for m in missing.values())
    emit(
        f"{outcome.stack.id} is planned speculatively ({outcome.note.removeprefix('speculative: ')}): "
        "placeholder values stand in for what it reads; nothing of this plan can be applied"
    )
    stand_in = replace(outcome.stack, workdir=speculative.prepare(env, outcome.stack.workdir, missing), lock_file=None)
    try:
        stacks.initialize(engine, stand_in)
        changes = steps.plan(engine, stand_in, outcome, lock=False)
    finally:
        (stand_in.workdir / stand_in.plan_file).unlink(missing_ok=True)
    outcome.status = Status.PLANNED if changes else Status.NO_CHANGES


def _in_parallel(
    action: str, engine: Engine, outcomes: list[Outcome], workers: int, env: EnvironmentConfig, produced: dict
) -> None:
    """Read-only work on several stacks at once; each stack's output is printed as one block."""
    printing = threading.Lock()

    def job(index: int, outcome: Outcome) -> None:
        OUTPUT.buffer = [f"\n=== {action} {outcome.stack.id}\n"]
        try:
            _work(action, engine, outcome, env, produced, announce=index == 0)
        finally:
            with printing:
                sys.stdout.write("".join(OUTPUT.buffer))
                sys.stdout.flush()
            OUTPUT.buffer = None

    interrupted: EngineInterrupted | None = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(job, i, o) for i, o in enumerate(outcomes)]:
            try:
                future.result()
            except EngineInterrupted as exc:
                interrupted = interrupted or exc
    if interrupted is not None:
        raise interrupted


def _check_neighbours(engine: Engine, action: str, env: EnvironmentConfig, ordered: list[Stack], chosen: list[Stack]):
    chosen_ids = {s.id for s in chosen}
    by_id = {s.id: s for s in ordered}
    if action == "destroy":
        # Destroying a stack that others still read would break them.
        for s in ordered:
            reads = sorted(chosen_ids & set(s.dependencies))
            if s.id not in chosen_ids and reads and steps.is_deployed(engine, s):
                raise UsageError(
                    f"{s.id} is deployed and depends on {', '.join(reads)}: destroy it first "
                    f"(STACK={s.name},...) or destroy everything (no STACK=); nothing was changed"
                )
        return
    needed = sorted({d for s in chosen for d in s.dependencies} - chosen_ids, key=[s.id for s in ordered].index)
    for dep in needed:
        if not steps.is_deployed(engine, by_id[dep]):
            raise UsageError(
                f"{dep} {_never_or_destroyed(env)} in {env.suffix}, and {', '.join(s.id for s in chosen)} "
                f"reads its state: deploy it first (make deploy ENV={env.name} STACK={by_id[dep].name}) "
                f"or deploy everything (make deploy ENV={env.name}); nothing was changed"
            )


def _never_or_destroyed(env: EnvironmentConfig) -> str:
    """Why a stack has no state, in words: the release records tell a destroy from a first time."""
    try:
        history = releases.history(env)
    except UsageError:  # the records cannot be read: say no more than is known
        return "is not deployed"
    if history and history[-1].destroyed:
        return f"was destroyed ({history[-1].deployed_at}, by {history[-1].deployed_by})"
    return "has never been deployed"


def write_outputs(engine: Engine, env: EnvironmentConfig, ordered: list[Stack], outputs_dir: Path) -> Path:
    def read(stack: Stack) -> dict:
        stacks.initialize(engine, stack, quiet=True)
        return stack_outputs(engine, stack)

    with ThreadPoolExecutor(max_workers=parallelism()) as pool:
        collected = dict(zip([s.name for s in ordered], pool.map(read, ordered), strict=True))
    outputs_dir.mkdir(parents=True, exist_ok=True)
    written = write_atomically(
        outputs_dir / f"{env.suffix}.json", json.dumps(collected, indent=2, sort_keys=True) + "\n"
    )
    owner_only(outputs_dir)
    return written


@dataclass(frozen=True)
class Prepared:
    """An environment ready for the engine: engine found, credentials checked, stacks synthesized."""

    env: EnvironmentConfig
    engine: Engine
    identity: dict
    ordered: list[Stack]


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
    locks.hold(outdir, [env.suffix])  # held until this command ends
    outdir = synthesize_if_changed(env, Path(outdir))
    owner_only(outdir)  # what an earlier version left readable to others (plans, state copies, JSON)
    engine = engine.configured(engine_environment(env), outdir)
    return Prepared(env, engine, identity, ordered_stacks(outdir, env))


def _release_can_be_recorded(env: EnvironmentConfig, action: str) -> None:
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


def run(
    action: str,
    env: EnvironmentConfig,
    *,
    stacks: str | None = None,
    outdir: Path = DEFAULT_OUTDIR,
    outputs_dir: Path = OUTPUTS_DIR,
    confirm: str | None = None,
    record_release: bool = True,
    allow_replace: str | None = None,
) -> int:
    """One of plan, deploy, destroy, outputs, drift. Returns the exit code; raises UsageError for exit 2.
    `allow_replace` (ALLOW_REPLACE=, deploy only) names the precious resources a deploy may destroy."""
    selection = parse_selection(stacks)
    state_lock.wait_seconds()  # a bad STATE_LOCK_TIMEOUT stops the command before anything runs
    allowances = guard.Allowances.parse(allow_replace)
    if allowances.named and action != "deploy":
        raise UsageError(f"ALLOW_REPLACE= is for make deploy and make promote, not make {action}; nothing was changed")
    prepared = prepare(action, env, outdir=outdir, confirm=confirm, selection=selection)
    if action in ("deploy", "destroy") and selection is None and record_release:
        _release_can_be_recorded(env, action)  # after the engine and credentials checks, before any stack
    return execute(
        action,
        prepared,
        selection=selection,
        outputs_dir=outputs_dir,
        record_release=record_release,
        allowances=allowances,
    )


def execute(
    action: str,
    prepared: Prepared,
    *,
    selection: list[str] | None = None,
    outputs_dir: Path = OUTPUTS_DIR,
    record_release: bool = True,
    allowances: guard.Allowances | None = None,
) -> int:
    """Run `action` over prepared stacks (several actions may share one preparation). A deploy of any
    environment but a suffix copy is guarded: see shared/ops/guard.py."""
    env, engine, identity, ordered = prepared.env, prepared.engine, prepared.identity, prepared.ordered
    if action == "outputs":
        refuse_errored_state([s.workdir for s in ordered])
        try:
            path = write_outputs(engine, env, ordered, outputs_dir)
            steps.announce(engine, ordered[0])
        except StackFailed as exc:
            raise OperationFailed(f"reading outputs ({exc.step}):\n{exc.output}") from None
        print(f"wrote {path}")
        return 0

    chosen = [s for s in ordered if selection is None or s.name in selection]
    refuse_errored_state([s.workdir for s in chosen])
    if action == "destroy":
        chosen.reverse()
    report = Report(action, env, [Outcome(s) for s in chosen])
    guarding = action == "deploy" and guard.guarded(env)
    allowances = (allowances or guard.Allowances()) if guarding else None
    if allowances is not None:
        guard.check_selection(allowances, [s.name for s in chosen], env)
    try:
        if selection is not None:
            _check_neighbours(engine, action, env, ordered, chosen)
    except StackFailed as exc:
        raise OperationFailed(f"checking the other stacks ({exc.step}):\n{exc.output}") from None

    read_only = action in ("plan", "drift")
    workers = parallelism() if read_only else 1
    try:
        produced = _producer_outputs(engine, ordered, chosen) if action == "plan" else {}
    except StackFailed as exc:
        raise OperationFailed(f"reading the state of the stacks read by others ({exc.step}):\n{exc.output}") from None
    try:
        with INTERRUPTS.handling():
            if action in ("deploy", "destroy"):
                _install_providers(engine, chosen)
            if workers > 1 and len(report.outcomes) > 1:
                _in_parallel(action, engine, report.outcomes, workers, env, produced)
            else:
                for i, outcome in enumerate(report.outcomes):
                    emit(f"\n=== {action} {outcome.stack.id}")
                    _work(action, engine, outcome, env, produced, announce=i == 0, allowances=allowances)
                    if outcome.status in (Status.FAILED, Status.REFUSED) and not read_only:
                        break  # later stacks are not touched
    except EngineInterrupted as exc:
        report.print()
        write_report(report, outputs_dir)
        stopped = [o.stack.id for o in report.outcomes if o.status == Status.INTERRUPTED]
        if stopped:
            what = (
                f"was interrupted during {exc.step or 'the start'} of {', '.join(stopped)}; the engine "
                "stopped with its state saved"
            )
        else:
            done = [o.stack.id for o in report.outcomes if o.status not in (Status.NOT_RUN, Status.FAILED)]
            finished = f"{done[-1]} finished and saved its state" if done else "no stack had started"
            what = f"was interrupted after {finished}; no further stack was started"
        print(
            f"\n{action} of {env.suffix} {what}. No outputs or release were recorded; run the same command "
            "again to go on from there.",
            file=sys.stderr,
        )
        return exc.exit_code
    report.print()
    write_report(report, outputs_dir)
    if report.refused:
        raise UsageError("\n\n".join(o.refusal for o in report.refused))

    if action == "drift":
        drifted = [o.stack.id for o in report.outcomes if o.status == Status.DRIFTED]
        if drifted:
            print(f"\ndrift in {', '.join(drifted)}")
        elif not report.failed:
            print(f"\nno drift in {env.suffix}")
        return 1 if drifted or report.failed else 0
    if report.failed:
        if read_only:
            print(f"\n{action} of {env.suffix}: a stack could not be planned (see above).")
        else:
            print(f"\n{action} of {env.suffix} stopped at the failed stack; fix it and run the same command again.")
        return 1
    if action == "deploy":
        try:
            print(f"wrote {write_outputs(engine, env, ordered, outputs_dir)}")
        except StackFailed as exc:
            raise OperationFailed(f"deployed, but reading the outputs failed ({exc.step}):\n{exc.output}") from None
        if record_release and selection is None:
            try:
                releases.record(env, deployed_by=identity.get("Arn", "unknown"))
            except UsageError as exc:
                # Promotion trusts the records: an unrecorded deploy is a failed operation.
                print(
                    f"failed: {env.suffix} is deployed, but its release was not recorded: {exc}\n"
                    f"Once the state bucket accepts writes, run make deploy ENV={env.name} again: it changes "
                    "nothing and records the release.",
                    file=sys.stderr,
                )
                return 1
    if action == "destroy" and selection is None and not report.failed:
        try:
            releases.record_destroyed(env, destroyed_by=identity.get("Arn", "unknown"))
        except UsageError as exc:
            print(f"failed: {env.suffix} is destroyed, but that was not recorded: {exc}", file=sys.stderr)
            return 1
    return 0
