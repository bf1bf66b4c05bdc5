"""Confirmation: a protected environment is never applied, and no environment destroyed, without a yes."""

from __future__ import annotations

import sys

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.naming import stack_id


def require_confirmation(
    env: EnvironmentConfig, action: str, confirm: str | None = None, selection: list[str] | None = None
) -> None:
    """Protected environments are never applied, and no environment destroyed, without a yes. A CONFIRM
    that names another environment is refused whatever the command: it says the user meant another.

    The yes is `confirm` (typed: make's command line, or --confirm) or the prompt; never the environment's
    CONFIRM, which outlives the command it was meant for (shared/cli.py refuses one set there)."""
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
