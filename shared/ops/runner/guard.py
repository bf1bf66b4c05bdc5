"""The data guard: no plan that destroys or weakens a precious resource is applied unless the user named it.

A saved plan is read (`show -json`) before it is applied; every change that deletes a resource of a
type listed in shared/precious.py (a delete, or a replacement in either order: create-before-destroy
still destroys the old one) is a finding, and so is an update that lowers a retention or weakens a
protection listed there (precious.WEAKENINGS): data is lost either way. Findings stop the command before
that stack is applied (exit 2), unless ALLOW_REPLACE names each address as `<stack>:<address>`. An
allowance that matches no finding is refused as well: a misspelt name must not pass silently, nor one
left over from an earlier run. Every environment that has a file is guarded, whatever its suffix; only
a copy made with SUFFIX= on the command line (a throwaway, as the loader marks it) is not, unless its
state location is recorded as protected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.naming import STACK_NAMES
from shared.precious import PAIRS, PRECIOUS, WEAKENINGS, Retention, attribute, is_precious, lost_with

# `<type>.<name>`, optionally with an index (`aws_rds_cluster_instance.instance_0`, `...x[0]`, `...x["a"]`).
_ADDRESS = re.compile(r"^(?P<type>[a-z][a-z0-9_]*)\.[A-Za-z_][A-Za-z0-9_-]*(\[[^\]]+\])?$")


@dataclass(frozen=True)
class Finding:
    """One planned change that destroys a precious resource, or weakens what keeps its data."""

    stack: str  # the stack's name: data
    address: str  # aws_rds_cluster.cluster
    # "replace (delete, then create)", "replace (create, then delete)", "delete", or for a weakening what the
    # update does: "lower message_retention_seconds from 4 days to 1 day", "set deletion_protection to false"
    action: str
    forced_by: tuple[str, ...]  # the attributes that force the replacement (the plan's replace_paths)
    lost: str
    weakens: bool = False  # an update that weakens, not a destruction

    @property
    def allowance(self) -> str:
        return f"{self.stack}:{self.address}"

    def as_dict(self) -> dict:
        return {
            "address": self.address,
            "kind": "weakens" if self.weakens else "destroys",
            "action": self.action,
            "forced_by": list(self.forced_by),
            "lost": self.lost,
            "allow": self.allowance,
        }

    def markdown(self) -> str:
        forced = f", forced by `{'`, `'.join(self.forced_by)}`" if self.forced_by else ""
        return f"- `{self.allowance}`: {self.action}{forced}; lost: {self.lost}"

    def describe(self) -> str:
        forced = f", forced by {', '.join(self.forced_by)}" if self.forced_by else ""
        done = self.action if self.weakens else _PASSIVE[self.action]
        return f"{self.stack}: {self.address} would {done}{forced}: lost: {self.lost}"


# A destruction's action as a sentence says it: "would be replaced (deleted, then created)".
_PASSIVE = {
    "delete": "be deleted",
    "replace (delete, then create)": "be replaced (deleted, then created)",
    "replace (create, then delete)": "be replaced (created, then deleted)",
}


def weakenings(stack: str, address: str, rtype: str, change: dict) -> list[Finding]:
    """What an update of a precious resource weakens: a retention lowered, a protection turned off. A value
    known only after apply is not judged (it is the engine's to fill in)."""
    before, after, unknown = change.get("before") or {}, change.get("after") or {}, change.get("after_unknown") or {}
    found = []
    for rule in WEAKENINGS.get(rtype, ()):
        old, new = attribute(before, rule.attribute), attribute(after, rule.attribute)
        if attribute(unknown, rule.attribute) is True or not rule.weakened(old, new):
            continue
        if isinstance(rule, Retention):
            old, new = rule.default if old is None else old, rule.default if new is None else new
            action = f"lower {rule.attribute} from {rule.words(old)} to {rule.words(new)}"
            lost = rule.lost(old, new)
        else:
            shown = "left out" if new is None else f"set to {str(new).lower()}"
            action, lost = f"have {rule.attribute} {shown}", rule.lost
        found.append(Finding(stack, address, action, (), lost, weakens=True))
    return found


def paired(rc: dict, forced: tuple[str, ...], plan: dict) -> bool:
    """A replacement forced only by an attribute whose partner (precious.PAIRS) the same plan updates to the same
    value: the two resources change together, nothing is lost (a generated password raised by password_version)."""
    for pair in PAIRS:
        if rc.get("type") != pair.resource_type or forced != (pair.attribute,):
            continue
        value = attribute(rc["change"].get("after"), pair.attribute)
        for other in plan.get("resource_changes", []):
            change = other["change"]
            if (
                other.get("type") == pair.partner_type
                and other.get("mode", "managed") == "managed"
                and (
                    change["actions"] == ["update"]
                    and attribute(change.get("before"), pair.partner_attribute) != value
                    and value is not None
                    and attribute(change.get("after"), pair.partner_attribute) == value
                )
            ):
                return True
    return False


def findings(stack: str, plan: dict) -> list[Finding]:
    """What a saved plan (`show -json`) destroys or weakens of what is precious, in the plan's order."""
    found = []
    for rc in plan.get("resource_changes", []):
        actions = rc["change"]["actions"]
        rtype = rc.get("type") or rc["address"].split(".", 1)[0]
        if rc.get("mode", "managed") != "managed" or not is_precious(rtype):
            continue
        if actions == ["update"]:
            found += weakenings(stack, rc["address"], rtype, rc["change"])
            continue
        if "delete" not in actions:
            continue
        if actions == ["delete"]:
            action = "delete"
        elif actions == ["delete", "create"]:
            action = "replace (delete, then create)"
        else:
            action = "replace (create, then delete)"
        paths = rc["change"].get("replace_paths") or []
        forced = tuple(".".join(str(step) for step in path) for path in paths)
        if actions != ["delete"] and paired(rc, forced, plan):
            continue
        found.append(Finding(stack, rc["address"], action, forced, lost_with(rtype)))
    return found


@dataclass(frozen=True)
class Allowances:
    """What ALLOW_REPLACE names, checked for form; empty when it is not set."""

    named: tuple[tuple[str, str], ...] = ()  # (stack, address)

    @classmethod
    def parse(cls, value: str | None) -> Allowances:
        if not value or not value.strip():
            return cls()
        named, problems = [], []
        for item in (part.strip() for part in value.split(",")):
            stack, colon, address = item.partition(":")
            match = _ADDRESS.match(address)
            if not item or not colon or stack not in STACK_NAMES or not match:
                problems.append(f"{item!r} is not <stack>:<address> (stack one of {', '.join(STACK_NAMES)})")
            elif not is_precious(match["type"]):
                problems.append(
                    f"{item!r}: {match['type']} is not precious (the guard only stops {', '.join(PRECIOUS)})"
                )
            else:
                named.append((stack, address))
        if problems:
            raise UsageError(f"ALLOW_REPLACE={value}: " + "; ".join(problems) + "; nothing was changed")
        return cls(tuple(dict.fromkeys(named)))

    def for_stack(self, stack: str) -> set[str]:
        return {address for s, address in self.named if s == stack}

    def stacks(self) -> set[str]:
        return {s for s, _ in self.named}


def guarded(env: EnvironmentConfig) -> bool:
    """Every environment is guarded but a throwaway copy (SUFFIX=pr-1 on the command line: the loader marks
    it, no file can), and even that one is where its state location is recorded as protected (the runner
    then hands it in protected). Not inferred from the suffix: `environment_suffix: stg` in staging.yaml is
    still staging."""
    return env.protected or not env.throwaway


def check_selection(allowances: Allowances, chosen: list[str], env: EnvironmentConfig) -> None:
    """An allowance for a stack this command does not deploy can never match: refused before anything runs."""
    outside = sorted(allowances.stacks() - set(chosen))
    if outside:
        raise UsageError(
            f"ALLOW_REPLACE names {', '.join(outside)}, which this deploy of {env.suffix} does not touch "
            f"(it deploys {', '.join(chosen)}); nothing was changed"
        )


@dataclass(frozen=True)
class Verdict:
    refused: tuple[Finding, ...]  # precious deletions nobody allowed
    unmatched: tuple[str, ...]  # allowances (stack:address) that match no planned deletion
    allowed: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        return not self.refused and not self.unmatched


def judge(stack: str, found: list[Finding], allowances: Allowances) -> Verdict:
    allowed_here = allowances.for_stack(stack)
    planned = {f.address for f in found}
    return Verdict(
        refused=tuple(f for f in found if f.address not in allowed_here),
        unmatched=tuple(f"{stack}:{a}" for a in sorted(allowed_here - planned)),
        allowed=tuple(f for f in found if f.address in allowed_here),
    )


def refusal(env: EnvironmentConfig, stack_id: str, verdict: Verdict, allowances: Allowances) -> str:
    """The message of a refused stack: every finding, what it loses, and the exact value to go on with."""
    lines = [f"refusing to apply {stack_id}: nothing was applied to it or to any later stack"]
    if verdict.refused:
        lines.append("its plan destroys or weakens what is precious (shared/precious.py):")
        lines += [f"  - {f.describe()}" for f in verdict.refused]
        kept = [f"{s}:{a}" for s, a in allowances.named if f"{s}:{a}" not in verdict.unmatched]
        every = ",".join(dict.fromkeys([*kept, *(f.allowance for f in verdict.refused)]))
        # The value stands on a line of its own, with nothing after it: it is meant to be copied.
        lines += [
            "If that is intended (the data is expendable, or saved elsewhere first), run the same command again with",
            f"    ALLOW_REPLACE={every}",
            "If it is not, change the code or config so that the address stays (a refactor moves state with a "
            "`moved` block, never a replacement) and the attributes that force the replacement do not change.",
        ]
    if verdict.unmatched:
        lines.append(
            f"ALLOW_REPLACE names {', '.join(verdict.unmatched)}, which the plan of {stack_id} neither destroys "
            f"nor weakens: check the spelling against `make plan ENV={env.name}`"
        )
    return "\n".join(lines)
