"""The cost model: a stack's resources (type -> name -> attributes, as synthesized or as a plan holds them) and the
environment's config in, priced line items out, each with a low, an expected and a high monthly figure.

Pure functions on frozen values. Each priced resource type has one pricer (shared/cost/pricers.py, PRICERS); the
types AWS does not bill are in shared/cost/free.py; any other type is refused by name (UnpricedResource), never
skipped. Its parts: shared/cost/lines.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.config import EnvironmentConfig
from shared.cost.free import FREE
from shared.cost.lines import HOURS_PER_MONTH, ZERO, LineItem, Span, Stack
from shared.cost.pricers import PRICERS
from shared.cost.prices import PriceBook
from shared.errors import OperationFailed
from shared.naming import state_kms_alias

__all__ = ["HOURS_PER_MONTH", "PRICERS", "ZERO", "LineItem", "Span", "Stack", "UnpricedResource", "price_stack"]


class UnpricedResource(OperationFailed):
    """A resource type the model neither prices nor lists as free: the model fell behind the stacks."""


def unknown_types(resources: Mapping[str, Any]) -> list[str]:
    """The resource types of `resources` the model neither prices nor lists as free."""
    return sorted(t for t in resources if t not in PRICERS and t not in FREE)


def price_stack(stack: Stack, book: PriceBook) -> tuple[LineItem, ...]:
    """Every line of one stack, in type and name order; lines whose quantity is nothing at all are left out (their
    price is still looked up, so a missing one is said whatever the usage)."""
    unknown = unknown_types(stack.resources)
    if unknown:
        raise UnpricedResource(
            f"{stack.id}: the cost model does not know {', '.join(unknown)}: price it in shared/cost/pricers.py "
            "(PRICERS) or list it as free in shared/cost/free.py"
        )
    items = []
    for rtype in sorted(stack.resources):
        if rtype in FREE:
            continue
        for name in sorted(stack.resources[rtype]):
            for key, quantity in PRICERS[rtype](name, stack.resources[rtype][name], stack):
                price = book[key]
                if quantity != ZERO:
                    items.append(LineItem(stack.id, f"{rtype}.{name}", price.item, quantity, price.unit, price.usd))
    return tuple(items)


def state_bucket_items(env: EnvironmentConfig, book: PriceBook) -> tuple[LineItem, ...]:
    """What make bootstrap creates outside the stacks: the state bucket and the key its state is encrypted with."""
    storage, key = book["s3_standard_gb_month"], book["kms_key_month"]
    bucket = Span.fixed(env.usage.state_bucket_gb)
    return (
        LineItem("state", f"s3://{env.state.bucket}", storage.item, bucket, storage.unit, storage.usd),
        LineItem("state", state_kms_alias(env), key.item, Span.fixed(1), key.unit, key.usd),
    )
