"""What each command that works stack by stack does with one stack (plan, drift, deploy, destroy), what must
hold of the stacks a STACK= selection leaves out, and how each command ends."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from shared.config import EnvironmentConfig
from shared.errors import OperationFailed, UsageError
from shared.ops.aws import client
from shared.ops.engine.console import emit
from shared.ops.engine.workdir import Stack, StackFailed, initialize
from shared.ops.runner import database_user, fingerprinting, guard, review, speculative, steps, widening
from shared.ops.runner.confirm import ask
from shared.ops.runner.job import Job
from shared.ops.runner.outcome import Outcome, Report, Status
from shared.ops.runner.outputs import write_outputs
from shared.ops.state_bucket import fingerprint, releases
from shared.ops.state_bucket.bucket import BucketError

# ------------------------------------------------------------------ each command's step for one stack


def _read(outcome: Outcome, plan: steps.Plan) -> list[guard.Finding]:
    """What the guard finds precious in the plan's changes, and the access it widens, recorded with them in the
    stack's outcome."""
    precious = guard.findings(outcome.stack.name, plan.document) if plan.changed else []
    widens = widening.findings(outcome.stack.name, plan.document) if plan.changed else []
    outcome.took(plan, precious, widens)
    return precious


def _widening_agreed(job: Job, outcome: Outcome) -> bool:
    """A plan that widens IAM or network access is applied only with a yes, whatever the environment: CONFIRM
    typed for it (a protected environment's yes counts), or the prompt. An emulator environment is the
    exception: its IAM and security groups grant nothing real, so its findings are shown and not asked."""
    if not outcome.widens or job.env.emulated or job.agreed:
        return True
    lines = "\n".join(f"  - {w.describe()}" for w in outcome.widens)
    return ask(f"{outcome.stack.id} widens access:\n{lines}\nType '{job.env.suffix}' to apply it: ", job.env.suffix)


def _widening_refusal(job: Job, outcome: Outcome) -> str:
    return "\n".join(
        [
            f"refusing to apply {outcome.stack.id}: its plan widens access and nobody said yes; nothing was applied "
            "to it or to any later stack",
            *(f"  - {w.describe()}" for w in outcome.widens),
            "If that is intended, run the same command again with",
            f"    CONFIRM={job.env.suffix}",
            "(or from a terminal, to be asked). If it is not, change the policy or rule so that it grants no more "
            "than it did.",
        ]
    )


def _plan_stack(job: Job, outcome: Outcome) -> None:
    if missing := speculative.missing_reads(outcome.stack.workdir, job.produced):
        _plan_speculatively(job, outcome, missing)
        return
    plan = steps.plan(job.engine, outcome.stack, lock=False)  # reviewed, never applied
    _read(outcome, plan)
    outcome.status = Status.PLANNED if plan.changed else Status.NO_CHANGES
    # What differs from what runs: a pull request's plan shows which stacks it touches.
    now, applied = fingerprinting.compare(job.env, outcome.stack, job.engine)
    if applied is not None and (now is None or now.digest != applied.digest):
        outcome.note = " ".join(filter(None, (outcome.note, f"changed since {applied.since()}")))


def _drift_stack(job: Job, outcome: Outcome) -> None:
    plan = steps.plan(job.engine, outcome.stack, lock=False)  # compared, never applied
    _read(outcome, plan)
    outcome.status = Status.DRIFTED if plan.changed else Status.IN_SYNC


def unchanged_since(job: Job, stack: Stack) -> fingerprint.Fingerprint | None:
    """The record a deploy may skip the stack on: its fingerprint now equals the one recorded when it was
    last applied (no init, no plan, no engine then). Computed now, after the stacks before it in this job:
    a producer re-applied with a changed output makes its consumers plan. FORCE=1 plans every stack. The
    fingerprint now is kept, to be recorded once the stack is applied."""
    now, applied = fingerprinting.compare(job.env, stack, job.engine)
    if now is None:
        job.fingerprints.pop(stack.id, None)
        return None
    job.fingerprints[stack.id] = now
    return applied if not job.force and applied is not None and applied.digest == now.digest else None


