"""The engine steps of one stack: plan to a file (and read what it changes), apply exactly that file,
read outputs, tell whether it is deployed, and, before a destroy, keep the key of a final snapshot."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace

from shared.config import EnvironmentConfig
from shared.errors import OperationFailed
from shared.ops.engine import provider_pins
from shared.ops.engine.console import emit
from shared.ops.engine.process import ENGINE_OUTPUT, Engine
from shared.ops.engine.workdir import Stack, StackFailed, initialize, run_step
from shared.ops.state_bucket import state_lock

CROSS_STACK_PREFIX = "cross-stack-output-"  # CDKTF's own wiring outputs, not for people


@dataclass(frozen=True)
class Plan:
    """What a saved plan of one stack changes, read once from the engine's `show -json`. `changed` false: there
    is nothing to apply (and nothing was read)."""

    changed: bool
    add: int = 0
    change: int = 0
    destroy: int = 0
    # Per changed resource: its address, its actions, the names (never the values) of the attributes it changes and
    # of those that force its replacement.
    changes: tuple[dict, ...] = ()
    document: dict = field(default_factory=dict, compare=False, repr=False)  # what the guard reads
    text: str = field(default="", compare=False, repr=False)  # the engine's own words of the plan, for the report

    @property
    def addresses(self) -> list[str]:
        return [c["address"] for c in self.changes]


NOTHING_TO_APPLY = Plan(changed=False)


def announce(engine: Engine, stack: Stack) -> None:
    """Which engine and provider builds did the work: the first thing to know when two runs differ."""
    providers = ", ".join(f"{p} {v}" for p, v in sorted(provider_pins.versions(stack.workdir).items()))
    emit(f"engine: {engine.name} {engine.version} ({engine.binary}); providers: {providers or 'none'}")


def plan(engine: Engine, stack: Stack, *, destroy: bool = False, lock: bool = True) -> Plan:
    """Plan to the stack's plan file, and read what it changes. `lock=False` for a plan that
    is never applied (make plan, make drift, a speculative plan): it takes no state lock, so it never makes
    an apply elsewhere wait or fail, and a read-only role can run it. A plan that is applied takes the lock,
    as its apply does (each step waits STATE_LOCK_TIMEOUT for it)."""
    locking = state_lock.engine_argument() if lock else "-lock=false"
    args = ["plan", "-input=false", "-no-color", locking, "-detailed-exitcode", f"-out={stack.plan_file}"]
    if destroy:
        args.insert(1, "-destroy")
    result = run_step(engine, "plan", args, stack)
    if result.returncode not in (0, 2):
        raise StackFailed("plan", result.output)
    if result.returncode != 2:
        return NOTHING_TO_APPLY
    # What the engine printed of this plan (its output file holds this step's alone): what a reviewer of a
    # pull request reads, as the job's log shows it (sensitive values redacted by the engine; the password
    # is write-only and in no plan).
    shown = (stack.workdir / ENGINE_OUTPUT).read_text(errors="replace")
    return replace(read_changes(engine, stack), text=shown)


def read_changes(engine: Engine, stack: Stack) -> Plan:
    shown = engine.capture(["show", "-json", "-no-color", stack.plan_file], stack.workdir)
    if shown.returncode != 0:
        raise StackFailed("show", shown.output)
    document = read_plan_json(stack, shown.output)
    changes, add, change, destroy = [], 0, 0, 0
    for rc in document.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions not in (["no-op"], ["read"]):
            changes.append(
                {
                    "address": rc["address"],
                    "actions": actions,
                    "attributes": changed_attributes(rc["change"]),
                    "forces_replacement": forcing_replacement(rc["change"]),
                }
            )
        add += "create" in actions
        change += "update" in actions
        destroy += "delete" in actions
    return Plan(True, add, change, destroy, tuple(changes), document)


def read_plan_json(stack: Stack, output: str) -> dict:
    """The engine's `show -json` of a saved plan. Anything else (a warning line before it, output cut short, not
    JSON at all) fails the stack in one line that names it and what was read: nothing of it is applied."""
    try:
        plan = json.loads(output)
    except ValueError as exc:
        seen = output.strip()
        head = repr(seen[:80]) + ("..." if len(seen) > 80 else "") if seen else "nothing"
        raise StackFailed(
            "show", f"the engine's plan of {stack.id} is not JSON ({exc}); read {len(output)} characters: {head}"
        ) from None
    if not isinstance(plan, dict):
        raise StackFailed("show", f"the engine's plan of {stack.id} is not a JSON object: {type(plan).__name__}")
    if problem := _plan_shape_problem(plan):
        # The guard reads what is there: a plan of another shape must never pass for one that changes nothing.
        raise StackFailed("show", f"the engine's plan of {stack.id} is not a plan as Terraform writes it: {problem}")
    return plan


def _plan_shape_problem(plan: dict) -> str:
    """Why a JSON object is not a saved plan's `show -json` ("" when it is one): its format version, and every
    resource change with its address and its list of actions (a plan that changes only outputs has none)."""
    if not isinstance(plan.get("format_version"), str):
        return "no format_version"
    changes = plan.get("resource_changes", [])
    if not isinstance(changes, list):
        return f"resource_changes is {type(changes).__name__}, not a list"
    for i, rc in enumerate(changes):
        change = rc.get("change") if isinstance(rc, dict) else None
        if not isinstance(change, dict) or not isinstance(rc.get("address"), str):
            return f"resource_changes[{i}] has no address or change"
        actions = change.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
            return f"resource_changes[{i}] ({rc['address'][:80]}) has no list of actions"
    return ""


_KEY_REFERENCE = re.compile(r"^\$\{(aws_kms_key\.[A-Za-z0-9_-]+)\.arn\}$")


def keep_snapshot_key(engine: Engine, stack: Stack, env: EnvironmentConfig) -> str:
    """A final snapshot, and the automated backups kept with it, are encrypted with the cluster's key: if
    the destroy took the key too, they could not be restored once its deletion window ends. So before a
    destroy of the stack that holds such a cluster, its key leaves the state (`state rm`): the engine
    leaves it in AWS, enabled, and the summary names it. (Re-encrypting the snapshot instead cannot be
    ordered: it exists only once the engine is deleting the cluster, in the run that also deletes the key.)
    Returns what the summary says of the key kept ("" when none was)."""
    if not env.data.aurora.final_snapshot:
        return ""
    clusters = json.loads((stack.workdir / "cdk.tf.json").read_text()).get("resource", {}).get("aws_rds_cluster", {})
    keys = {m[1] for c in clusters.values() if (m := _KEY_REFERENCE.match(str(c.get("kms_key_id", ""))))}
    if not keys:
        return ""
    listed = engine.capture(["state", "list", "-no-color"], stack.workdir)
    if listed.returncode != 0:
        raise StackFailed("state list", listed.output)
    note = ""
    for address in sorted(keys & set(listed.output.split())):
        shown = engine.capture(["state", "show", "-no-color", address], stack.workdir)
        arn = re.search(r'^\s*arn\s*=\s*"([^"]+)"', shown.output, re.MULTILINE) if shown.returncode == 0 else None
        result = run_step(
            engine, "state rm", ["state", "rm", state_lock.engine_argument(), "-no-color", address], stack
        )
        if result.returncode != 0:
            raise StackFailed("state rm", result.output)
        note = f"kept {arn[1] if arn else address}: it encrypts the final snapshot; delete it when that goes"
        emit(f"{stack.id}: {address} left the state, so that the destroy keeps it: {note}")
    return note


def changed_attributes(change: dict) -> list[str]:
    """The top-level attributes whose known value the change alters (a value known only after apply is not
    counted: it is the engine's to fill in, not a difference from what runs)."""
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and unknown.get(k) is not True)


