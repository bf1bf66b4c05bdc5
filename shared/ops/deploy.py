"""Deploy orchestration through the real engine: plan, deploy, destroy, outputs and drift, stack by stack.

Every stack is planned to a saved plan file and exactly that file is applied. Order comes from
the dependencies in cdktf.out/manifest.json (destroy runs in reverse). A failing stack stops
the run; the summary says what happened to each stack, and a rerun picks up from there.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.ops import errored_state, fingerprint, guard, outputs, releases, speculative, stacks, state_lock, steps
from shared.ops.engine import (
    INTERRUPTS,
    OUTPUT,
    Engine,
    EngineInterrupted,
    emit,
)
from shared.ops.outcome import Outcome, Report, Status, write_report
from shared.ops.outputs import write_outputs
from shared.ops.preparation import Prepared, install_providers, prepare, release_can_be_recorded
from shared.ops.stacks import Stack, StackFailed, parallelism, parse_selection
from shared.paths import OUTPUTS_DIR

# ------------------------------------------------------------------ commands


@dataclass
class _Run:
    """One command over the chosen stacks of a prepared environment: what each stack's step needs."""

    prepared: Prepared
    chosen: list[Stack]
    selection: list[str] | None
    outputs_dir: Path
    record_release: bool
    allowances: guard.Allowances | None = None  # a guarded deploy: the data guard judges each plan
    produced: dict = field(default_factory=dict)  # the outputs plans read of producers (plan only)
    force: bool = False  # FORCE=1: plan every stack, fingerprints or not
    revision: str = ""  # the git revision deployed, recorded with each fingerprint
    fingerprints: dict[str, fingerprint.Fingerprint] = field(default_factory=dict)  # computed this run
    origin: errored_state.Origin | None = None  # where a command that writes state runs (read-only: None)

    @property
    def env(self) -> EnvironmentConfig:
        return self.prepared.env

    @property
    def engine(self) -> Engine:
        return self.prepared.engine


# ------------------------------------------------------------------ each command's step for one stack


def _plan_stack(run: _Run, outcome: Outcome) -> None:
    if missing := speculative.missing_reads(outcome.stack.workdir, run.produced):
        _plan_speculatively(run.engine, outcome, run.env, missing)
        return
    changes = steps.plan(run.engine, outcome.stack, outcome, lock=False)  # reviewed, never applied
    outcome.status = Status.PLANNED if changes else Status.NO_CHANGES
    # What differs from what runs: a pull request's plan shows which stacks it touches.
    now, applied = fingerprint.compare(run.env, outcome.stack, run.engine)
    if applied is not None and (now is None or now.digest != applied.digest):
        outcome.note = " ".join(filter(None, (outcome.note, f"changed since {applied.since()}")))


def _drift_stack(run: _Run, outcome: Outcome) -> None:
    drifted = steps.plan(run.engine, outcome.stack, outcome, lock=False)  # compared, never applied
    outcome.status = Status.DRIFTED if drifted else Status.IN_SYNC


def _unchanged_since(run: _Run, stack: Stack) -> fingerprint.Fingerprint | None:
    """The record a deploy may skip the stack on: its fingerprint now equals the one recorded when it was
    last applied (no init, no plan, no engine then). Computed now, after the stacks before it in this run:
    a producer re-applied with a changed output makes its consumers plan. FORCE=1 plans every stack. The
    fingerprint now is kept, to be recorded once the stack is applied."""
    now, applied = fingerprint.compare(run.env, stack, run.engine)
    if now is None:
        run.fingerprints.pop(stack.id, None)
        return None
    run.fingerprints[stack.id] = now
    return applied if not run.force and applied is not None and applied.digest == now.digest else None


def _record_fingerprint(run: _Run, stack: Stack) -> None:
    """What was applied (or found already there) is recorded; a failure to record only costs a plan."""
    computed = run.fingerprints.get(stack.id)
    if computed is None:
        return
    try:
        fingerprint.record(run.env, stack.name, computed, run.revision)
    except (ClientError, BotoCoreError) as exc:
        emit(f"{stack.id}: its fingerprint was not recorded ({exc}); the next deploy plans it")


def _forget_fingerprint(run: _Run, stack: Stack) -> None:
    try:
        fingerprint.forget(run.env, stack.name)
    except fingerprint.Unreadable as exc:
        raise StackFailed("fingerprint", str(exc)) from None