def _record_fingerprint(job: Job, stack: Stack) -> None:
    """What was applied (or found already there) is recorded; a failure to record only costs a plan."""
    computed = job.fingerprints.get(stack.id)
    if computed is None:
        return
    try:
        fingerprint.record(job.env, stack.name, computed, job.revision)
    except BucketError as exc:
        emit(f"{stack.id}: its fingerprint was not recorded ({exc}); the next deploy plans it")


def _forget_fingerprint(job: Job, stack: Stack) -> None:
    try:
        fingerprint.forget(job.env, stack.name)
    except fingerprint.Unreadable as exc:
        raise StackFailed("fingerprint", str(exc)) from None


def _refused_by_guard(job: Job, outcome: Outcome, precious: list[guard.Finding]) -> bool:
    """A guarded deploy's plan that destroys or weakens what is precious, unnamed: refused, its plan unapplied."""
    if job.allowances is None or (verdict := guard.judge(outcome.stack.name, precious, job.allowances)).ok:
        return False
    outcome.status = Status.REFUSED
    outcome.refusal = guard.refusal(job.env, outcome.stack.id, verdict, job.allowances)
    return True


def _plan_to_apply(job: Job, outcome: Outcome, *, destroy: bool = False, state_moved: bool = False) -> steps.Plan:
    """The plan a stack applies: the one the review showed, while it still holds (shared/ops/runner/review.py),
    else a new one; what a new one does beyond the review is asked about again, or refused (REFUSED)."""
    reviewed = job.reviewed
    if reviewed is not None and not state_moved and (kept := reviewed.reusable(outcome.stack, job.applied)):
        return kept
    plan = steps.plan(job.engine, outcome.stack, destroy=destroy)
    widens = widening.findings(outcome.stack.name, plan.document) if plan.changed else []
    lines = reviewed.unshown(outcome.stack, plan, widens) if reviewed is not None else []
    if lines and not review.agreed_again(job.env.suffix, outcome.stack, lines):
        outcome.status = Status.REFUSED
        outcome.refusal = review.refusal(outcome.stack, lines, job.env.suffix)
    return plan


def _deploy_stack(job: Job, outcome: Outcome) -> None:
    stack = outcome.stack
    plan = _plan_to_apply(job, outcome)
    precious = _read(outcome, plan)
    if outcome.status == Status.REFUSED or _refused_by_guard(job, outcome, precious):
        return  # its plan goes below, unapplied
    if not _widening_agreed(job, outcome):
        outcome.status = Status.REFUSED
        outcome.refusal = _widening_refusal(job, outcome)
    elif not plan.changed:
        outcome.status = Status.NO_CHANGES
        _after_apply(job, outcome)
        _record_fingerprint(job, stack)
    else:
        _forget_fingerprint(job, stack)  # an apply that does not finish leaves no record
        steps.apply(job.engine, stack)
        job.applied.add(stack.id)
        outcome.status = Status.APPLIED
        _after_apply(job, outcome)
        _record_fingerprint(job, stack)


def _after_apply(job: Job, outcome: Outcome) -> None:
    """What a stack's resources need beyond the engine, before its fingerprint is recorded (a failure here leaves
    the stack to be planned, and this run, again): the data stack's database user for the workers."""
    if outcome.stack.name != "data":
        return
    # Whatever the plan found, the stack is not done until its user is made: a failure leaves no record to skip on.
    _forget_fingerprint(job, outcome.stack)
    made = database_user.make(job.env, steps.all_outputs(job.engine, outcome.stack), client("rds-data", job.env))
    emit(f"{outcome.stack.id}: {made}")
    outcome.note = " ".join(filter(None, (outcome.note, made)))


def _destroy_stack(job: Job, outcome: Outcome) -> None:
    stack = outcome.stack
    # The record goes before the destroy changes any state (the snapshot key's `state rm` is such a change):
    # a destroy that fails at any later step must leave nothing that lets the next deploy skip the stack.
    _forget_fingerprint(job, stack)
    if kept := steps.keep_snapshot_key(job.engine, stack, job.env):
        outcome.note = kept
    plan = _plan_to_apply(job, outcome, destroy=True, state_moved=bool(kept))
    _read(outcome, plan)
    if outcome.status == Status.REFUSED:
        return
    if not plan.changed:
        outcome.status = Status.NO_CHANGES
        return
    steps.apply(job.engine, stack)
    outcome.status = Status.DESTROYED


