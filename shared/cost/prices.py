"""The committed prices: one file per region (shared/cost/prices/<region>.json), each price with the AWS price list
it came from. Read here into a frozen PriceBook; a region without a file, or a dimension without a price, is a
UsageError that names what is missing and where it should be."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from shared.errors import UsageError

PRICES_DIR = Path(__file__).resolve().parent / "prices"
# The fields every price carries; `make prices` writes them, the model reads `usd`, `item` and `unit`.
FIELDS = ("item", "unit", "usd", "service", "usage_type", "scale", "published", "source")


@dataclass(frozen=True)
class Price:
    """One dimension as AWS prices it: `usd` for one `unit` of `item`, from `service`'s `usage_type`."""

    key: str  # our name for the dimension: nat_gateway_hours
    item: str  # AWS's words: NAT gateway hours
    unit: str  # hours, GB, GB-months, million requests, ...
    usd: float
    service: str  # the Price List API offer code: AmazonEC2
    usage_type: str  # the Price List API usage type: NatGateway-Hours
    scale: float  # the Price List API's units in one of ours (1e6 where we price per million)
    published: str  # the date of the price list the figure was read from
    source: str  # price-list-api, or how a hand-written figure was taken


@dataclass(frozen=True)
class PriceBook:
    region: str
    currency: str
    path: Path
    prices: Mapping[str, Price]

    def __getitem__(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise UsageError(
                f"no price for {key!r} in {self.region} ({self.path}): add it, with its AWS usage type, or run "
                "make prices where AWS credentials are"
            ) from None


def price_file(region: str, directory: Path = PRICES_DIR) -> Path:
    return directory / f"{region}.json"


def parse(text: str, path: Path) -> PriceBook:
    """The book in a price file's text; every malformed entry is named at once."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("prices"), dict) or not isinstance(doc.get("region"), str):
        raise UsageError(f"{path}: expected an object with 'region' and 'prices'")
    problems, prices = [], {}
    for key, entry in doc["prices"].items():
        missing = [f for f in FIELDS if not isinstance(entry, dict) or f not in entry]
        if missing:
            problems.append(f"{key}: missing {', '.join(missing)}")
            continue
        usd = entry["usd"]
        if isinstance(usd, bool) or not isinstance(usd, int | float) or not math.isfinite(usd) or usd < 0:
            problems.append(f"{key}: usd must be a price of 0 or more, got {usd!r}")
            continue
        prices[key] = Price(key=key, **{f: entry[f] for f in FIELDS})
    if problems:
        raise UsageError(f"{path}: " + "; ".join(problems))
    return PriceBook(doc["region"], doc.get("currency", "USD"), path, MappingProxyType(prices))


def load(region: str, directory: Path = PRICES_DIR) -> PriceBook:
    path = price_file(region, directory)
    if not path.is_file():
        have = sorted(p.stem for p in directory.glob("*.json")) or ["none"]
        raise UsageError(
            f"no prices for region {region}: {path} is missing (prices exist for {', '.join(have)}); "
            f"create it with make prices REGION={region} where AWS credentials are"
        )
    book = parse(path.read_text(), path)
    if book.region != region:
        raise UsageError(f"{path} holds the prices of {book.region}, not {region}")
    return book
