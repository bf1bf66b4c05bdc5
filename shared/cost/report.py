"""The estimate as people read it: on the console (per stack, per line item, the usage assumed), and as
reports/<env>-cost.json (issue 29's shape) with a Markdown twin, each written in one rename."""

from __future__ import annotations

import json
from pathlib import Path

from shared.cost.estimate import Estimate
from shared.cost.model import Span
from shared.files import write_atomically
from shared.paths import REPORTS_DIR


def usd(amount: float) -> str:
    return f"${amount:,.2f}"


def span(amount: Span) -> str:
    """`$32.85`, or `$59.10 ($29.55-$118.20)` where autoscaling decides."""
    if round(amount.low, 2) == round(amount.expected, 2) == round(amount.high, 2):
        return usd(amount.expected)
    return f"{usd(amount.expected)} ({usd(amount.low)}-{usd(amount.high)})"


def _quantity(value: float) -> str:
    return f"{value:,.6g}" if value < 1000 else f"{value:,.0f}"


def _unit_price(value: float) -> str:
    return f"${value:.6g}"


def _caveat(estimate: Estimate) -> list[str]:
    if not estimate.emulated:
        return []
    return [f"{estimate.env} runs in an emulator and costs nothing: priced as if it were in AWS ({estimate.region})."]


def text(estimate: Estimate) -> str:
    """The console's view: each stack's lines under its total, then the total and the usage assumed."""
    lines = [
        f"{estimate.env}: monthly estimate, {estimate.currency}, {estimate.region} on-demand prices",
        *_caveat(estimate),
    ]
    totals = estimate.stack_totals()
    for stack, total in totals.items():
        lines.append(f"  {stack}: {span(total)}")
        for item in (i for i in estimate.items if i.stack == stack):
            lines.append(
                f"    {item.resource}  {item.item}: {_quantity(item.quantity.expected)} {item.unit} x "
                f"{_unit_price(item.unit_price)} = {span(item.monthly)}"
            )
    lines.append(f"  total: {span(estimate.total)} a month (expected, low-high)")
    shown = ", ".join(f"{k}={'min_acu' if v is None else v}" for k, v in estimate.usage.items())
    lines.append(f"  usage assumed (usage: keys, docs/cost.md): {shown}")
    return "\n".join(lines)


def markdown(estimate: Estimate) -> str:
    def cell(value: str) -> str:
        return value.replace("|", "\\|")

    lines = [f"# Monthly cost of {estimate.env}", ""]
    lines += [*_caveat(estimate), ""] if estimate.emulated else []
    lines += [
        f"On-demand prices of {estimate.region}, in {estimate.currency}: expected, with the low and high ends where "
        "autoscaling decides. What is not estimated: docs/cost.md.",
        "",
        f"**Total: {span(estimate.total)} a month**",
        "",
        "| stack | monthly | low | high |",
        "|---|---:|---:|---:|",
    ]
    for stack, total in estimate.stack_totals().items():
        lines.append(f"| {stack} | {usd(total.expected)} | {usd(total.low)} | {usd(total.high)} |")
    lines += [
        "",
        "| stack | resource | item | quantity | unit | unit price | monthly | low | high |",
        "|---|---|---|---:|---|---:|---:|---:|---:|",
    ]
    for item in estimate.items:
        m = item.monthly
        lines.append(
            f"| {item.stack} | `{cell(item.resource)}` | {cell(item.item)} | {_quantity(item.quantity.expected)} | "
            f"{item.unit} | {_unit_price(item.unit_price)} | {usd(m.expected)} | {usd(m.low)} | {usd(m.high)} |"
        )
    lines += ["", "## Usage assumed", "", "| usage key | value |", "|---|---|"]
    lines += [f"| `usage.{k}` | {'min_acu' if v is None else v} |" for k, v in estimate.usage.items()]
    return "\n".join(lines) + "\n"


def write(estimate: Estimate, directory: Path = REPORTS_DIR) -> tuple[Path, Path]:
    """reports/<env>-cost.json and .md, each replaced in one rename."""
    directory.mkdir(parents=True, exist_ok=True)
    base = directory / f"{estimate.env}-cost"
    json_path = write_atomically(base.with_suffix(".json"), json.dumps(estimate.as_dict(), indent=2) + "\n")
    md_path = write_atomically(base.with_suffix(".md"), markdown(estimate))
    return json_path, md_path