def _deploy_stack(run: _Run, outcome: Outcome) -> None:
    stack = outcome.stack
    changes = steps.plan(run.engine, stack, outcome)
    if run.allowances is not None and not (verdict := guard.judge(stack.name, outcome.precious, run.allowances)).ok:
        outcome.status = Status.REFUSED
        outcome.refusal = guard.refusal(run.env, stack.id, verdict, run.allowances)  # its plan goes below, unapplied
    elif not changes:
        outcome.status = Status.NO_CHANGES
        _record_fingerprint(run, stack)
    else:
        _forget_fingerprint(run, stack)  # an apply that does not finish leaves no record
        steps.apply(run.engine, stack)
        outcome.status = Status.APPLIED
        _record_fingerprint(run, stack)


def _destroy_stack(run: _Run, outcome: Outcome) -> None:
    stack = outcome.stack
    # The record goes before the destroy changes any state (the snapshot key's `state rm` is such a change):
    # a destroy that fails at any later step must leave nothing that lets the next deploy skip the stack.
    _forget_fingerprint(run, stack)
    steps.keep_snapshot_key(run.engine, stack, run.env, outcome)
    if not steps.plan(run.engine, stack, outcome, destroy=True):
        outcome.status = Status.NO_CHANGES
        return
    steps.apply(run.engine, stack)
    outcome.status = Status.DESTROYED


def _work(command: _Command, run: _Run, outcome: Outcome, *, announce: bool) -> None:
    """One stack's part of the command; the outcome records what happened (a failure included)."""
    stack = outcome.stack
    started = time.monotonic()
    try:
        if command.skips_unchanged and (applied := _unchanged_since(run, stack)):
            outcome.status = Status.UNCHANGED
            outcome.note = f"unchanged since {applied.since()} (skipped)"
            return
        stacks.initialize(run.engine, stack)
        if announce:
            steps.announce(run.engine, stack)
        command.stack_step(run, outcome)
    except StackFailed as exc:
        outcome.status = Status.FAILED
        outcome.error = f"({exc.step}) {exc.output}"
        if held := state_lock.from_engine_output(exc.output):
            outcome.note = f"state locked ({held.operation or 'by another run'}, lock ID {held.id})"
            outcome.hint = state_lock.what_to_do(run.env, stack.name, stack.id, held)
        _errored_state_left(command, run, outcome)
    except EngineInterrupted as exc:
        finished = exc.step == "apply" and exc.result.returncode == 0  # let finish: it completed
        outcome.status = command.applied if finished else Status.INTERRUPTED
        _errored_state_left(command, run, outcome)
        raise
    finally:
        # Applied, found empty, refused or failed: the saved plan is of no further use to anyone, and it
        # holds the prior state of the stack.
        (stack.workdir / stack.plan_file).unlink(missing_ok=True)
        outcome.seconds = time.monotonic() - started


def _errored_state_left(command: _Command, run: _Run, outcome: Outcome) -> None:
    """An apply or destroy that ended badly may leave errored.tfstate: it is recorded beside the state (every
    checkout then refuses the stack), and the summary says where the file is and how to push it back."""
    if run.origin is None:
        return
    told = errored_state.left_behind(run.env, outcome.stack, command.name, run.origin, datetime.now(UTC))
    if told:
        outcome.note = " ".join(filter(None, (outcome.note, "state not saved: errored.tfstate")))
        outcome.hint = "\n\n".join(filter(None, (outcome.hint, told)))


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


def _in_parallel(command: _Command, run: _Run, outcomes: list[Outcome], workers: int) -> None:
    """Read-only work on several stacks at once; each stack's output is printed as one block."""
    printing = threading.Lock()

    def job(index: int, outcome: Outcome) -> None:
        OUTPUT.buffer = [f"\n=== {command.name} {outcome.stack.id}\n"]
        try:
            _work(command, run, outcome, announce=index == 0)
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


def _no_dependant_deployed(run: _Run) -> None:
    """Destroying some stacks while a deployed stack still reads them would break it."""
    chosen_ids = {s.id for s in run.chosen}
    for s in run.prepared.ordered:
        reads = sorted(chosen_ids & set(s.dependencies))
        if s.id not in chosen_ids and reads and steps.is_deployed(run.engine, s):
            raise UsageError(
                f"{s.id} is deployed and depends on {', '.join(reads)}: destroy it first "
                f"(STACK={s.name},...) or destroy everything (no STACK=); nothing was changed"
            )


