"""The runner's loop: the chosen stacks of a prepared environment through one command, each stack's outcome
recorded, the report written, and the command's own ending; an interrupt stops it with every state saved.

Every stack is planned to a saved plan file and exactly that file is applied. Order comes from the
dependencies in cdktf.out/manifest.json (destroy runs in reverse). A failing stack stops the run; the
summary says what happened to each stack, and a rerun picks up from there.
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.ops.aws import one_command
from shared.ops.engine.console import OUTPUT, emit
from shared.ops.engine.interrupts import INTERRUPTS
from shared.ops.engine.process import Engine, EngineInterrupted
from shared.ops.engine.workdir import Stack, StackFailed, initialize
from shared.ops.runner import confirm as consent
from shared.ops.runner import guard, outputs, speculative, steps
from shared.ops.runner.actions import ACTIONS, Action, unchanged_since
from shared.ops.runner.job import Job
from shared.ops.runner.outcome import Outcome, Report, Status, write_report
from shared.ops.runner.preparation import Prepared, install_providers, prepare, release_can_be_recorded
from shared.ops.runner.review import Reviewed
from shared.ops.runner.selection import parallelism, parse_selection
from shared.ops.state_bucket import errored_state, releases, state_lock
from shared.options import current
from shared.paths import OUTPUTS_DIR


def _work(action: Action, job: Job, outcome: Outcome, *, announce: bool) -> None:
    """One stack's part of the action; the outcome records what happened (a failure included)."""
    stack = outcome.stack
    started = time.monotonic()
    try:
        if action.skips_unchanged and (applied := unchanged_since(job, stack)):
            outcome.status = Status.UNCHANGED
            outcome.note = f"unchanged since {applied.since()} (skipped)"
            return  # nothing to show: the summary says it was skipped
        emit(f"\n=== {action.name} {stack.id}")
        initialize(job.engine, stack)
        if announce:
            steps.announce(job.engine, stack)
        action.stack_step(job, outcome)
    except StackFailed as exc:
        outcome.status = Status.FAILED
        outcome.error = f"({exc.step}) {exc.output}"
        if held := state_lock.from_engine_output(exc.output):
            outcome.note = f"state locked ({held.operation or 'by another run'}, lock ID {held.id})"
            outcome.hint = state_lock.what_to_do(job.env, stack.name, stack.id, held)
        _errored_state_left(action, job, outcome)
    except EngineInterrupted as exc:
        finished = exc.step == "apply" and exc.result.returncode == 0  # let finish: it completed
        outcome.status = action.applied if finished else Status.INTERRUPTED
        _errored_state_left(action, job, outcome)
        raise
    finally:
        # Applied, found empty, refused or failed: the saved plan is of no further use to anyone, and it
        # holds the prior state of the stack.
        (stack.workdir / stack.plan_file).unlink(missing_ok=True)
        outcome.seconds = time.monotonic() - started
        if outcome.status not in (Status.UNCHANGED, Status.NOT_RUN):  # in a log, each stack's end, as its start
            emit(f"--- {stack.id}: {outcome.status} in {outcome.seconds:.1f} s")


def _errored_state_left(action: Action, job: Job, outcome: Outcome) -> None:
    """An apply or destroy that ended badly may leave errored.tfstate: it is recorded beside the state (every
    checkout then refuses the stack), and the summary says where the file is and how to push it back."""
    if job.origin is None:
        return
    told = errored_state.left_behind(job.env, outcome.stack, action.name, job.origin, datetime.now(UTC))
    if told:
        outcome.note = " ".join(filter(None, (outcome.note, "state not saved: errored.tfstate")))
        outcome.hint = "\n\n".join(filter(None, (outcome.hint, told)))


def _producer_outputs(engine: Engine, ordered: list[Stack], chosen: list[Stack]) -> dict[str, dict | None]:
    """Outputs (wiring included) of every stack a chosen one reads, read once before plans start, so
    that no two engines ever share a working directory. None: the stack has no state yet."""
    wanted = {p for s in chosen for p in speculative.producers(s.workdir)}
    found: dict[str, dict | None] = {}
    for stack in (s for s in ordered if s.id in wanted):
        initialize(engine, stack, quiet=True)
        found[stack.id] = steps.all_outputs(engine, stack) or None
    return found


