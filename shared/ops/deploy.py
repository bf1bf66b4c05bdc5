"""Deploy orchestration through the real engine: plan, deploy, destroy, outputs and drift, stack by stack.

Every stack is planned to a saved plan file and exactly that file is applied. Order comes from
the dependencies in cdktf.out/manifest.json (destroy runs in reverse). A failing stack stops
the run; the summary says what happened to each stack, and a rerun picks up from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from shared.config import EnvironmentConfig
from shared.contract import DEFAULT_OUTDIR
from shared.errors import OperationFailed, UsageError
from shared.files import owner_only, write_atomically
from shared.naming import STACK_NAMES, stack_id
from shared.ops import guard, locks, provider_install, provider_lock, releases, speculative, state_lock
from shared.ops.aws import check_credentials, engine_environment
from shared.ops.engine import (
    INTERRUPTS,
    OUTPUT,
    Engine,
    EngineInterrupted,
    Result,
    emit,
    find_engine,
    provider_versions,
)
from shared.paths import OUTPUTS_DIR, REPORTS_DIR
from shared.synthesis import synthesize_if_changed
from shared.workdirs import check_outdir, refuse_errored_state

CROSS_STACK_PREFIX = "cross-stack-output-"  # CDKTF's own wiring outputs, not for people


@dataclass(frozen=True)
class Stack:
    name: str  # network, data, ...
    id: str  # network-dev
    workdir: Path
    dependencies: tuple[str, ...]  # stack ids
    lock_file: Path | None = None  # the committed provider pins this stack's init uses

    @property
    def plan_file(self) -> str:
        # Relative to the working directory, where the engine runs.
        return f"{self.id}.tfplan"


@dataclass
class Outcome:
    stack: Stack
    status: str = (
        "not run"  # applied, no changes, planned, destroyed, failed, refused, not run, drifted, in sync, interrupted
    )
    add: int = 0
    change: int = 0
    destroy: int = 0
    error: str = ""
    note: str = ""  # e.g. "speculative: network-dev not deployed"
    addresses: list[str] = field(default_factory=list)  # what the plan changes
    seconds: float = 0.0
    precious: list[guard.Finding] = field(default_factory=list)  # what the plan destroys that is precious
    # Per changed resource: its actions and the names (never the values) of the attributes it changes.
    changes: list[dict] = field(default_factory=list)
    refusal: str = ""  # why the guard did not let the plan be applied
    hint: str = ""  # what to do about a failure, when the tool knows (a state locked by another run)

    def as_dict(self) -> dict:
        return {
            "stack": self.stack.id,
            "status": self.status,
            "add": self.add,
            "change": self.change,
            "destroy": self.destroy,
            "addresses": self.addresses,
            "seconds": round(self.seconds, 1),
            "note": self.note,
            "precious": [f.as_dict() for f in self.precious],
            "changes": self.changes,
        }

    def counts(self) -> str:
        return f"+{self.add} ~{self.change} -{self.destroy}"


@dataclass
class Report:
    action: str
    env: EnvironmentConfig
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return any(o.status == "failed" for o in self.outcomes)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "refused"]

    def precious(self) -> list[guard.Finding]:
        return [f for o in self.outcomes for f in o.precious]

    def print(self) -> None:
        print(f"\n{self.action} {self.env.suffix}: summary")
        for o in self.outcomes:
            counts = o.counts() if o.status in ("applied", "planned", "destroyed", "drifted", "refused") else ""
            marker = f"PRECIOUS: destroys {len(o.precious)}" if o.precious else ""
            print(f"  {o.stack.id:<24} {o.status:<11} {counts:<14} {' '.join(filter(None, (o.note, marker)))}".rstrip())
        if self.precious():
            print("\nprecious resources these plans destroy (shared/precious.py):")
            print("\n".join(f"  - {f.describe()}" for f in self.precious()))
        for o in self.outcomes:
            if o.error:
                print(f"\n{o.stack.id} failed; the engine said:\n{o.error.rstrip()}", file=sys.stderr)
        for o in self.outcomes:
            if o.hint:
                print(f"\n{o.hint}", file=sys.stderr)

    def markdown(self) -> str:
        rows = [
            f"### {self.action} {self.env.suffix}",
            "",
            "| stack | status | + | ~ | - | precious destroyed | seconds | note |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for o in self.outcomes:
            precious = len(o.precious) or ""
            rows.append(
                f"| {o.stack.id} | {o.status} | {o.add} | {o.change} | {o.destroy} | {precious} | {o.seconds:.0f} | "
                f"{o.note} |"
            )
        if self.precious():
            intro = (
                "**Precious resources these plans destroy** (a deploy refuses them unless `ALLOW_REPLACE` names each):"
            )
            rows += ["", intro]
            rows += ["", *(f.markdown() for f in self.precious())]
        return "\n".join(rows) + "\n"

    def write(self, directory: Path) -> Path:
        """reports/<suffix>-<action>.json and .md (atomically); the Markdown also goes to the GitHub job summary."""
        directory.mkdir(parents=True, exist_ok=True)
        base = directory / f"{self.env.suffix}-{self.action}"
        doc = {"action": self.action, "environment": self.env.suffix, "stacks": [o.as_dict() for o in self.outcomes]}
        write_atomically(base.with_suffix(".json"), json.dumps(doc, indent=2) + "\n")
        write_atomically(base.with_suffix(".md"), self.markdown())
        summary = os.environ.get("GITHUB_STEP_SUMMARY")
        if summary:
            with open(summary, "a") as f:
                f.write(self.markdown() + "\n")
        return base.with_suffix(".json")


# ------------------------------------------------------------------ selection and order


def ordered_stacks(outdir: Path, env: EnvironmentConfig) -> list[Stack]:
    """The environment's stacks from the manifest, dependencies first (stable: network, data, ...)."""
    manifest = json.loads((outdir / "manifest.json").read_text())["stacks"]
    ids = {stack_id(name, env.suffix): name for name in STACK_NAMES}
    lock = provider_lock.committed(env)
    stacks = {
        sid: Stack(ids[sid], sid, outdir / meta["workingDirectory"], tuple(meta["dependencies"]), lock)
        for sid, meta in manifest.items()
        if sid in ids
    }
    ordered: list[Stack] = []
    pending = [stacks[s] for s in ids if s in stacks]
    while pending:
        ready = [s for s in pending if all(d in {o.id for o in ordered} for d in s.dependencies)]
        if not ready:
            raise UsageError(f"stack dependencies form a cycle: {[s.id for s in pending]}")
        ordered.append(ready[0])
        pending.remove(ready[0])
    return ordered


