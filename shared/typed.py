"""What counts only when it was typed: words of consent (CONFIRM, ALLOW_REPLACE, FORCE), and what a command that
changes something works on, taken from make's command line or this command line's flags, never from the shell's
environment, where they outlive the command they were meant for."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from shared.config import available_environments
from shared.errors import UsageError
from shared.options import current

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
WHERE = {
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


def not_typed() -> dict[str, str]:
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


def refuse_what_was_not_typed(args: argparse.Namespace) -> None:
    """Exit 2, before anything runs, when a word of consent (or, for a command that changes something, what
    it works on) came from anywhere but the command line. The Makefile never passes these on through the
    environment (it unexports them): one found there was set by whoever called this command line directly."""
    problems = []
    outside = not_typed()
    taken = {name: attribute for name, attribute in {**SELECTION, **CONSENT}.items() if hasattr(args, attribute)}
    for name, attribute in taken.items():
        value = getattr(args, attribute)
        consent = name in CONSENT
        if not _counts(name, value) or name not in outside or not (consent or args.command in CHANGING):
            continue
        where = outside[name]
        shown = f"{name}={value}" if name != "FORCE" else name
        why = (
            "consent counts only on the command line"
            if consent
            else "a command that changes something takes what it works on only from the command line"
        )
        problems.append(
            f"{shown} came from {WHERE.get(where, f'{where} (make origin)')}, not the make command line: {why} "
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


def say_where_environments_come_from(args: argparse.Namespace) -> None:
    """A command that changes something says so when the environment files are not the checkout's own: which
    files exist decides what a SUFFIX= copy may claim, and a leftover STREAMFLIX_ENVIRONMENTS_DIR would decide
    it unseen."""
    elsewhere = current().environments_dir
    if elsewhere and args.command in CHANGING:
        print(
            f"environments are read from {elsewhere} (STREAMFLIX_ENVIRONMENTS_DIR), not environments/", file=sys.stderr
        )