def _in_parallel(action: Action, job: Job, outcomes: list[Outcome], workers: int) -> None:
    """Read-only work on several stacks at once; each stack's output is printed as one block."""
    printing = threading.Lock()
    # A terminal that can clear a line: one line says what runs while the blocks wait for their stacks.
    live = sys.stderr.isatty() and not current().dumb_terminal

    def progress() -> None:
        done = [o for o in outcomes if o.seconds > 0]  # a stack's seconds are set once its work has ended
        running = [o.stack.id for o in outcomes if o.seconds == 0]
        line = f"{action.name} {len(done)}/{len(outcomes)}: " + ", ".join(
            [f"{o.stack.id} {o.status}" for o in done] + [f"{s} ..." for s in running]
        )
        sys.stderr.write(f"\r\033[K{line[: shutil.get_terminal_size().columns - 1]}")
        sys.stderr.flush()

    def one(index: int, outcome: Outcome) -> None:
        OUTPUT.buffer = []
        try:
            _work(action, job, outcome, announce=index == 0)
        finally:
            with printing:
                if live:
                    sys.stderr.write("\r\033[K")  # the live line gives way to the block
                sys.stdout.write("".join(OUTPUT.buffer))
                sys.stdout.flush()
                if live:
                    progress()
            OUTPUT.buffer = None

    if live:
        with printing:
            progress()

    interrupted: EngineInterrupted | None = None
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(one, i, o) for i, o in enumerate(outcomes)]:
            try:
                future.result()
            except EngineInterrupted as exc:
                interrupted = interrupted or exc
    if live:
        sys.stderr.write("\r\033[K")
        sys.stderr.flush()
    if interrupted is not None:
        raise interrupted


def perform(
    action: str,
    env: EnvironmentConfig,
    *,
    stack_names: str | None = None,
    outdir: Path = DEFAULT_OUTDIR,
    outputs_dir: Path = OUTPUTS_DIR,
    confirm: str | None = None,
    record_release: bool = True,
    allow_replace: str | None = None,
    force: bool = False,
) -> None:
    """One of plan, deploy, destroy, outputs, drift. Raises UsageError (exit 2), OperationFailed (exit 1) or
    EngineInterrupted. `allow_replace` (ALLOW_REPLACE=, deploy only) names the precious resources a deploy may
    destroy; `force` (FORCE=1, deploy only) plans every stack, however unchanged its fingerprint says it is."""
    with one_command():  # the state bucket's client, and every other, made once for the command
        selection = parse_selection(stack_names)
        state_lock.wait_seconds()  # a bad STATE_LOCK_TIMEOUT stops the command before anything runs
        allowances = guard.Allowances.parse(allow_replace)
        if allowances.named and action != "deploy":
            raise UsageError(
                f"ALLOW_REPLACE= is for make deploy and make promote, not make {action}; nothing was changed"
            )
        if force and action != "deploy":
            raise UsageError(f"FORCE=1 is for make deploy and make promote, not make {action}; nothing was changed")
        prepared = prepare(action, env, outdir=outdir, confirm=confirm)
        if action != "outputs" and not ACTIONS[action].read_only and selection is None and record_release:
            release_can_be_recorded(env, action)  # after the engine and credentials checks, before any stack
        execute(
            action,
            prepared,
            selection=selection,
            outputs_dir=outputs_dir,
            record_release=record_release,
            allowances=allowances,
            force=force,
        )


def _interrupted(job: Job, report: Report, exc: EngineInterrupted) -> None:
    report.print()
    write_report(report, job.outputs_dir)
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
        f"\n{report.action} of {job.env.suffix} {what}. No outputs or release were recorded; run the same "
        "command again to go on from there.",
        file=sys.stderr,
    )