def parse_selection(stacks: str | None) -> list[str] | None:
    if not stacks:
        return None
    names = list(dict.fromkeys(s.strip() for s in stacks.split(",") if s.strip()))  # each once, in order
    unknown = [n for n in names if n not in STACK_NAMES]
    if unknown or not names:
        raise UsageError(
            f"unknown stack(s) {', '.join(unknown) or stacks!r} in STACK=; known: {', '.join(STACK_NAMES)}"
        )
    return names


# ------------------------------------------------------------------ confirmation


def require_confirmation(
    env: EnvironmentConfig, action: str, confirm: str | None = None, selection: list[str] | None = None
) -> None:
    """Protected environments are never applied, and no environment destroyed, without a yes. A CONFIRM
    that names another environment is refused whatever the command: it says the user meant another."""
    confirm = os.environ.get("CONFIRM") if confirm is None else confirm
    if confirm and confirm != env.suffix:
        raise UsageError(
            f"CONFIRM={confirm} does not name the environment this command works on ({env.suffix}); nothing was changed"
        )
    if action not in ("deploy", "destroy") or (action == "deploy" and not env.protected):
        return
    if confirm:
        return
    if action == "destroy":
        what = ", ".join(stack_id(s, env.suffix) for s in selection) if selection else f"every stack of {env.suffix}"
        verb = f"destroy {what}"
    else:
        verb = f"apply changes to {env.suffix}"
    if sys.stdin.isatty():
        try:
            answer = input(f"About to {verb}. Type '{env.suffix}' to go on: ").strip()
        except EOFError:  # Ctrl-D
            answer = ""
        if answer == env.suffix:
            return
        raise UsageError(f"not confirmed; nothing was changed in {env.suffix}")
    raise UsageError(
        f"refusing to {verb} without confirmation: run again with CONFIRM={env.suffix} "
        "(or from a terminal, to be asked); nothing was changed"
    )


# ------------------------------------------------------------------ engine steps


INIT_STAMP = "streamflix-init.json"  # inside .terraform/: removing that folder forgets it too