def forcing_replacement(change: dict) -> list[str]:
    """The top-level attributes whose change forces the resource to be replaced (the engine's replace_paths)."""
    paths = change.get("replace_paths") or []
    return sorted({str(path[0]) for path in paths if isinstance(path, list) and path})


def apply(engine: Engine, stack: Stack) -> None:
    result = run_step(
        engine, "apply", ["apply", "-input=false", "-no-color", state_lock.engine_argument(), stack.plan_file], stack
    )
    if result.returncode != 0:
        raise StackFailed("apply", result.output)


def all_outputs(engine: Engine, stack: Stack) -> dict:
    """Every output value in the stack's state, CDKTF's wiring included ({} when it was never deployed)."""
    result = engine.capture(["output", "-json", "-no-color"], stack.workdir)
    if result.returncode != 0:
        raise StackFailed("output", result.output)
    return {k: v["value"] for k, v in json.loads(result.output or "{}").items()}


def stack_outputs(engine: Engine, stack: Stack) -> dict:
    """The stack's outputs from its state ({} when it was never deployed), without CDKTF's wiring outputs."""
    return {k: v for k, v in all_outputs(engine, stack).items() if not k.startswith(CROSS_STACK_PREFIX)}


def is_deployed(engine: Engine, stack: Stack) -> bool:
    """Whether the stack has state. An error reading it is not "no": it raises, naming the stack
    (a check that something depends on a stack must never pass because its state could not be read)."""
    try:
        initialize(engine, stack, quiet=True)
        return bool(all_outputs(engine, stack))
    except StackFailed as exc:
        raise OperationFailed(
            f"could not read the state of {stack.id} ({exc.step}), so it is unknown whether it is deployed; "
            f"nothing was changed. The engine said:\n{exc.output.rstrip()}"
        ) from None