def _review_then_ask(action: Action, job: Job) -> None:
    """Plan before consent (shared/ops/runner/review.py): every chosen stack planned and its plan kept, the
    summary shown, then the yes asked or refused. Nothing is applied here; a refusal, a failure or a no stops
    the command (exit 2, or 1 for a failure) before any stack is."""
    shown = Report(action.name, job.env, [Outcome(s) for s in job.chosen])
    if action.name == "deploy":  # what a stack whose producers are not deployed yet is planned against
        job.produced = _producer_outputs(job.engine, job.prepared.ordered, job.chosen)
    reviewed = Reviewed()
    for outcome in shown.outcomes:
        if action.skips_unchanged and (applied := unchanged_since(job, outcome.stack)):
            outcome.status, outcome.note = Status.UNCHANGED, f"unchanged since {applied.since()} (skipped)"
            continue
        emit(f"\n=== plan {outcome.stack.id}, to be approved")
        try:
            initialize(job.engine, outcome.stack)
            saved = action.review_step(job, outcome)
            reviewed.record(outcome.stack, outcome.changes, outcome.widens, saved)
        except StackFailed as exc:
            outcome.status, outcome.error = Status.FAILED, f"({exc.step}) {exc.output}"
        if outcome.status in (Status.FAILED, Status.REFUSED):
            break
    shown.print(title=f"{action.name} {job.env.suffix}: the plan to approve")
    try:
        if shown.refused:
            raise UsageError("\n\n".join(o.refusal for o in shown.refused))
        if shown.failed:
            raise OperationFailed(
                f"{action.name} of {job.env.suffix}: a stack could not be planned (see above); nothing was changed"
            )
        consent.obtain(job.env, action.name, job.selection)
    except (UsageError, OperationFailed):
        write_report(shown, job.outputs_dir)  # what was shown and not applied is this command's report
        raise
    job.agreed, job.reviewed = True, reviewed


def _over_stacks(action: Action, job: Job) -> None:
    """Each chosen stack through the action's step, then the action's own ending."""
    report = Report(action.name, job.env, [Outcome(s) for s in job.chosen])
    began = time.monotonic()
    engine = job.engine
    try:
        if job.selection is not None and action.neighbours is not None:
            action.neighbours(job)
        if action.reads_producers:
            job.produced = _producer_outputs(engine, job.prepared.ordered, job.chosen)
    except StackFailed as exc:
        raise OperationFailed(f"reading the state of the other stacks ({exc.step}):\n{exc.output}") from None
    workers = parallelism() if action.read_only else 1
    try:
        with INTERRUPTS.handling():
            if not action.read_only:
                # Stacks that will be skipped need no providers (a producer applied in this run may still
                # make one plan: it is initialized then, as before the preflight existed).
                pending = [s for s in job.chosen if not (action.skips_unchanged and unchanged_since(job, s))]
                install_providers(engine, pending)
            if action.review_step is not None and consent.needs_yes(job.env, action.name) and not job.agreed:
                _review_then_ask(action, job)
            if workers > 1 and len(report.outcomes) > 1:
                _in_parallel(action, job, report.outcomes, workers)
            else:
                for i, outcome in enumerate(report.outcomes):
                    _work(action, job, outcome, announce=i == 0)
                    if outcome.status in (Status.FAILED, Status.REFUSED) and not action.read_only:
                        break  # later stacks are not touched
    except EngineInterrupted as exc:
        report.seconds = time.monotonic() - began
        _interrupted(job, report, exc)
        raise
    finally:  # a reviewed plan a stack never got to (a refusal, a no, a failure before it) holds its prior state
        for stack in job.chosen:
            (stack.workdir / stack.plan_file).unlink(missing_ok=True)
    report.seconds = time.monotonic() - began
    report.print()
    write_report(report, job.outputs_dir)
    if report.refused:
        raise UsageError("\n\n".join(o.refusal for o in report.refused))
    action.finish(job, report)


def execute(
    action_name: str,
    prepared: Prepared,
    *,
    selection: list[str] | None = None,
    outputs_dir: Path = OUTPUTS_DIR,
    record_release: bool = True,
    allowances: guard.Allowances | None = None,
    force: bool = False,
) -> None:
    """Run an action over prepared stacks (several actions may share one preparation). A deploy of any
    environment but a throwaway SUFFIX= copy is guarded: see shared/ops/runner/guard.py."""
    if action_name == "outputs":
        outputs.write_for(prepared, outputs_dir)
        return
    action = ACTIONS[action_name]
    chosen = [s for s in prepared.ordered if selection is None or s.name in selection]
    errored_state.refuse(prepared.env, chosen)
    if action.reverse:
        chosen.reverse()
    guarding = action.guarded and guard.guarded(prepared.env)
    allowances = (allowances or guard.Allowances()) if guarding else None
    if allowances is not None:
        guard.check_selection(allowances, [s.name for s in chosen], prepared.env)
    job = Job(
        prepared, chosen, selection, outputs_dir, record_release, allowances, force=force, agreed=prepared.confirmed
    )
    if not action.read_only:
        job.revision = releases.revision_or_unknown()  # "" from a copy that is no git checkout
        job.origin = errored_state.Origin.here(job.revision)
    _over_stacks(action, job)