def _init_key(engine: Engine, stack: Stack, args: list[str]) -> str:
    """What an init depends on: the backend and required providers, the pinned builds, the engine and
    its provider settings, the init arguments. Equal keys: the directory is initialized as it must be."""
    doc = json.loads((stack.workdir / "cdk.tf.json").read_text())
    lock = stack.workdir / ".terraform.lock.hcl"
    cli_config = engine.cli_config.read_text() if engine.cli_config and engine.cli_config.is_file() else ""
    parts = [json.dumps(doc.get("terraform", {}), sort_keys=True), lock.read_text() if lock.is_file() else "",
             engine.binary, engine.version, cli_config, " ".join(args)]  # fmt: skip
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _initialized(stack: Stack, key: str) -> bool:
    dot = stack.workdir / ".terraform"
    try:
        stamp = json.loads((dot / INIT_STAMP).read_text())
    except (OSError, ValueError):
        return False
    # The installed providers may be links into a plugin cache that has been emptied since.
    providers = dot / "providers"
    intact = not providers.exists() or all(p.exists() for p in providers.rglob("*"))
    return stamp == {"key": key} and intact


def _init(engine: Engine, stack: Stack, *, quiet: bool = False) -> None:
    """Initialize the stack's working directory, unless it already is for exactly this backend,
    these providers and this engine (an init takes seconds, and every command needs one per stack,
    some more than once); quiet keeps the engine's chatter out of read-only work (its output is
    still shown when it fails)."""
    args = ["init", "-input=false", "-no-color"]
    if stack.lock_file is not None:
        provider_lock.install(stack.lock_file, stack.workdir)
        if stack.lock_file.is_file():
            args += provider_lock.init_args()  # CI never changes the committed pins
        else:
            provider_lock.warn_if_unpinned(stack.lock_file)
    if _initialized(stack, _init_key(engine, stack, args)):
        return
    result = engine.capture(args, stack.workdir) if quiet else _run(engine, "init", args, stack)
    if result.returncode != 0:
        raise _StackFailed("init", result.output)
    if stack.lock_file is not None and provider_lock.collect(stack.lock_file, [stack.workdir]):
        print(f"init pinned providers in {_shown(stack.lock_file)}: commit it, so every run uses these builds",
              file=sys.stderr)  # fmt: skip
    dot = stack.workdir / ".terraform"
    if dot.is_dir():  # an engine that made none has nothing to remember it by
        write_atomically(dot / INIT_STAMP, json.dumps({"key": _init_key(engine, stack, args)}))


def init_quietly(engine: Engine, stack: Stack) -> None:
    """The stack's working directory initialized, its chatter kept out unless it fails (for other commands)."""
    try:
        _init(engine, stack, quiet=True)
    except _StackFailed as exc:
        raise OperationFailed(f"initializing {stack.id} failed:\n{exc.output}") from None


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _announce(engine: Engine, stack: Stack) -> None:
    """Which engine and provider builds did the work: the first thing to know when two runs differ."""
    providers = ", ".join(f"{p} {v}" for p, v in sorted(provider_versions(stack.workdir).items()))
    emit(f"engine: {engine.name} {engine.version} ({engine.binary}); providers: {providers or 'none'}")


def _run(engine: Engine, step: str, args: list[str], stack: Stack) -> Result:
    try:
        return engine.run(args, stack.workdir, applying=step == "apply")
    except EngineInterrupted as exc:
        exc.step = step
        raise


class _StackFailed(Exception):
    def __init__(self, step: str, output: str):
        super().__init__(step)
        self.step, self.output = step, output


def _plan(engine: Engine, stack: Stack, outcome: Outcome, *, destroy: bool = False, lock: bool = True) -> bool:
    """Plan to the stack's plan file. Returns whether there is anything to apply."""
    locking = state_lock.engine_argument() if lock else "-lock=false"  # a speculative plan holds no state lock
    args = ["plan", "-input=false", "-no-color", locking, "-detailed-exitcode", f"-out={stack.plan_file}"]
    if destroy:
        args.insert(1, "-destroy")
    result = _run(engine, "plan", args, stack)
    if result.returncode not in (0, 2):
        raise _StackFailed("plan", result.output)
    if result.returncode == 2:
        _count_changes(engine, stack, outcome)
    return result.returncode == 2


def _count_changes(engine: Engine, stack: Stack, outcome: Outcome) -> None:
    shown = engine.capture(["show", "-json", "-no-color", stack.plan_file], stack.workdir)
    if shown.returncode != 0:
        raise _StackFailed("show", shown.output)
    plan = json.loads(shown.output)
    outcome.precious = guard.findings(stack.name, plan)
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        if actions not in (["no-op"], ["read"]):
            outcome.addresses.append(rc["address"])
            outcome.changes.append(
                {"address": rc["address"], "actions": actions, "attributes": changed_attributes(rc["change"])}
            )
        outcome.add += "create" in actions
        outcome.change += "update" in actions
        outcome.destroy += "delete" in actions


