"""The command line behind the Makefile: `python -m shared.cli <command> [--env E] [--stack a,b] ...`.

Exit codes (the contract): 0 success, 1 an operation failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from shared import docs, options, typed
from shared.arguments import parser
from shared.bench import run as run_bench
from shared.config import (
    PROMOTION_ORDER,
    ConfigError,
    EnvironmentConfig,
    available_environments,
    load_environment,
    load_environments,
)
from shared.contract import DEFAULT_OUTDIR
from shared.cost.command import cost, refresh_prices
from shared.errors import OperationFailed, UsageError
from shared.files import PRIVATE_UMASK
from shared.ops.commands import emulator
from shared.ops.engine import log as engine_log
from shared.ops.runner import environment_lock
from shared.policy.scan import scan
from shared.synthesis import synthesize_if_changed
from shared.workdirs import require_node

# Each command imports the heavy parts it needs when it runs, and says which in a word: the CDK bindings
# (seconds, through jsii) or boto3 (a few hundred milliseconds). `make config`, `make help` and every
# usage error start without them. Everything light is imported here.

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _environments_hint() -> str:
    return ", ".join(available_environments()) or "none"


def _one(args: argparse.Namespace) -> EnvironmentConfig:
    if not args.env:
        raise UsageError(f"ENV= is required: make {args.command} ENV=<env> (--env), one of: {_environments_hint()}")
    try:
        return load_environment(args.env, suffix=args.suffix)
    except ConfigError as exc:
        where = typed.not_typed().get("ENV")
        if where:
            exc.problems.append(
                f"ENV={args.env} came from {typed.WHERE.get(where, where)}, not from the make command line: "
                f"name the environment, make {args.command} ENV=<env>, or unset ENV"
            )
        raise


def _many(args: argparse.Namespace) -> list[EnvironmentConfig]:
    if args.env:
        return [_one(args)]
    return load_environments(None, suffix=args.suffix)


def cmd_config(args: argparse.Namespace) -> None:
    print(json.dumps(_one(args).model_dump(mode="json"), indent=2))


def _lock_for_synthesis(envs: list[EnvironmentConfig], outdir: Path) -> None:
    environment_lock.hold(outdir, [e.suffix for e in envs])  # a deploy of one of them may be reading its JSON


def cmd_synth(args: argparse.Namespace) -> None:
    envs = _many(args)  # validate everything before anything is written
    require_node()
    _lock_for_synthesis(envs, Path(args.outdir))
    from shared.app import synthesize  # the CDK bindings

    out = synthesize(envs, args.outdir)
    for env in envs:
        print(f"synthesized {env.name} (suffix {env.suffix}) into {out}/stacks/")


def cmd_check(args: argparse.Namespace) -> None:
    envs = _many(args)
    _lock_for_synthesis(envs, DEFAULT_OUTDIR)
    out = DEFAULT_OUTDIR  # where the stacks are, also when there is no environment to synthesize
    for env in envs:
        out = synthesize_if_changed(env, DEFAULT_OUTDIR)
    if scan(envs, out):
        raise OperationFailed("checkov found problems in the synthesized stacks (see above)")


def cmd_bench(args: argparse.Namespace) -> None:
    run_bench()


def _every_environment(args: argparse.Namespace, action: str, run: Callable[[EnvironmentConfig], None]) -> None:
    """plan and drift without ENV: every real environment in turn (an emulator one only when named), each
    one's problem said where it happens; the command fails with the worst of them. An interrupt stops it
    there, with what was done so far said, and ends it as an interrupt (130/143), never as a failure."""
    if args.suffix:
        raise UsageError(f"SUFFIX= makes a copy of one environment: name it with ENV= (make {action} ENV=<env>)")
    codes: dict[str, int | str] = {}

    def summary() -> None:
        print(
            f"\n{action} of every environment: "
            + ", ".join(
                f"{name} {'ok' if c == 0 else c if isinstance(c, str) else f'exit {c}'}" for name, c in codes.items()
            )
        )

    for env in (e for e in load_environments() if not e.emulated):
        print(f"\n##### {action} {env.name}", flush=True)
        try:
            codes[env.name] = _failure_code(run, env)
        except BaseException:  # an interrupt (or a defect): nothing more is started, and it ends the command
            codes[env.name] = "interrupted"
            summary()
            raise
    summary()
    if worst := max(codes.values(), default=0):
        raise (UsageError if worst == 2 else OperationFailed)(
            f"{action} failed in {', '.join(n for n, c in codes.items() if c)}"
        )


def cmd_plan(args: argparse.Namespace) -> None:
    from shared.ops.commands.plan import plan  # boto3

    if not args.env:
        _every_environment(args, "plan", lambda env: plan(env, stack_names=args.stack))
    else:
        plan(_one(args), stack_names=args.stack)


def cmd_deploy(args: argparse.Namespace) -> None:
    from shared.ops.commands.deploy import deploy  # boto3

    deploy(_one(args), stack_names=args.stack, confirm=args.confirm, allow_replace=args.allow_replace, force=args.force)


def cmd_destroy(args: argparse.Namespace) -> None:
    from shared.ops.commands.destroy import destroy  # boto3

    destroy(_one(args), stack_names=args.stack, confirm=args.confirm)


def cmd_outputs(args: argparse.Namespace) -> None:
    from shared.ops.commands.outputs import outputs  # boto3

    outputs(_one(args), name=args.name)


def cmd_drift(args: argparse.Namespace) -> None:
    from shared.ops.commands.drift import drift  # boto3

    if not args.env:
        _every_environment(args, "drift", drift)
    else:
        drift(_one(args))


def cmd_bootstrap(args: argparse.Namespace) -> None:
    from shared.ops.commands.bootstrap import bootstrap  # boto3

    bootstrap(_one(args))


def cmd_smoke(args: argparse.Namespace) -> None:
    from shared.ops.commands.smoke import run  # boto3

    run(_one(args))


def cmd_releases(args: argparse.Namespace) -> None:
    from shared.ops.commands.releases import show  # boto3

    show(_many(args), named=bool(args.env))


def cmd_status(args: argparse.Namespace) -> None:
    from shared.ops.commands.status import status  # boto3

    status(_one(args))


def cmd_docs(args: argparse.Namespace) -> None:
    for path in docs.write():
        print(f"wrote {path}")


def cmd_providers_lock(args: argparse.Namespace) -> None:
    from shared.ops.commands.providers_lock import relock  # boto3

    relock(_one(args))


def cmd_emulator(args: argparse.Namespace) -> None:
    (emulator.stop if args.stop else emulator.start)(_one(args))


def cmd_unlock(args: argparse.Namespace) -> None:
    from shared.ops.commands.unlock import unlock  # boto3

    unlock(_one(args), args.stack, args.lock_id, confirm=args.confirm)


def cmd_local(args: argparse.Namespace) -> None:
    from shared.ops.commands import local  # boto3

    local.up(_one(args))


def cmd_local_down(args: argparse.Namespace) -> None:
    from shared.ops.commands import local  # boto3

    local.down(_one(args))


def cmd_unprotect(args: argparse.Namespace) -> None:
    from shared.ops.commands.unprotect import unprotect  # boto3

    unprotect(_one(args), confirm=args.confirm)


def cmd_push_state(args: argparse.Namespace) -> None:
    from shared.ops.commands.push_state import push_state  # boto3

    push_state(_one(args), args.stack, args.file, lock_id=args.lock_id, confirm=args.confirm)


def cmd_promote(args: argparse.Namespace) -> None:
    from shared.ops.commands.promote import promote  # boto3

    if not args.source or not args.target:
        raise UsageError(
            f"FROM= and TO= are required: make promote FROM=<env> TO=<env>, along {' -> '.join(PROMOTION_ORDER)}"
        )
    promote(args.source, args.target, confirm=args.confirm, allow_replace=args.allow_replace, force=args.force)


COMMANDS: dict[str, Callable[[argparse.Namespace], None]] = {
    "config": cmd_config,
    "synth": cmd_synth,
    "check": cmd_check,
    "cost": lambda args: cost(_many(args), named=bool(args.env)),
    "prices": lambda args: refresh_prices(args.region),
    "bench": cmd_bench,
    "docs": cmd_docs,
    "plan": cmd_plan,
    "deploy": cmd_deploy,
    "destroy": cmd_destroy,
    "outputs": cmd_outputs,
    "drift": cmd_drift,
    "bootstrap": cmd_bootstrap,
    "smoke": cmd_smoke,
    "releases": cmd_releases,
    "status": cmd_status,
    "promote": cmd_promote,
    "emulator": cmd_emulator,
    "providers-lock": cmd_providers_lock,
    "unlock": cmd_unlock,
    "unprotect": cmd_unprotect,
    "local": cmd_local,
    "local-down": cmd_local_down,
    "push-state": cmd_push_state,
}


# The commands that run the engine: a bad tuning variable (PARALLELISM, ...) stops them before anything runs.
# The others are refused only if they read one.
RUNS_THE_ENGINE = frozenset(
    (
        "plan",
        "deploy",
        "destroy",
        "outputs",
        "drift",
        "promote",
        "unlock",
        "push-state",
        "local",
        "local-down",
        "status",
    )
)


class Terminated(BaseException):
    """SIGTERM (a CI cancel, `kill`) or SIGHUP (a closed terminal) outside an engine run: stop like Ctrl-C,
    exit 143."""


def _terminate(_signum, _frame) -> None:
    raise Terminated


def main(argv: list[str] | None = None) -> int:
    previous = os.umask(PRIVATE_UMASK)  # every file it or the engine writes is the user's alone
    log = engine_log.CURRENT
    try:
        return _main(argv)
    finally:
        os.umask(previous)
        options.use(None)
        engine_log.use(log)  # the next command (a test's) decides its own


def _failure_code(command: Callable, *args) -> int:
    """0 when the command succeeded, else the exit code of how it failed (1 an operation, 2 usage or input),
    said once on stderr. Anything else (an interrupt) is raised on."""
    try:
        command(*args)
        return 0
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationFailed as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1


def _exit_code(command: Callable, *args) -> int:
    """The one mapping from how a command ended to its exit code (the contract): 0 success, 1 an operation
    failed, 2 usage or input error, 130/143 interrupted. Each failure is said once, on stderr."""
    from shared.ops.engine.process import EngineInterrupted

    try:
        return _failure_code(command, *args)
    except EngineInterrupted as exc:
        return 130 if exc.signum == signal.SIGINT else 143  # a hangup is handled as SIGTERM
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143


def _start(args: argparse.Namespace) -> None:
    if args.command in RUNS_THE_ENGINE:
        options.current().refuse()  # every bad value at once, before anything runs
    typed.refuse_what_was_not_typed(args)
    typed.say_where_environments_come_from(args)
    engine_log.use(engine_log.EngineLog.from_environment(os.environ))  # ENGINE_DEBUG and CI, read once
    COMMANDS[args.command](args)


# The commands whose report JSON=1 prints on stdout.
REPORTING = ("plan", "deploy", "destroy", "drift", "promote", "local", "local-down")


def _main(argv: list[str] | None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage problem
        return 0 if exc.code == 0 else 2
    options.use(options.Options.from_environment(os.environ))  # every variable, parsed once
    if args.command not in REPORTING:
        return _exit_code(_start, args)
    from shared.ops.runner.outcome import WRITTEN, stamp_exit_code  # what this process writes from here on

    mark = len(WRITTEN)
    # JSON=1: stdout holds the report(s) this run wrote and nothing else (whatever the exit code: a refused or
    # failed deploy's report says why); all the command says goes to stderr.
    quiet_stdout = contextlib.redirect_stdout(sys.stderr) if options.current().json_report else contextlib.nullcontext()
    with quiet_stdout:
        code = _exit_code(_start, args)
    reports = stamp_exit_code(WRITTEN[mark:], code)  # decided here, recorded there
    if options.current().json_report:
        one = len(reports) == 1 and getattr(args, "env", None)  # plan or drift of every environment, promote: a list
        print(json.dumps(reports[0] if one else reports, indent=2))
    return code


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)  # the terminal or SSH session went away: as SIGTERM
    code = main()
    if code in (130, 143):
        # The jsii runtime's exit hooks would talk to a Node process the interrupt already ended,
        # and print tracebacks about it; everything of ours is written and flushed by now.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