def _producers_deployed(run: _Run) -> None:
    """Some stacks alone read the state of the others: each of those must be deployed."""
    env, ordered, chosen = run.env, run.prepared.ordered, run.chosen
    chosen_ids = {s.id for s in chosen}
    by_id = {s.id: s for s in ordered}
    needed = sorted({d for s in chosen for d in s.dependencies} - chosen_ids, key=[s.id for s in ordered].index)
    for dep in needed:
        if not steps.is_deployed(run.engine, by_id[dep]):
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
    force: bool = False,
) -> int:
    """One of plan, deploy, destroy, outputs, drift. Returns the exit code; raises UsageError for exit 2.
    `allow_replace` (ALLOW_REPLACE=, deploy only) names the precious resources a deploy may destroy;
    `force` (FORCE=1, deploy only) plans every stack, however unchanged its fingerprint says it is."""
    selection = parse_selection(stacks)
    state_lock.wait_seconds()  # a bad STATE_LOCK_TIMEOUT stops the command before anything runs
    allowances = guard.Allowances.parse(allow_replace)
    if allowances.named and action != "deploy":
        raise UsageError(f"ALLOW_REPLACE= is for make deploy and make promote, not make {action}; nothing was changed")
    if force and action != "deploy":
        raise UsageError(f"FORCE=1 is for make deploy and make promote, not make {action}; nothing was changed")
    prepared = prepare(action, env, outdir=outdir, confirm=confirm, selection=selection)
    if action != "outputs" and not COMMANDS[action].read_only and selection is None and record_release:
        release_can_be_recorded(env, action)  # after the engine and credentials checks, before any stack
    return execute(
        action,
        prepared,
        selection=selection,
        outputs_dir=outputs_dir,
        record_release=record_release,
        allowances=allowances,
        force=force,
    )


# ------------------------------------------------------------------ how each command ends


def _finish_read_only(run: _Run, report: Report) -> int:
    if report.failed:
        print(f"\n{report.action} of {run.env.suffix}: a stack could not be planned (see above).")
        return 1
    return 0


def _finish_drift(run: _Run, report: Report) -> int:
    drifted = [o.stack.id for o in report.outcomes if o.status == Status.DRIFTED]
    if drifted:
        print(f"\ndrift in {', '.join(drifted)}")
    elif not report.failed:
        print(f"\nno drift in {run.env.suffix}")
    return 1 if drifted or report.failed else 0


def _stopped_at_a_failure(run: _Run, report: Report) -> bool:
    if report.failed:
        print(
            f"\n{report.action} of {run.env.suffix} stopped at the failed stack; fix it and run the same command again."
        )
    return report.failed


def _finish_deploy(run: _Run, report: Report) -> int:
    if _stopped_at_a_failure(run, report):
        return 1
    env, identity = run.env, run.prepared.identity
    try:
        print(f"wrote {write_outputs(run.engine, env, run.prepared.ordered, run.outputs_dir)}")
    except StackFailed as exc:
        raise OperationFailed(f"deployed, but reading the outputs failed ({exc.step}):\n{exc.output}") from None
    if run.record_release and run.selection is None:
        try:
            image = run.prepared.image
            releases.record(
                env,
                deployed_by=identity.get("Arn", "unknown"),
                image=image.configured if image else None,
                digest=image.digest if image else "",
            )
        except UsageError as exc:
            # Promotion trusts the records: an unrecorded deploy is a failed operation.
            print(
                f"failed: {env.suffix} is deployed, but its release was not recorded: {exc}\n"
                f"Once the state bucket accepts writes, run make deploy ENV={env.name} again: it changes "
                "nothing and records the release.",
                file=sys.stderr,
            )
            return 1
    return 0


def _finish_destroy(run: _Run, report: Report) -> int:
    if _stopped_at_a_failure(run, report):
        return 1
    if run.selection is None:
        try:
            releases.record_destroyed(run.env, destroyed_by=run.prepared.identity.get("Arn", "unknown"))
        except UsageError as exc:
            print(f"failed: {run.env.suffix} is destroyed, but that was not recorded: {exc}", file=sys.stderr)
            return 1
    return 0