_KEY_REFERENCE = re.compile(r"^\$\{(aws_kms_key\.[A-Za-z0-9_-]+)\.arn\}$")


def _keep_snapshot_key(engine: Engine, stack: Stack, env: EnvironmentConfig, outcome: Outcome) -> None:
    """A final snapshot, and the automated backups kept with it, are encrypted with the cluster's key: if
    the destroy took the key too, they could not be restored once its deletion window ends. So before a
    destroy of the stack that holds such a cluster, its key leaves the state (`state rm`): the engine
    leaves it in AWS, enabled, and the summary names it. (Re-encrypting the snapshot instead cannot be
    ordered: it exists only once the engine is deleting the cluster, in the run that also deletes the key.)"""
    if not env.data.aurora.final_snapshot:
        return
    clusters = json.loads((stack.workdir / "cdk.tf.json").read_text()).get("resource", {}).get("aws_rds_cluster", {})
    keys = {m[1] for c in clusters.values() if (m := _KEY_REFERENCE.match(str(c.get("kms_key_id", ""))))}
    if not keys:
        return
    listed = engine.capture(["state", "list", "-no-color"], stack.workdir)
    if listed.returncode != 0:
        raise _StackFailed("state list", listed.output)
    for address in sorted(keys & set(listed.output.split())):
        shown = engine.capture(["state", "show", "-no-color", address], stack.workdir)
        arn = re.search(r'^\s*arn\s*=\s*"([^"]+)"', shown.output, re.MULTILINE) if shown.returncode == 0 else None
        result = _run(engine, "state rm", ["state", "rm", state_lock.engine_argument(), "-no-color", address], stack)
        if result.returncode != 0:
            raise _StackFailed("state rm", result.output)
        outcome.note = f"kept {arn[1] if arn else address}: it encrypts the final snapshot; delete it when that goes"
        emit(f"{stack.id}: {address} left the state, so that the destroy keeps it: {outcome.note}")


def changed_attributes(change: dict) -> list[str]:
    """The top-level attributes whose known value the change alters (a value known only after apply is not
    counted: it is the engine's to fill in, not a difference from what runs)."""
    before, after = change.get("before") or {}, change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k) and unknown.get(k) is not True)


def _apply(engine: Engine, stack: Stack) -> None:
    result = _run(
        engine, "apply", ["apply", "-input=false", "-no-color", state_lock.engine_argument(), stack.plan_file], stack
    )
    if result.returncode != 0:
        raise _StackFailed("apply", result.output)


def _all_outputs(engine: Engine, stack: Stack) -> dict:
    """Every output value in the stack's state, CDKTF's wiring included ({} when it was never deployed)."""
    result = engine.capture(["output", "-json", "-no-color"], stack.workdir)
    if result.returncode != 0:
        raise _StackFailed("output", result.output)
    return {k: v["value"] for k, v in json.loads(result.output or "{}").items()}


def stack_outputs(engine: Engine, stack: Stack) -> dict:
    """The stack's outputs from its state ({} when it was never deployed), without CDKTF's wiring outputs."""
    return {k: v for k, v in _all_outputs(engine, stack).items() if not k.startswith(CROSS_STACK_PREFIX)}


def _is_deployed(engine: Engine, stack: Stack) -> bool:
    """Whether the stack has state. An error reading it is not "no": it raises, naming the stack
    (a check that something depends on a stack must never pass because its state could not be read)."""
    try:
        _init(engine, stack, quiet=True)
        return bool(_all_outputs(engine, stack))
    except _StackFailed as exc:
        raise OperationFailed(
            f"could not read the state of {stack.id} ({exc.step}), so it is unknown whether it is deployed; "
            f"nothing was changed. The engine said:\n{exc.output.rstrip()}"
        ) from None


# ------------------------------------------------------------------ commands


