"""make prices: GetProducts answers (in the Price List API's format: PriceList as JSON strings) turned into prices,
the file replaced only when every price was found, and left alone without credentials."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from botocore.exceptions import EndpointConnectionError, NoCredentialsError

from shared.cost import prices, refresh
from shared.errors import OperationFailed, UsageError

RECORDED = Path(__file__).parent / "recorded"


def pages(name: str) -> list[dict]:
    return json.loads((RECORDED / name).read_text())


def price_list(name: str) -> list[str]:
    return [text for page in pages(name) for text in page["PriceList"]]


class FakePricing:
    """The pricing client's get_products paginator, answering from recorded pages by usage type."""

    def __init__(self, answers: dict[str, list[dict]], error: Exception | None = None):
        self.answers, self.error, self.asked = answers, error, []

    def get_paginator(self, operation: str):
        assert operation == "get_products"
        return self

    def paginate(self, ServiceCode: str, Filters: list[dict]):  # noqa: N803 - boto3's own names
        if self.error:
            raise self.error
        filters = {f["Field"]: f["Value"] for f in Filters}
        self.asked.append((ServiceCode, filters))
        return iter(self.answers.get(filters["usagetype"], [{"FormatVersion": "aws_v1", "PriceList": []}]))


def test_the_nat_gateway_hour_is_read_with_its_publication_date():
    usd, unit, published = refresh.first_paid_tier(price_list("get_products_nat_gateway_hours.json"), "nat")
    assert (usd, unit, published) == (0.045, "Hrs", "2025-11-14")


def test_the_free_tier_is_passed_over_for_the_first_paid_one():
    usd, unit, _ = refresh.first_paid_tier(price_list("get_products_sqs_requests.json"), "sqs")
    assert (usd, unit) == (0.0000004, "Requests")


def test_products_that_disagree_are_an_error_not_a_guess():
    nat = json.loads(price_list("get_products_nat_gateway_hours.json")[0])
    other = json.loads(json.dumps(nat).replace("0.0450000000", "0.0480000000"))
    with pytest.raises(LookupError, match="disagree"):
        refresh.first_paid_tier([json.dumps(nat), json.dumps(other)], "nat")


def test_no_price_is_named():
    with pytest.raises(LookupError, match="nat: the Price List API has no on-demand USD price"):
        refresh.first_paid_tier([], "nat")


def small_book(tmp_path: Path, keys: tuple[str, ...]) -> Path:
    """A copy of the us-east-1 file holding only `keys`."""
    doc = json.loads(prices.price_file("us-east-1").read_text())
    doc["prices"] = {k: doc["prices"][k] for k in keys}
    (tmp_path / "us-east-1.json").write_text(json.dumps(doc))
    return tmp_path


def test_refresh_writes_the_api_prices_scaled_to_ours_with_their_date(tmp_path):
    directory = small_book(tmp_path, ("nat_gateway_hours", "sqs_requests_millions", "logs_ingested_gb"))
    client = FakePricing(
        {
            "NatGateway-Hours": pages("get_products_nat_gateway_hours.json"),
            "USE1-Requests-Tier1": pages("get_products_sqs_requests.json"),
            "USE1-DataProcessing-Bytes": pages("get_products_logs_ingested.json"),
        }
    )
    assert refresh.refresh("us-east-1", lambda: client, directory) == []  # the same prices as the committed ones
    book = prices.load("us-east-1", directory)
    assert book["sqs_requests_millions"].usd == pytest.approx(0.40)  # per request, times a million
    assert {p.published for p in book.prices.values()} == {"2025-11-14"}
    assert {p.source for p in book.prices.values()} == {"price-list-api"}
    assert ("AmazonEC2", {"usagetype": "NatGateway-Hours", "regionCode": "us-east-1"}) in client.asked


def test_a_price_the_api_does_not_have_leaves_the_file_unchanged(tmp_path):
    directory = small_book(tmp_path, ("nat_gateway_hours", "kms_key_month"))
    before = (directory / "us-east-1.json").read_text()
    client = FakePricing({"NatGateway-Hours": pages("get_products_nat_gateway_hours.json")})
    with pytest.raises(OperationFailed, match=r"unchanged: kms_key_month \(awskms USE1-KMS-Keys\)"):
        refresh.refresh("us-east-1", lambda: client, directory)
    assert (directory / "us-east-1.json").read_text() == before


@pytest.mark.parametrize("error", [NoCredentialsError(), EndpointConnectionError(endpoint_url="https://api.pricing")])
def test_without_credentials_or_network_the_file_is_unchanged_and_the_message_says_why(tmp_path, error):
    directory = small_book(tmp_path, ("nat_gateway_hours",))
    before = (directory / "us-east-1.json").read_text()
    with pytest.raises(UsageError, match=f"{type(error).__name__}.*is unchanged.*credentials"):
        refresh.refresh("us-east-1", lambda: FakePricing({}, error), directory)
    assert (directory / "us-east-1.json").read_text() == before
    assert [p.name for p in directory.iterdir()] == ["us-east-1.json"]  # no temporary file left behind


def test_the_committed_file_survives_a_refresh_unchanged_in_shape(tmp_path):
    shutil.copy(prices.price_file("us-east-1"), tmp_path / "us-east-1.json")
    book = prices.load("us-east-1", tmp_path)
    written = refresh.document(book, "about")
    assert prices.parse(written, tmp_path / "x.json").prices == book.prices
