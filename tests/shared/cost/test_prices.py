"""The committed price files: each price whole, with its AWS source and date; a missing region or a bad entry named."""

from __future__ import annotations

import json
import re

import pytest

from shared.config import load_environments
from shared.cost import prices
from shared.errors import UsageError


def test_every_region_an_environment_uses_has_a_price_file():
    for env in load_environments():
        assert prices.load(env.aws.region).region == env.aws.region
        assert prices.load(env.state_region).region == env.state_region


def test_every_price_names_its_offer_usage_type_date_and_source():
    book = prices.load("us-east-1")
    assert book.currency == "USD" and len(book.prices) >= 40
    for key, price in book.prices.items():
        assert price.usd > 0, key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.published), key
        assert price.service and price.usage_type and price.item and price.unit and price.source, key
        assert price.scale in (1, 1e6), key


@pytest.mark.parametrize(
    ("key", "usd"),
    [
        ("nat_gateway_hours", 0.045),
        ("nat_gateway_gb", 0.045),
        ("fargate_vcpu_hours", 0.04048),
        ("fargate_gb_hours", 0.004445),
        ("aurora_acu_hours", 0.12),
        ("kinesis_shard_hours", 0.015),
        ("logs_ingested_gb", 0.50),
        ("kms_key_month", 1.0),
        ("secret_month", 0.40),
    ],
)
def test_the_published_on_demand_prices_of_us_east_1(key, usd):
    assert prices.load("us-east-1")[key].usd == usd


def test_a_region_without_prices_is_named_with_the_regions_that_have_them():
    with pytest.raises(
        UsageError, match=r"no prices for region eu-west-3: .*eu-west-3.json is missing \(prices exist for us-east-1\)"
    ):
        prices.load("eu-west-3")


def test_every_bad_entry_is_named_at_once(tmp_path):
    doc = {
        "region": "us-east-1",
        "prices": {"a": {"usd": 1}, "b": {f: "x" for f in prices.FIELDS} | {"usd": -1}},
    }
    (tmp_path / "us-east-1.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError) as exc:
        prices.load("us-east-1", tmp_path)
    assert "a: missing item, unit, service" in str(exc.value) and "b: usd must be a price of 0 or more" in str(
        exc.value
    )


def test_a_file_of_another_region_is_refused(tmp_path):
    doc = json.loads(prices.price_file("us-east-1").read_text()) | {"region": "eu-west-1"}
    (tmp_path / "us-east-1.json").write_text(json.dumps(doc))
    with pytest.raises(UsageError, match="holds the prices of eu-west-1, not us-east-1"):
        prices.load("us-east-1", tmp_path)
