"""The estimate's reports: reports/<env>-cost.json in exactly issue 29's shape, its Markdown twin, the console."""

from __future__ import annotations

import json

import pytest

from shared.cost import report
from shared.cost.estimate import of_synthesized


@pytest.fixture
def staging(synth, configs):
    return of_synthesized(configs["staging"], synth.outdir)


def test_the_json_report_has_exactly_the_issue_s_shape(staging, tmp_path):
    json_path, md_path = report.write(staging, tmp_path)
    assert (json_path.name, md_path.name) == ("staging-cost.json", "staging-cost.md")
    doc = json.loads(json_path.read_text())
    assert list(doc) == ["env", "currency", "total", "items"]
    assert (doc["env"], doc["currency"]) == ("staging", "USD")
    assert list(doc["total"]) == ["low", "expected", "high"]
    for item in doc["items"]:
        assert list(item) == ["stack", "resource", "item", "quantity", "unit", "unit_price", "monthly"]
        assert list(item["monthly"]) == ["low", "expected", "high"]
    nat = [i for i in doc["items"] if i["item"] == "NAT gateway hours"]
    assert nat == [
        {
            "stack": "network-staging",
            "resource": "aws_nat_gateway.nat_0",
            "item": "NAT gateway hours",
            "quantity": 730,
            "unit": "hours",
            "unit_price": 0.045,
            "monthly": {"low": 32.85, "expected": 32.85, "high": 32.85},
        }
    ]
    assert doc["total"]["expected"] == pytest.approx(sum(i["monthly"]["expected"] for i in doc["items"]), abs=0.05)


def test_the_markdown_twin_has_every_line_and_the_usage_assumed(staging):
    text = report.markdown(staging)
    rows = [r for r in text.splitlines() if r.startswith("| network-") or r.startswith("| data-")]
    assert len([r for r in rows if "`" in r]) == len(
        [i for i in staging.items if i.stack in ("network-staging", "data-staging")]
    )
    assert "| network-staging | `aws_nat_gateway.nat_0` | NAT gateway hours | 730 | hours | $0.045 | $32.85 |" in text
    assert "| `usage.records_per_second` | 10.0 |" in text and "| `usage.aurora_expected_acu` | min_acu |" in text


def test_the_console_shows_each_stack_its_lines_the_range_and_the_total(staging):
    text = report.text(staging)
    assert "aws_nat_gateway.nat_0  NAT gateway hours: 730 hours x $0.045 = $32.85" in text
    assert "data-staging: $101.58 ($101.58-$408.18)" in text  # 0.5..4 ACU on one instance
    assert f"total: {report.span(staging.total)} a month" in text


def test_an_emulator_environment_says_it_is_priced_as_if_in_aws(synth, configs):
    text = report.markdown(of_synthesized(configs["local"], synth.outdir))
    assert "runs in an emulator and costs nothing: priced as if it were in AWS" in text