# ------------------------------------------------------------------ the review before a yes


def _review_deploy(job: Job, outcome: Outcome) -> steps.Plan | None:
    """A stack's plan shown before the yes, saved for its apply (None: nothing saved, as for a speculative plan)."""
    if missing := speculative.missing_reads(outcome.stack.workdir, job.produced):
        _plan_speculatively(job, outcome, missing)  # a producer is not deployed yet: applied after it is, planned again
        return None
    plan = steps.plan(job.engine, outcome.stack)
    precious = _read(outcome, plan)
    if not _refused_by_guard(job, outcome, precious):
        outcome.status = Status.PLANNED if plan.changed else Status.NO_CHANGES
    return plan


def _review_destroy(job: Job, outcome: Outcome) -> steps.Plan | None:
    # No snapshot key leaves the state before the yes: the review shows its deletion; the destroy keeps it.
    plan = steps.plan(job.engine, outcome.stack, destroy=True)
    _read(outcome, plan)
    outcome.status = Status.PLANNED if plan.changed else Status.NO_CHANGES
    return plan


def _plan_speculatively(job: Job, outcome: Outcome, missing: dict) -> None:
    """Plan against placeholders for what the producers lack; the plan file is removed at once."""
    outcome.note = "speculative: " + "; ".join(m.describe() for m in missing.values())
    emit(
        f"{outcome.stack.id} is planned speculatively ({outcome.note.removeprefix('speculative: ')}): "
        "placeholder values stand in for what it reads; nothing of this plan can be applied"
    )
    workdir = speculative.stand_in_workdir(job.env, outcome.stack.workdir, missing)
    stand_in = replace(outcome.stack, workdir=workdir, lock_file=None)
    try:
        initialize(job.engine, stand_in)
        plan = steps.plan(job.engine, stand_in, lock=False)
    finally:
        (stand_in.workdir / stand_in.plan_file).unlink(missing_ok=True)
    _read(outcome, plan)
    outcome.status = Status.PLANNED if plan.changed else Status.NO_CHANGES


def _no_dependant_deployed(job: Job) -> None:
    """Destroying some stacks while a deployed stack still reads them would break it."""
    chosen_ids = {s.id for s in job.chosen}
    for s in job.prepared.ordered:
        reads = sorted(chosen_ids & set(s.dependencies))
        if s.id not in chosen_ids and reads and steps.is_deployed(job.engine, s):
            raise UsageError(
                f"{s.id} is deployed and depends on {', '.join(reads)}: destroy it first "
                f"(STACK={s.name},...) or destroy everything (no STACK=); nothing was changed"
            )


