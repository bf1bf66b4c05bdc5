"""`make prices`: each price of a region's file asked again of the AWS Price List API (GetProducts, by the offer code
and usage type the file names), and the file replaced in one rename, only when every price was found.

GetProducts answers with PriceList: one JSON string per product, holding product.attributes, terms.OnDemand.<offer
term>.priceDimensions.<rate>.pricePerUnit.USD with beginRange/endRange for tiers, and the offer's publicationDate.
The first paid tier is taken (free tiers are not estimated); products that disagree at it are an error, not a guess.
Without credentials or network the file stays as it was and the message says why.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from shared.cost import prices
from shared.errors import OperationFailed, UsageError
from shared.files import write_atomically

# The Price List API answers in us-east-1 (also eu-central-1 and ap-south-1), whatever region it prices.
PRICING_REGION = "us-east-1"


def _begin(dimension: dict[str, Any]) -> float:
    value = dimension.get("beginRange", "0")
    return math.inf if value == "Inf" else float(value)


def first_paid_tier(price_list: Iterable[str], what: str) -> tuple[float, str, str]:
    """(USD per the API's unit, that unit, the publication date) of the lowest tier with a price above 0."""
    found: list[tuple[float, float, str, str]] = []  # (begin, usd, unit, published)
    for text in price_list:
        product = json.loads(text) if isinstance(text, str) else text
        published = str(product.get("publicationDate", ""))[:10]
        for term in (product.get("terms") or {}).get("OnDemand", {}).values():
            for dimension in term.get("priceDimensions", {}).values():
                usd = float(dimension.get("pricePerUnit", {}).get("USD", "0"))
                if usd > 0:
                    found.append((_begin(dimension), usd, dimension.get("unit", ""), published))
    if not found:
        raise LookupError(f"{what}: the Price List API has no on-demand USD price for it")
    lowest = min(begin for begin, *_ in found)
    at_lowest = {(usd, unit) for begin, usd, unit, _ in found if begin == lowest}
    if len(at_lowest) > 1:
        raise LookupError(f"{what}: products disagree on the first paid tier: {sorted(at_lowest)}")
    (usd, unit), published = at_lowest.pop(), max(p for begin, *_, p in found if begin == lowest)
    return usd, unit, published


def fetch(client: Any, price: prices.Price, region: str) -> prices.Price:
    """`price` as the API states it now."""
    pages = client.get_paginator("get_products").paginate(
        ServiceCode=price.service,
        Filters=[
            {"Type": "TERM_MATCH", "Field": "usagetype", "Value": price.usage_type},
            {"Type": "TERM_MATCH", "Field": "regionCode", "Value": region},
        ],
    )
    price_list = [text for page in pages for text in page.get("PriceList", [])]
    usd, _unit, published = first_paid_tier(price_list, f"{price.key} ({price.service} {price.usage_type})")
    return replace(price, usd=round(usd * price.scale, 10), published=published, source="price-list-api")


def document(book: prices.PriceBook, about: str) -> str:
    entries = {
        key: {field: getattr(price, field) for field in prices.FIELDS} for key, price in sorted(book.prices.items())
    }
    doc = {"region": book.region, "currency": book.currency, "about": about, "prices": entries}
    return json.dumps(doc, indent=2) + "\n"


def refresh(region: str, client_factory: Callable[[], Any], directory: Path = prices.PRICES_DIR) -> list[str]:
    """Every price of `region` fetched again; the file replaced only when all were found. Returns what changed."""
    book = prices.load(region, directory)
    path = prices.price_file(region, directory)
    about = json.loads(path.read_text()).get("about", "")
    try:
        from botocore.exceptions import BotoCoreError, ClientError  # boto3 only for this command

        client = client_factory()
        updated, missing = {}, []
        for key, price in book.prices.items():
            try:
                updated[key] = fetch(client, price, region)
            except LookupError as exc:
                missing.append(str(exc))
    except (BotoCoreError, ClientError) as exc:
        raise UsageError(
            f"could not ask the AWS Price List API ({type(exc).__name__}: {exc}); {path} is unchanged. It needs AWS "
            "credentials allowed pricing:GetProducts, and the network"
        ) from None
    if missing:
        raise OperationFailed(f"{path} is unchanged: " + "; ".join(missing))
    changed = [
        f"{key}: {book.prices[key].usd} -> {new.usd} {new.unit}"
        for key, new in updated.items()
        if new.usd != book.prices[key].usd
    ]
    write_atomically(path, document(replace(book, prices=updated), about))
    return changed


def pricing_client() -> Any:
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=5, read_timeout=20, retries={"max_attempts": 2})
    return boto3.client("pricing", region_name=PRICING_REGION, config=config)
