"""The command line's arguments: each command of shared/cli.py, what it takes and its help."""

from __future__ import annotations

import argparse

# What `python -m shared.cli --help` says first (the contract of its exit codes lives in shared/cli.py).
DESCRIPTION = """The command line behind the Makefile: `python -m shared.cli <command> [--env E] [--stack a,b] ...`.

Exit codes (the contract): 0 success, 1 an operation failed, 2 usage or input error.
"""


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shared.cli", description=DESCRIPTION)
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
    command("cost", "the monthly estimate of one or every environment, per stack and line item, offline")
    p = command("prices", "refresh the committed price files from the AWS Price List API", env="none")
    p.add_argument("--region", help="one region (default: every region an environment uses)")
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
    p = command("outputs", "write every stack's outputs to outputs/<env>.json, or print one", env="required")
    p.add_argument("--name", help="<stack>.<output> (or an output name only one stack has): print its value alone")
    command("drift", "list stacks whose real infrastructure differs from the code", env="required")
    command("bootstrap", "create the environment's state bucket and CI roles, idempotently", env="required")
    command("smoke", "check the deployed pipeline through the AWS APIs", env="required")
    command("releases", "show which revision runs in which environment (with ENV, its history too)")
    command("status", "each stack: what it depends on, its last apply, and what changed since", env="required")
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