def _write_report(report: Report, outputs_dir: Path) -> None:
    if report.action in ("plan", "drift", "deploy"):
        directory = outputs_dir.parent / REPORTS_DIR.name
        written = report.write(directory)
        owner_only(directory)
        print(f"report: {written}")


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
        _init(engine, stack)
        if announce:
            _announce(engine, stack)
        if action == "plan" and (missing := speculative.missing_reads(stack.workdir, produced)):
            _plan_speculatively(engine, outcome, env, missing)
            return
        if action == "drift":
            outcome.status = "drifted" if _plan(engine, stack, outcome) else "in sync"
            return
        if action == "destroy":
            _keep_snapshot_key(engine, stack, env, outcome)
        changes = _plan(engine, stack, outcome, destroy=action == "destroy")
        if allowances is not None and not (verdict := guard.judge(stack.name, outcome.precious, allowances)).ok:
            outcome.status = "refused"
            outcome.refusal = guard.refusal(env, stack.id, verdict, allowances)  # its plan goes below, unapplied
        elif action == "plan":
            outcome.status = "planned" if changes else "no changes"
        elif not changes:
            outcome.status = "no changes"
        else:
            _apply(engine, stack)
            outcome.status = "destroyed" if action == "destroy" else "applied"
    except _StackFailed as exc:
        outcome.status = "failed"
        outcome.error = f"({exc.step}) {exc.output}"
        if held := state_lock.from_engine_output(exc.output):
            outcome.note = f"state locked ({held.operation or 'by another run'}, lock ID {held.id})"
            outcome.hint = state_lock.what_to_do(env, stack.name, stack.id, held)
    except EngineInterrupted as exc:
        finished = exc.step == "apply" and exc.result.returncode == 0  # let finish: it completed
        outcome.status = ("destroyed" if action == "destroy" else "applied") if finished else "interrupted"
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
            _init(engine, stack, quiet=True)
        except _StackFailed as exc:
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
        _init(engine, stack, quiet=True)
        found[stack.id] = _all_outputs(engine, stack) or None
    return found


def _plan_speculatively(engine: Engine, outcome: Outcome, env: EnvironmentConfig, missing: dict) -> None:
    """Plan against placeholders for what the producers lack; the plan file is removed at once."""
    outcome.note = "speculative: " + "; ".join(m.describe() for m in missing.values())
    emit(f"{outcome.stack.id} is planned speculatively ({outcome.note.removeprefix('speculative: ')}): "
         "placeholder values stand in for what it reads; nothing of this plan can be applied")  # fmt: skip
    stand_in = replace(outcome.stack, workdir=speculative.prepare(env, outcome.stack.workdir, missing), lock_file=None)
    try:
        _init(engine, stand_in)
        changes = _plan(engine, stand_in, outcome, lock=False)
    finally:
        (stand_in.workdir / stand_in.plan_file).unlink(missing_ok=True)
    outcome.status = "planned" if changes else "no changes"


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
            if s.id not in chosen_ids and reads and _is_deployed(engine, s):
                raise UsageError(
                    f"{s.id} is deployed and depends on {', '.join(reads)}: destroy it first "
                    f"(STACK={s.name},...) or destroy everything (no STACK=); nothing was changed"
                )
        return
    needed = sorted({d for s in chosen for d in s.dependencies} - chosen_ids, key=[s.id for s in ordered].index)
    for dep in needed:
        if not _is_deployed(engine, by_id[dep]):
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
        _init(engine, stack, quiet=True)
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
    check_outdir(Path(outdir).resolve())
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
            _announce(engine, ordered[0])
        except _StackFailed as exc:
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
    except _StackFailed as exc:
        raise OperationFailed(f"checking the other stacks ({exc.step}):\n{exc.output}") from None

    read_only = action in ("plan", "drift")
    workers = parallelism() if read_only else 1
    try:
        produced = _producer_outputs(engine, ordered, chosen) if action == "plan" else {}
    except _StackFailed as exc:
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
                    if outcome.status in ("failed", "refused") and not read_only:
                        break  # later stacks are not touched
    except EngineInterrupted as exc:
        report.print()
        _write_report(report, outputs_dir)
        stopped = [o.stack.id for o in report.outcomes if o.status == "interrupted"]
        if stopped:
            what = (f"was interrupted during {exc.step or 'the start'} of {', '.join(stopped)}; the engine "
                    "stopped with its state saved")  # fmt: skip
        else:
            done = [o.stack.id for o in report.outcomes if o.status not in ("not run", "failed")]
            finished = f"{done[-1]} finished and saved its state" if done else "no stack had started"
            what = f"was interrupted after {finished}; no further stack was started"
        print(
            f"\n{action} of {env.suffix} {what}. No outputs or release were recorded; run the same command "
            "again to go on from there.",
            file=sys.stderr,
        )
        return exc.exit_code
    report.print()
    _write_report(report, outputs_dir)
    if report.refused:
        raise UsageError("\n\n".join(o.refusal for o in report.refused))

    if action == "drift":
        drifted = [o.stack.id for o in report.outcomes if o.status == "drifted"]
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
        except _StackFailed as exc:
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