def _producers_deployed(job: Job) -> None:
    """Some stacks alone read the state of the others: each of those must be deployed."""
    env, ordered, chosen = job.env, job.prepared.ordered, job.chosen
    chosen_ids = {s.id for s in chosen}
    by_id = {s.id: s for s in ordered}
    needed = sorted({d for s in chosen for d in s.dependencies} - chosen_ids, key=[s.id for s in ordered].index)
    for dep in needed:
        if not steps.is_deployed(job.engine, by_id[dep]):
            raise UsageError(
                f"{dep} {_never_or_destroyed(env)} in {env.suffix}, and {', '.join(s.id for s in chosen)} "
                f"reads its state: deploy it first (make deploy ENV={env.name} STACK={by_id[dep].name}) "
                f"or deploy everything (make deploy ENV={env.name}); nothing was changed"
            )
        # Its last deploy did not finish (a failed apply, or a failed step after it such as the data stack's
        # database user): what reads it could start on something half made, the workers without their user.
        if fingerprint.recorded(env, by_id[dep].name) is None:
            raise UsageError(
                f"{dep}'s last deploy in {env.suffix} did not finish (nothing records it as applied, or the "
                f"record cannot be read), and {', '.join(s.id for s in chosen)} builds on it: deploy it first "
                f"(make deploy ENV={env.name} STACK={by_id[dep].name}) or deploy everything "
                f"(make deploy ENV={env.name}); nothing was changed"
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


# ------------------------------------------------------------------ how each command ends


def _finish_read_only(job: Job, report: Report) -> None:
    if report.failed:
        raise OperationFailed(f"{report.action} of {job.env.suffix}: a stack could not be planned (see above)")


def _finish_drift(job: Job, report: Report) -> None:
    drifted = [o.stack.id for o in report.outcomes if o.status == Status.DRIFTED]
    if drifted:
        print(f"\ndrift in {', '.join(drifted)}")
        raise OperationFailed(f"drift in {', '.join(drifted)}")
    if report.failed:
        raise OperationFailed(f"drift of {job.env.suffix}: a stack could not be compared (see above)")
    print(f"\nno drift in {job.env.suffix}")


def _stopped_at_a_failure(job: Job, report: Report) -> None:
    if report.failed:
        raise OperationFailed(
            f"{report.action} of {job.env.suffix} stopped at the failed stack; fix it and run the same command again"
        )


def _finish_deploy(job: Job, report: Report) -> None:
    _stopped_at_a_failure(job, report)
    env, identity = job.env, job.prepared.identity
    try:
        print(f"wrote {write_outputs(job.engine, env, job.prepared.ordered, job.outputs_dir)}")
    except StackFailed as exc:
        raise OperationFailed(f"deployed, but reading the outputs failed ({exc.step}):\n{exc.output}") from None
    if job.record_release and job.selection is None:
        try:
            image = job.prepared.image
            releases.record(
                env,
                deployed_by=identity.get("Arn", "unknown"),
                image=image.configured if image else None,
                digest=image.digest if image else "",
            )
        except UsageError as exc:
            # Promotion trusts the records: an unrecorded deploy is a failed operation.
            raise OperationFailed(
                f"{env.suffix} is deployed, but its release was not recorded: {exc}\n"
                f"Once the state bucket accepts writes, run make deploy ENV={env.name} again: it changes "
                "nothing and records the release."
            ) from None


def _finish_destroy(job: Job, report: Report) -> None:
    _stopped_at_a_failure(job, report)
    if job.selection is None:
        try:
            releases.record_destroyed(job.env, destroyed_by=job.prepared.identity.get("Arn", "unknown"))
        except UsageError as exc:
            raise OperationFailed(f"{job.env.suffix} is destroyed, but that was not recorded: {exc}") from None


@dataclass(frozen=True)
class Action:
    """A command that works stack by stack, as the runner's loop (shared/ops/runner/run.py) needs to know it:
    its step for one stack, and how it ends (it raises OperationFailed when the command failed)."""

    name: str
    stack_step: Callable[[Job, Outcome], None]
    finish: Callable[[Job, Report], None]
    # Read-only: stacks side by side (PARALLELISM), each planned whatever another's outcome. Otherwise one
    # at a time, every stack's providers installed before the first, stopping at a failure or a refusal.
    read_only: bool = False
    reverse: bool = False  # dependants first
    # With STACK=, what must hold of the stacks left out (None: nothing; a plan whose producers lack outputs
    # is planned against placeholders, with STACK= as without it).
    neighbours: Callable[[Job], None] | None = _producers_deployed
    applied: Status = Status.APPLIED  # what a stack whose apply finished is, when an interrupt comes
    reads_producers: bool = False  # the producers' outputs, read once first (to plan speculatively)
    skips_unchanged: bool = False  # a stack whose fingerprint is the one last applied is skipped
    guarded: bool = False  # the data guard judges each plan (unless the environment is a throwaway copy)
    # Its plan of one stack as the review before a yes shows it (shared/ops/runner/review.py), the plan kept.
    review_step: Callable[[Job, Outcome], steps.Plan | None] | None = None


ACTIONS = {
    "plan": Action("plan", _plan_stack, _finish_read_only, read_only=True, neighbours=None, reads_producers=True),
    "drift": Action("drift", _drift_stack, _finish_drift, read_only=True),
    "deploy": Action(
        "deploy", _deploy_stack, _finish_deploy, skips_unchanged=True, guarded=True, review_step=_review_deploy
    ),
    "destroy": Action(
        "destroy",
        _destroy_stack,
        _finish_destroy,
        reverse=True,
        neighbours=_no_dependant_deployed,
        applied=Status.DESTROYED,
        review_step=_review_destroy,
    ),
}
