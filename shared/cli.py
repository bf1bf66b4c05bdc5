"""The command line behind the Makefile: `python -m shared.cli <command> [--env E] [--stack a,b] ...`.

Exit codes (the contract): 0 success, 1 an operation failed, 2 usage or input error.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from shared import docs
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
from shared.errors import OperationFailed, UsageError
from shared.files import PRIVATE_UMASK
from shared.ops import emulator, engine_log, environment_lock
from shared.policy.scan import scan
from shared.synthesis import synthesize_if_changed
from shared.workdirs import require_node

# Each command imports the heavy parts it needs when it runs, and says which in a word: the CDK bindings
# (seconds, through jsii) or boto3 (a few hundred milliseconds). `make config`, `make help` and every
# usage error start without them. Everything light is imported here.

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shared.cli", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help: str, *, env: str = "optional", stack: bool = False) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help)
        if env != "none":
            # Required ones are checked in _one, with a message that lists the environments.
            p.add_argument("--env", help="environment name (environments/<env>.yaml)")
            p.add_argument("--suffix", help="override environment_suffix: an ephemeral copy of the environment")
        if stack:
            p.add_argument("--stack", help="comma-separated stack names (network,data,compute,monitoring)")
            p.add_argument("--confirm", help="the environment's suffix: confirms a protected deploy or a destroy")
        return p

    command("config", "print the resolved config of an environment", env="required")
    p = command("synth", "synthesize the stacks of one or all environments")
    p.add_argument("--outdir", default="cdktf.out")
    command("check", "synthesize and scan with checkov")
    command("docs", "write the generated tables of docs/ (config keys, make targets) from the code", env="none")
    command("bench", "time synthesis with the fast and the plain provider import", env="none")
    for name, text in (
        ("plan", "plan the stacks of an environment"),
        ("deploy", "plan and apply the stacks of an environment, in dependency order"),
        ("destroy", "destroy the stacks of an environment, in reverse order"),
    ):
        p = command(name, text, env="required", stack=True)
    p = sub.choices["deploy"]
    p.add_argument("--allow-replace", help="<stack>:<address>[,...]: precious resources this deploy may destroy")
    p.add_argument("--force", action="store_true", help="plan every stack, even one whose fingerprint is unchanged")
    command("outputs", "write every stack's outputs to outputs/<env>.json", env="required")
    command("drift", "list stacks whose real infrastructure differs from the code", env="required")
    command("bootstrap", "create the environment's state bucket, idempotently", env="required")
    command("smoke", "check the deployed pipeline through the AWS APIs", env="required")
    command("releases", "show which revision runs in which environment")
    command(
        "providers-lock",
        "pin the providers of an environment's stacks for linux and darwin, amd64 and arm64",
        env="required",
    )
    p = command(
        "emulator", "start (or --stop) moto_server for an emulator environment at its aws.endpoint", env="required"
    )
    p.add_argument("--stop", action="store_true", help="stop the emulator this command started")
    command("local", "the whole pipeline in the emulator: start it, bootstrap, deploy, smoke", env="required")
    command("local-down", "destroy the emulator environment and stop the emulator", env="required")
    p = command("unprotect", "lift the protection recorded beside an environment's state (never prod)", env="required")
    p.add_argument("--confirm", help="the environment's suffix: confirms the lift")
    p = command("unlock", "release a stack's state lock that nothing holds any more", env="required")
    p.add_argument("--stack", help="the stack whose state is locked (network, data, compute or monitoring)")
    p.add_argument("--lock-id", help="the ID of the lock, as make deploy or the engine named it")
    p.add_argument("--confirm", help="the environment's suffix, when it is protected")
    p = command(
        "push-state", "push a stack's errored.tfstate back as its state, and lift the refusal of it", env="required"
    )
    p.add_argument("--stack", help="the stack the file belongs to (network, data, compute or monitoring)")
    p.add_argument("--file", help="the errored.tfstate the engine left (the refusal of the stack says where)")
    p.add_argument("--lock-id", help="the state lock the run that left it still holds, to release first")
    p.add_argument("--confirm", help="the environment's suffix, when it is protected")
    p = sub.add_parser("promote", help="promote the revision of FROM to TO, behind gates")
    p.add_argument("--from", dest="source")
    p.add_argument("--to", dest="target")
    p.add_argument("--confirm", help="TO's suffix, when TO is protected")
    p.add_argument("--allow-replace", help="<stack>:<address>[,...]: precious resources of TO the deploy may destroy")
    p.add_argument("--force", action="store_true", help="plan every stack of TO, unchanged fingerprints or not")
    return parser


def _environments_hint() -> str:
    return ", ".join(available_environments()) or "none"


# ------------------------------------------------------------------ what counts: only what was typed

# Words of consent, and what a command that changes something works on, count only when typed: on make's
# command line, or as this command line's flags. Never from the shell's environment, where they outlive the
# command they were meant for. Variable -> the flag's attribute, in the order a make command line names them.
SELECTION = {
    "ENV": "env",
    "SUFFIX": "suffix",
    "STACK": "stack",
    "FROM": "source",
    "TO": "target",
    "LOCK_ID": "lock_id",
    "FILE": "file",
}
CONSENT = {"CONFIRM": "confirm", "ALLOW_REPLACE": "allow_replace", "FORCE": "force"}
# Commands that write to AWS or state (smoke puts one test record on the stream). The others (plan, drift,
# config, synth, outputs, releases, ...) take ENV from the shell as before, saying so when it is not one.
CHANGING = (
    "deploy",
    "destroy",
    "promote",
    "unlock",
    "bootstrap",
    "smoke",
    "unprotect",
    "push-state",
    "local",
    "local-down",
)
# STREAMFLIX_NOT_TYPED, set by the Makefile: `NAME=<where>` for each variable with a value that make did not
# get from its own command line, <where> being make's $(origin) (spaces as dashes), or `makeflags` for a
# definition in a MAKEFLAGS or GNUMAKEFLAGS make found in its environment (make calls those `command line`).
NOT_TYPED = "STREAMFLIX_NOT_TYPED"
_WHERE = {
    "environment": "your shell's environment",
    "environment-override": "your shell's environment (make -e)",
    "makeflags": "MAKEFLAGS in your shell's environment (or a make that runs this one)",
    "file": "a makefile other than the project's (MAKEFILES, -f or --eval)",
    "override": "an override in a makefile other than the project's (MAKEFILES, -f or --eval)",
}
_REMEDY = {
    "makeflags": "take it out of MAKEFLAGS",
    "file": "remove that definition",
    "override": "remove that definition",
}


def _not_typed() -> dict[str, str]:
    """{variable: where it came from} for what make did not get from its command line (empty without make)."""
    found = {}
    for word in os.environ.get(NOT_TYPED, "").split():
        name, _, where = word.partition("=")
        found[name] = where
    return found


def _counts(name: str, value: object) -> bool:
    if name == "FORCE":  # the Makefile's rule: any value but empty or 0
        return bool(value) and str(value).strip() not in ("", "0")
    return bool(value)


def _typed_line(args: argparse.Namespace) -> str:
    """The make command line that gives this command what it was given, every variable typed."""
    words = [f"make {args.command}"]
    for name, attribute in {**SELECTION, **CONSENT}.items():
        value = getattr(args, attribute, None)
        if name == "FORCE":
            value = "1" if value else None
        if name == "ENV" and value and value not in available_environments():
            words.append("ENV=<env>")  # from the shell, ENV often names a shell's rc file
        elif value:
            words.append(shlex.quote(f"{name}={value}"))
    return " ".join(words)


def _refuse_what_was_not_typed(args: argparse.Namespace) -> None:
    """Exit 2, before anything runs, when a word of consent (or, for a command that changes something, what
    it works on) came from anywhere but the command line. The Makefile never passes these on through the
    environment (it unexports them): one found there was set by whoever called this command line directly."""
    problems = []
    not_typed = _not_typed()
    taken = {name: attribute for name, attribute in {**SELECTION, **CONSENT}.items() if hasattr(args, attribute)}
    for name, attribute in taken.items():
        value = getattr(args, attribute)
        consent = name in CONSENT
        if not _counts(name, value) or name not in not_typed or not (consent or args.command in CHANGING):
            continue
        where = not_typed[name]
        shown = f"{name}={value}" if name != "FORCE" else name
        why = (
            "consent counts only on the command line"
            if consent
            else "a command that changes something takes what it works on only from the command line"
        )
        problems.append(
            f"{shown} came from {_WHERE.get(where, f'{where} (make origin)')}, not the make command line: {why} "
            f"({_typed_line(args)}); {_REMEDY.get(where, f'unset {name}')}"
        )
    for name, attribute in CONSENT.items():
        value = os.environ.get(name, "")
        if hasattr(args, attribute) and _counts(name, value):
            flag = f"--{attribute.replace('_', '-')}"
            problems.append(
                f"{name}={value} is set in your environment, and this command never reads consent from it: "
                f"pass {flag if name == 'FORCE' else f'{flag} {shlex.quote(value)}'} on its command line "
                f"(through make: {name}=... on make's), and unset {name}"
            )
    if len(problems) == 1:
        raise UsageError(f"{problems[0]}; nothing was run")
    if problems:
        raise UsageError("nothing was run:\n" + "\n".join(f"  - {problem}" for problem in problems))


def _say_where_environments_come_from(args: argparse.Namespace) -> None:
    """A command that changes something says so when the environment files are not the checkout's own: which
    files exist decides what a SUFFIX= copy may claim, and a leftover STREAMFLIX_ENVIRONMENTS_DIR would decide
    it unseen."""
    elsewhere = os.environ.get("STREAMFLIX_ENVIRONMENTS_DIR")
    if elsewhere and args.command in CHANGING:
        print(
            f"environments are read from {elsewhere} (STREAMFLIX_ENVIRONMENTS_DIR), not environments/", file=sys.stderr
        )


def _one(args: argparse.Namespace) -> EnvironmentConfig:
    if not args.env:
        raise UsageError(f"ENV= is required: make {args.command} ENV=<env> (--env), one of: {_environments_hint()}")
    try:
        return load_environment(args.env, suffix=args.suffix)
    except ConfigError as exc:
        where = _not_typed().get("ENV")
        if where:
            exc.problems.append(
                f"ENV={args.env} came from {_WHERE.get(where, where)}, not from the make command line: "
                f"name the environment, make {args.command} ENV=<env>, or unset ENV"
            )
        raise


def _many(args: argparse.Namespace) -> list[EnvironmentConfig]:
    if args.env:
        return [_one(args)]
    return load_environments(None, suffix=args.suffix)


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(_one(args).model_dump(mode="json"), indent=2))
    return 0


def _lock_for_synthesis(envs: list[EnvironmentConfig], outdir: Path) -> None:

    environment_lock.hold(outdir, [e.suffix for e in envs])  # a deploy of one of them may be reading its JSON


def cmd_synth(args: argparse.Namespace) -> int:
    envs = _many(args)  # validate everything before anything is written
    require_node()
    _lock_for_synthesis(envs, Path(args.outdir))
    from shared.app import synthesize  # the CDK bindings

    out = synthesize(envs, args.outdir)
    for env in envs:
        print(f"synthesized {env.name} (suffix {env.suffix}) into {out}/stacks/")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    envs = _many(args)
    _lock_for_synthesis(envs, DEFAULT_OUTDIR)

    for env in envs:
        out = synthesize_if_changed(env, DEFAULT_OUTDIR)
    return scan(envs, out)


def cmd_bench(args: argparse.Namespace) -> int:
    return run_bench()


def _deploy_command(action: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        from shared.ops import deploy  # boto3

        if action == "plan" and not args.env:
            return _every_environment(args, action, lambda env: deploy.run(action, env, stacks=args.stack))
        allow = {"allow_replace": args.allow_replace, "force": args.force} if action == "deploy" else {}
        return deploy.run(action, _one(args), stacks=args.stack, confirm=args.confirm, **allow)

    return run


def _every_environment(args: argparse.Namespace, action: str, run: Callable[[EnvironmentConfig], int]) -> int:
    """plan and drift without ENV: every real environment in turn (an emulator one only when named)."""
    if args.suffix:
        raise UsageError(f"SUFFIX= makes a copy of one environment: name it with ENV= (make {action} ENV=<env>)")
    envs = [e for e in load_environments() if not e.emulated]
    codes = {}
    for env in envs:
        print(f"\n##### {action} {env.name}", flush=True)
        codes[env.name] = run(env)
    print(
        f"\n{action} of every environment: "
        + ", ".join(f"{name} {'ok' if c == 0 else f'exit {c}'}" for name, c in codes.items())
    )
    return max(codes.values(), default=0)


def cmd_outputs(args: argparse.Namespace) -> int:
    from shared.ops import deploy  # boto3

    return deploy.run("outputs", _one(args))


def cmd_drift(args: argparse.Namespace) -> int:
    from shared.ops import deploy  # boto3

    if not args.env:
        return _every_environment(args, "drift", lambda env: deploy.run("drift", env))
    return deploy.run("drift", _one(args))


def cmd_bootstrap(args: argparse.Namespace) -> int:
    from shared.ops.bootstrap import bootstrap  # boto3

    return bootstrap(_one(args))


def cmd_smoke(args: argparse.Namespace) -> int:
    from shared.ops.smoke import run  # boto3

    return run(_one(args))


def cmd_releases(args: argparse.Namespace) -> int:
    from shared.ops.releases import show  # boto3

    return show(_many(args), named=bool(args.env))


def cmd_docs(args: argparse.Namespace) -> int:

    for path in docs.write():
        print(f"wrote {path}")
    return 0


def cmd_providers_lock(args: argparse.Namespace) -> int:
    from shared.ops.relock import relock  # boto3

    return relock(_one(args))


def cmd_emulator(args: argparse.Namespace) -> int:

    return (emulator.stop if args.stop else emulator.start)(_one(args))


def cmd_unlock(args: argparse.Namespace) -> int:
    from shared.ops.unlock import unlock  # boto3

    return unlock(_one(args), args.stack, args.lock_id, confirm=args.confirm)


def cmd_local(args: argparse.Namespace) -> int:
    from shared.ops import local  # boto3

    return local.up(_one(args))


def cmd_local_down(args: argparse.Namespace) -> int:
    from shared.ops import local  # boto3

    return local.down(_one(args))


def cmd_unprotect(args: argparse.Namespace) -> int:
    from shared.ops.unprotect import unprotect  # boto3

    return unprotect(_one(args), confirm=args.confirm)


def cmd_push_state(args: argparse.Namespace) -> int:
    from shared.ops.push_state import push_state  # boto3

    return push_state(_one(args), args.stack, args.file, lock_id=args.lock_id, confirm=args.confirm)


def cmd_promote(args: argparse.Namespace) -> int:
    from shared.ops.promote import promote  # boto3

    if not args.source or not args.target:
        raise UsageError(
            f"FROM= and TO= are required: make promote FROM=<env> TO=<env>, along {' -> '.join(PROMOTION_ORDER)}"
        )
    return promote(args.source, args.target, confirm=args.confirm, allow_replace=args.allow_replace, force=args.force)


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "config": cmd_config,
    "synth": cmd_synth,
    "check": cmd_check,
    "bench": cmd_bench,
    "docs": cmd_docs,
    "plan": _deploy_command("plan"),
    "deploy": _deploy_command("deploy"),
    "destroy": _deploy_command("destroy"),
    "outputs": cmd_outputs,
    "drift": cmd_drift,
    "bootstrap": cmd_bootstrap,
    "smoke": cmd_smoke,
    "releases": cmd_releases,
    "promote": cmd_promote,
    "emulator": cmd_emulator,
    "providers-lock": cmd_providers_lock,
    "unlock": cmd_unlock,
    "unprotect": cmd_unprotect,
    "local": cmd_local,
    "local-down": cmd_local_down,
    "push-state": cmd_push_state,
}


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
        engine_log.use(log)  # the next command (a test's) decides its own


def _main(argv: list[str] | None) -> int:
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse already printed the usage problem
        return 0 if exc.code == 0 else 2
    try:
        _refuse_what_was_not_typed(args)
        _say_where_environments_come_from(args)
        engine_log.use(engine_log.EngineLog.from_environment(os.environ))  # ENGINE_DEBUG and CI, read once
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OperationFailed as exc:
        print(f"failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143


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
