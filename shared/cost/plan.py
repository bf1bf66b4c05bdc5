"""What a plan does to the monthly bill: the stack as last applied (the plan's `prior_state`) and as planned
(`planned_values`), each priced by the same model as `make cost`. A stack whose plan changes nothing costs what its
synthesized JSON says, before and after. The expected figures; the ranges are make cost's."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shared.config import EnvironmentConfig
from shared.cost import prices
from shared.cost.model import Stack, price_stack
from shared.errors import OperationFailed, UsageError

Resources = dict[str, dict[str, Mapping[str, Any]]]


def resources_of(module: Any) -> Resources:
    """A plan's values module (`planned_values.root_module`, `prior_state.values.root_module`), child modules
    included, as type -> name -> values; `name[index]` for a counted one. Data sources are not billed."""
    found: Resources = {}
    modules = [module] if isinstance(module, Mapping) else []
    while modules:
        current = modules.pop()
        for resource in current.get("resources") or []:
            if not isinstance(resource, Mapping) or resource.get("mode") != "managed":
                continue
            name = str(resource.get("name"))
            if "index" in resource:
                name += f"[{json.dumps(resource['index'])}]"
            found.setdefault(str(resource.get("type")), {})[name] = resource.get("values") or {}
        modules += [m for m in current.get("child_modules") or [] if isinstance(m, Mapping)]
    return found


# How many of the resources that move the bill most a plan's cost line names.
DRIVERS_SHOWN = 3


def _by_resource(env: EnvironmentConfig, stack_id: str, resources: Resources, book: prices.PriceBook) -> dict:
    """Each priced resource's expected monthly USD, by address."""
    found: dict[str, float] = {}
    for item in price_stack(Stack(stack_id, resources, env), book):
        found[item.resource] = found.get(item.resource, 0.0) + item.monthly.expected
    return found


def _drivers(before: dict[str, float], after: dict[str, float]) -> list[dict[str, Any]]:
    """The resources whose cost the plan changes, the largest change first: what a reviewer asks about."""
    moved = [
        {"resource": r, "before": round(before.get(r, 0.0), 2), "after": round(after.get(r, 0.0), 2)}
        for r in sorted(set(before) | set(after))
    ]
    moved = [d for d in moved if d["before"] != d["after"]]
    return sorted(moved, key=lambda d: -abs(d["after"] - d["before"]))


def monthly_cost(
    env: EnvironmentConfig,
    stack_id: str,
    document: Mapping[str, Any] | None,
    synthesized: Path | None = None,
    prices_dir: Path = prices.PRICES_DIR,
) -> dict[str, Any]:
    """`{"before", "after", "currency"}` in USD a month, from the plan `document` (its `show -json`), or, for a plan
    that changes nothing, from the `synthesized` cdk.tf.json. A stack the model cannot price is said, not raised:
    an estimate never stops a plan."""
    try:
        book = prices.load(env.aws.region, prices_dir)
        if document:
            prior = (document.get("prior_state") or {}).get("values", {}).get("root_module")
            was = _by_resource(env, stack_id, resources_of(prior), book)
            now = _by_resource(
                env, stack_id, resources_of((document.get("planned_values") or {}).get("root_module")), book
            )
            before, after, drivers = round(sum(was.values()), 2), round(sum(now.values()), 2), _drivers(was, now)
        elif synthesized is not None and synthesized.is_file():
            resources = json.loads(synthesized.read_text()).get("resource", {})
            before = after = round(sum(_by_resource(env, stack_id, resources, book).values()), 2)
            drivers = []
        else:
            return {"before": None, "after": None, "currency": book.currency, "error": "no plan to price"}
    except (UsageError, OperationFailed) as exc:
        return {"before": None, "after": None, "currency": "USD", "error": str(exc)}
    except (LookupError, TypeError, ValueError, AttributeError) as exc:  # a plan of a shape the model did not expect
        return {"before": None, "after": None, "currency": "USD", "error": f"{type(exc).__name__}: {exc}"}
    return {"before": before, "after": after, "currency": book.currency, "drivers": drivers}


def _signed(delta: float) -> str:
    return f"{'+' if delta > 0 else '-'}${abs(delta):,.2f}"


def difference(cost: Mapping[str, Any] | None) -> str:
    """`+$36.95/month (aws_nat_gateway.nat_0 +$32.85, aws_eip.nat_0_eip +$3.65)`: the change and the resources
    that make most of it; "" when nothing changes or nothing was priced."""
    if not cost or cost.get("before") is None or cost.get("after") is None:
        return ""
    delta = round(cost["after"] - cost["before"], 2)
    if not delta:
        return ""
    drivers = cost.get("drivers") or []
    named = ", ".join(f"{d['resource']} {_signed(d['after'] - d['before'])}" for d in drivers[:DRIVERS_SHOWN])
    more = f", {len(drivers) - DRIVERS_SHOWN} more" if len(drivers) > DRIVERS_SHOWN else ""
    return f"{_signed(delta)}/month" + (f" ({named}{more})" if named else "")


def total(costs: list[Mapping[str, Any] | None]) -> dict[str, Any] | None:
    """The environment's: the sum of its stacks' (those priced)."""
    priced = [c for c in costs if c and c.get("before") is not None and c.get("after") is not None]
    if not priced:
        return None
    return {
        "before": round(sum(c["before"] for c in priced), 2),
        "after": round(sum(c["after"] for c in priced), 2),
        "currency": priced[0]["currency"],
    }
