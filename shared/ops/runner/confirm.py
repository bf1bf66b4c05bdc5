"""Confirmation: a protected environment is never applied, and no environment destroyed, without a yes."""

from __future__ import annotations

import sys

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.naming import stack_id
from shared.ops.engine.interrupts import INTERRUPTS


def ask(question: str, answer: str) -> bool:
    """On a terminal, whether the user typed `answer` to the question; elsewhere (CI, a pipe) no. Ctrl-D and
    Ctrl-C are no, at once (even while the runner catches the signals for its engines)."""
    if not sys.stdin.isatty():
        return False
    try:
        with INTERRUPTS.prompting():
            return input(question).strip() == answer
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)  # the prompt's line ends
        return False


def named(env: EnvironmentConfig, confirm: str | None) -> bool:
    """Whether a yes was typed (CONFIRM=, or --confirm). A CONFIRM that names another environment is refused
    whatever the command: it says the user meant another.

    The yes is `confirm` or the prompt; never the environment's CONFIRM, which outlives the command it was meant
    for (shared/cli.py refuses one set there)."""
    if confirm and confirm != env.suffix:
        raise UsageError(
            f"CONFIRM={confirm} does not name the environment this command works on ({env.suffix}); nothing was changed"
        )
    return bool(confirm)


def needs_yes(env: EnvironmentConfig, action: str) -> bool:
    """A protected environment is never applied, and no environment destroyed, without a yes (a plan that widens
    access needs one anywhere: shared/ops/runner/actions.py)."""
    return action == "destroy" or (action == "deploy" and env.protected)


def obtain(env: EnvironmentConfig, action: str, selection: list[str] | None = None) -> None:
    """The yes asked on a terminal, after what it approves was shown; elsewhere a refusal that says which CONFIRM
    to give. Raises UsageError (exit 2) unless the user typed the environment's name."""
    if action == "destroy":
        what = ", ".join(stack_id(s, env.suffix) for s in selection) if selection else f"every stack of {env.suffix}"
        verb = f"destroy {what}"
    else:
        verb = f"apply changes to {env.suffix}"
    if sys.stdin.isatty():
        if ask(f"About to {verb}, as planned above. Type '{env.suffix}' to go on: ", env.suffix):
            return
        raise UsageError(f"not confirmed; nothing was changed in {env.suffix}")
    raise UsageError(
        f"refusing to {verb} without confirmation: run again with CONFIRM={env.suffix} "
        "(or from a terminal, to be asked); nothing was changed"
    )