@dataclass(frozen=True)
class _Command:
    """A command that works stack by stack, as the shared runner (_over_stacks) needs to know it."""

    name: str
    stack_step: Callable[[_Run, Outcome], None]
    finish: Callable[[_Run, Report], int]
    # Read-only: stacks side by side (PARALLELISM), each planned whatever another's outcome. Otherwise one
    # at a time, every stack's providers installed before the first, stopping at a failure or a refusal.
    read_only: bool = False
    reverse: bool = False  # dependants first
    # With STACK=, what must hold of the stacks left out.
    neighbours: Callable[[_Run], None] = _producers_deployed
    applied: Status = Status.APPLIED  # what a stack whose apply finished is, when an interrupt comes
    reads_producers: bool = False  # the producers' outputs, read once first (to plan speculatively)
    skips_unchanged: bool = False  # a stack whose fingerprint is the one last applied is skipped


COMMANDS = {
    "plan": _Command("plan", _plan_stack, _finish_read_only, read_only=True, reads_producers=True),
    "drift": _Command("drift", _drift_stack, _finish_drift, read_only=True),
    "deploy": _Command("deploy", _deploy_stack, _finish_deploy, skips_unchanged=True),
    "destroy": _Command(
        "destroy",
        _destroy_stack,
        _finish_destroy,
        reverse=True,
        neighbours=_no_dependant_deployed,
        applied=Status.DESTROYED,
    ),
}


def _interrupted(run: _Run, report: Report, exc: EngineInterrupted) -> int:
    report.print()
    write_report(report, run.outputs_dir)
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
        f"\n{report.action} of {run.env.suffix} {what}. No outputs or release were recorded; run the same "
        "command again to go on from there.",
        file=sys.stderr,
    )
    return exc.exit_code


def _over_stacks(command: _Command, run: _Run) -> int:
    """The shared runner: each chosen stack through the command's step, then the command's own ending."""
    report = Report(command.name, run.env, [Outcome(s) for s in run.chosen])
    engine = run.engine
    try:
        if run.selection is not None:
            command.neighbours(run)
        if command.reads_producers:
            run.produced = _producer_outputs(engine, run.prepared.ordered, run.chosen)
    except StackFailed as exc:
        raise OperationFailed(f"reading the state of the other stacks ({exc.step}):\n{exc.output}") from None
    workers = parallelism() if command.read_only else 1
    try:
        with INTERRUPTS.handling():
            if not command.read_only:
                # Stacks that will be skipped need no providers (a producer applied in this run may still
                # make one plan: it is initialized then, as before the preflight existed).
                pending = [s for s in run.chosen if not (command.skips_unchanged and _unchanged_since(run, s))]
                install_providers(engine, pending)
            if workers > 1 and len(report.outcomes) > 1:
                _in_parallel(command, run, report.outcomes, workers)
            else:
                for i, outcome in enumerate(report.outcomes):
                    emit(f"\n=== {command.name} {outcome.stack.id}")
                    _work(command, run, outcome, announce=i == 0)
                    if outcome.status in (Status.FAILED, Status.REFUSED) and not command.read_only:
                        break  # later stacks are not touched
    except EngineInterrupted as exc:
        return _interrupted(run, report, exc)
    report.print()
    write_report(report, run.outputs_dir)
    if report.refused:
        raise UsageError("\n\n".join(o.refusal for o in report.refused))
    return command.finish(run, report)


def execute(
    action: str,
    prepared: Prepared,
    *,
    selection: list[str] | None = None,
    outputs_dir: Path = OUTPUTS_DIR,
    record_release: bool = True,
    allowances: guard.Allowances | None = None,
    force: bool = False,
) -> int:
    """Run `action` over prepared stacks (several actions may share one preparation). A deploy of any
    environment but a throwaway SUFFIX= copy is guarded: see shared/ops/guard.py."""
    if action == "outputs":
        return outputs.command(prepared, outputs_dir)
    command = COMMANDS[action]
    chosen = [s for s in prepared.ordered if selection is None or s.name in selection]
    errored_state.refuse(prepared.env, chosen)
    if command.reverse:
        chosen.reverse()
    guarding = command.stack_step is _deploy_stack and guard.guarded(prepared.env)
    allowances = (allowances or guard.Allowances()) if guarding else None
    if allowances is not None:
        guard.check_selection(allowances, [s.name for s in chosen], prepared.env)
    run = _Run(prepared, chosen, selection, outputs_dir, record_release, allowances, force=force)
    if not command.read_only:
        run.revision = releases.revision_or_unknown()  # "" from a copy that is no git checkout
        run.origin = errored_state.Origin.here(run.revision)
    return _over_stacks(command, run)
