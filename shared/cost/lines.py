"""What the cost model is made of: a quantity's low-expected-high span, a priced line item, the stack a pricer sees,
and the few readings every pricer shares (nested blocks, numbers, hours in AWS's month)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from shared.config import EnvironmentConfig
from shared.errors import UsageError

# AWS's pricing calculator counts a month as 730 hours (8760 / 12); so does every line here.
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600
KB_PER_GB = 1_000_000  # AWS bills data in decimal gigabytes
PUT_PAYLOAD_UNIT_KB = 25  # Kinesis counts each record's payload in 25 KB units, rounded up
FREE_EPHEMERAL_GIB = 20  # Fargate includes 20 GB of ephemeral storage in every task


@dataclass(frozen=True)
class Span:
    """A quantity or an amount at the low, expected and high ends of what autoscaling may do."""

    low: float
    expected: float
    high: float

    @classmethod
    def fixed(cls, value: float) -> Span:
        return cls(value, value, value)

    def __mul__(self, factor: float) -> Span:
        return Span(self.low * factor, self.expected * factor, self.high * factor)

    def __add__(self, other: Span) -> Span:
        return Span(self.low + other.low, self.expected + other.expected, self.high + other.high)

    def rounded(self, digits: int = 2) -> dict[str, float]:
        return {
            "low": round(self.low, digits),
            "expected": round(self.expected, digits),
            "high": round(self.high, digits),
        }


ZERO = Span.fixed(0.0)


@dataclass(frozen=True)
class LineItem:
    """One usage dimension of one resource, as AWS prices it."""

    stack: str  # network-dev
    resource: str  # aws_nat_gateway.nat_0
    item: str  # NAT gateway hours
    quantity: Span
    unit: str
    unit_price: float

    @property
    def monthly(self) -> Span:
        return self.quantity * self.unit_price

    def as_dict(self) -> dict[str, Any]:
        """The issue's shape; `quantity` is the expected quantity (the range is in `monthly`)."""
        return {
            "stack": self.stack,
            "resource": self.resource,
            "item": self.item,
            "quantity": round(self.quantity.expected, 6),
            "unit": self.unit,
            "unit_price": self.unit_price,
            "monthly": self.monthly.rounded(),
        }


@dataclass(frozen=True)
class Stack:
    """What a pricer sees: one stack's resources, by type then name, and its environment."""

    id: str
    resources: Mapping[str, Mapping[str, Mapping[str, Any]]]
    env: EnvironmentConfig

    def of(self, rtype: str) -> Mapping[str, Mapping[str, Any]]:
        return self.resources.get(rtype, {})

    def referenced(self, rtype: str, value: Any) -> Mapping[str, Any] | None:
        """The resource of `rtype` that `value` refers to: by its synthesized reference (`${type.name.attr}`), by the
        name or ARN a plan resolved it to, or the stack's only one of that type."""
        found = self.of(rtype)
        text = str(value or "")
        for name, attrs in found.items():
            if f"{rtype}.{name}." in text:
                return attrs
            ids = [attrs.get(k) for k in ("arn", "id", "name", "cluster_identifier")]
            if any(isinstance(i, str) and i and (i == text or text.endswith(f"/{i}") or f":{i}" in text) for i in ids):
                return attrs
        return next(iter(found.values())) if len(found) == 1 else None


Quantities = list[tuple[str, Span]]  # (price key, quantity)
Pricer = Callable[[str, Mapping[str, Any], Stack], Quantities]


def block(value: Any) -> Mapping[str, Any]:
    """A nested block: an object when synthesized, a list of one object in a plan."""
    if isinstance(value, list):
        return value[0] if value and isinstance(value[0], Mapping) else {}
    return value if isinstance(value, Mapping) else {}


def number(attrs: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = attrs.get(key, default)
    if value is None:
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise UsageError(f"{where}: {key} is {value!r}, not a number the cost model can price") from None


def hours(count: float = 1) -> Span:
    return Span.fixed(HOURS_PER_MONTH * count)


def stream_gb_per_month(env: EnvironmentConfig) -> float:
    return env.usage.records_per_second * env.usage.record_kb * SECONDS_PER_MONTH / KB_PER_GB
