"""One environment's monthly estimate: every stack's synthesized resources priced by the model, and what make bootstrap
creates beside them (the state bucket and its key)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.config import EnvironmentConfig
from shared.cost import prices
from shared.cost.model import ZERO, LineItem, Span, Stack, price_stack, state_bucket_items
from shared.errors import UsageError
from shared.naming import STACK_NAMES, stack_id


@dataclass(frozen=True)
class Estimate:
    env: str  # the suffix the stacks are named with
    region: str
    currency: str
    emulated: bool  # priced as if in AWS; an emulator bills nothing
    items: tuple[LineItem, ...]
    usage: Mapping[str, Any]  # the usage keys the estimate assumed, shown beside it

    @property
    def total(self) -> Span:
        return sum((item.monthly for item in self.items), ZERO)

    def stack_totals(self) -> dict[str, Span]:
        totals: dict[str, Span] = {}
        for item in self.items:
            totals[item.stack] = totals.get(item.stack, ZERO) + item.monthly
        return totals

    def as_dict(self) -> dict[str, Any]:
        """reports/<env>-cost.json: exactly the shape issue 29 gives."""
        return {
            "env": self.env,
            "currency": self.currency,
            "total": self.total.rounded(),
            "items": [item.as_dict() for item in self.items],
        }


def synthesized_resources(outdir: Path, stack: str) -> Mapping[str, Mapping[str, Mapping[str, Any]]]:
    """The `resource` blocks of cdktf.out/stacks/<stack>/cdk.tf.json."""
    path = outdir / "stacks" / stack / "cdk.tf.json"
    try:
        return json.loads(path.read_text()).get("resource", {})
    except FileNotFoundError:
        raise UsageError(f"{path} is missing: synthesize first (make synth ENV=<env>)") from None


def estimate(
    env: EnvironmentConfig,
    stacks: Mapping[str, Mapping[str, Mapping[str, Mapping[str, Any]]]],
    prices_dir: Path = prices.PRICES_DIR,
) -> Estimate:
    """`stacks`: stack id -> its resources (type -> name -> attributes)."""
    book = prices.load(env.aws.region, prices_dir)
    state_book = book if env.state_region == env.aws.region else prices.load(env.state_region, prices_dir)
    items: list[LineItem] = []
    for sid, resources in stacks.items():
        items += price_stack(Stack(sid, resources, env), book)
    items += state_bucket_items(env, state_book)
    return Estimate(
        env=env.suffix,
        region=env.aws.region,
        currency=book.currency,
        emulated=env.emulated,
        items=tuple(items),
        usage=env.usage.model_dump(mode="json"),
    )


def of_synthesized(env: EnvironmentConfig, outdir: Path, prices_dir: Path = prices.PRICES_DIR) -> Estimate:
    stacks = {
        stack_id(name, env.suffix): synthesized_resources(outdir, stack_id(name, env.suffix)) for name in STACK_NAMES
    }
    return estimate(env, stacks, prices_dir)
