"""Plan before consent: where a command needs a yes that was not typed (any destroy, a deploy of a protected
environment), every chosen stack is planned and the summary shown first; then the yes is asked on a terminal,
or refused with the CONFIRM to give. What is applied is what was shown:

- each reviewed plan stays saved in its stack's working directory, and the stack applies exactly that file,
  unless a stack it reads was applied in this run (its outputs may have moved) or its own state was changed
  since (a destroy's snapshot key leaving it): then it is planned again;
- a plan made again that does anything the review did not show (an address, an action on it, or access it widens)
  is shown and asked about again on a terminal, or refused: the rerun reviews it.
(The engine itself refuses a saved plan whose state another run changed since: "Saved plan is stale".)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.ops.engine.workdir import Stack
from shared.ops.runner.confirm import ask
from shared.ops.runner.outcome import change_line
from shared.ops.runner.steps import Plan
from shared.ops.runner.widening import Widening


def _shown_as(change: dict) -> tuple[str, tuple[str, ...]]:
    return change["address"], tuple(change["actions"])


@dataclass
class Reviewed:
    """What the review showed of each stack, and the plan each may apply as it was saved."""

    shown: dict[str, set[tuple[str, tuple[str, ...]]]] = field(default_factory=dict)  # stack id: (address, actions)
    widened: dict[str, set[str]] = field(default_factory=dict)  # stack id: what its plan widens, as shown
    saved: dict[str, Plan] = field(default_factory=dict)  # stack id: its reviewed plan, saved as its plan file

    def record(self, stack: Stack, changes: list[dict], widens: list[Widening], saved: Plan | None) -> None:
        """What the review showed of a stack (read after its plan was taken in), and the plan it may apply."""
        self.shown[stack.id] = {_shown_as(c) for c in changes}
        self.widened[stack.id] = {w.describe() for w in widens}
        if saved is not None:
            self.saved[stack.id] = saved

    def reusable(self, stack: Stack, applied: set[str]) -> Plan | None:
        """The saved plan, while it still says what an apply does: no stack it reads was applied since."""
        if applied & set(stack.dependencies):
            return None
        return self.saved.get(stack.id)

    def unshown(self, stack: Stack, plan: Plan, widens: list[Widening]) -> list[str]:
        """What a plan made again does that the review did not show: its change lines, and what it widens (a policy
        updated at the same address may grant more than the one shown)."""
        seen, widened = self.shown.get(stack.id, set()), self.widened.get(stack.id, set())
        lines = [change_line(c) for c in plan.changes if _shown_as(c) not in seen]
        return lines + [f"widens: {w.describe()}" for w in widens if w.describe() not in widened]


def agreed_again(suffix: str, stack: Stack, lines: list[str]) -> bool:
    """A terminal's yes to what a plan made again adds to the review; elsewhere no."""
    listed = "\n".join(f"      {line}" for line in lines)
    return ask(
        f"{stack.id}, planned again after the stacks it reads were applied, also does what was not shown:\n{listed}\n"
        f"Type '{suffix}' to apply it: ",
        suffix,
    )


def refusal(stack: Stack, lines: list[str], suffix: str) -> str:
    return "\n".join(
        [
            f"refusing to apply {stack.id}: planned again after the stacks it reads were applied, it does what was not "
            "shown when the yes was given; nothing was applied to it or to any later stack:",
            *(f"      {line}" for line in lines),
            f"Run the same command again: it goes on from here and shows this plan before it asks (CONFIRM={suffix}).",
        ]
    )
