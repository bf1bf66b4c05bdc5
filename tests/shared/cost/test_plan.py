"""What a plan costs: the plan's prior state and planned values priced by make cost's model, and the report of a
plan saying it per stack and for the environment ("+$36.95/month")."""

from __future__ import annotations

import json
from pathlib import Path

from shared.cost import plan as cost
from shared.ops.engine.workdir import Stack
from shared.ops.runner.outcome import Outcome, Report, Status
from shared.ops.runner.steps import Plan


def as_module(resources: dict, leave_out: tuple[str, ...] = ()) -> dict:
    """Synthesized resources as a plan's values module (`{"resources": [{"address", "mode", ...}]}`)."""
    return {
        "resources": [
            {"address": f"{t}.{n}", "mode": "managed", "type": t, "name": n, "values": values}
            for t, named in resources.items()
            for n, values in named.items()
            if f"{t}.{n}" not in leave_out
        ]
        + [{"address": "data.aws_region.here", "mode": "data", "type": "aws_region", "name": "here", "values": {}}]
    }


def nat_added(synth) -> dict:
    """staging's network plan when its NAT gateway (and its address) is new: nat_gateways 0 -> 1."""
    resources = synth.stack("network", "staging")["resource"]
    new = ("aws_nat_gateway.nat_0", "aws_eip.nat_0_eip")
    return {
        "format_version": "1.2",
        "prior_state": {"values": {"root_module": as_module(resources, leave_out=new)}},
        "planned_values": {"root_module": as_module(resources)},
    }


def test_a_new_nat_gateway_adds_its_hours_data_and_address(synth, configs):
    found = cost.monthly_cost(configs["staging"], "network-staging", nat_added(synth))
    # 730 h x $0.045 + 10 GB x $0.045 + 730 h x $0.005 (its Elastic IP's public IPv4 address)
    assert round(found["after"] - found["before"], 2) == 36.95
    assert found["currency"] == "USD"
    # What a reviewer asks next: which resources make the difference, the largest first.
    assert [d["resource"] for d in found["drivers"]] == ["aws_nat_gateway.nat_0", "aws_eip.nat_0_eip"]
    assert cost.difference(found) == "+$36.95/month (aws_nat_gateway.nat_0 +$33.30, aws_eip.nat_0_eip +$3.65)"


def test_a_plan_that_changes_nothing_costs_what_the_synthesized_stack_does(synth, configs):
    path = synth.outdir / "stacks" / "network-staging" / "cdk.tf.json"
    found = cost.monthly_cost(configs["staging"], "network-staging", None, path)
    assert found["before"] == found["after"] > 32.85 and cost.difference(found) == ""


def test_a_new_stack_costs_nothing_before(synth, configs):
    document = {"planned_values": nat_added(synth)["planned_values"]}  # no prior_state: nothing applied yet
    assert cost.monthly_cost(configs["staging"], "network-staging", document)["before"] == 0


def test_a_plan_the_model_cannot_price_is_said_and_never_raised(configs):
    odd = {"planned_values": {"root_module": as_module({"aws_lightsail_instance": {"box": {}}})}}
    found = cost.monthly_cost(configs["dev"], "network-dev", odd)
    assert (found["before"], found["after"]) == (None, None)
    assert "does not know aws_lightsail_instance" in found["error"]
    assert cost.total([found]) is None and cost.difference(found) == ""


def test_counted_and_child_module_resources_are_found():
    module = {
        "resources": [{"mode": "managed", "type": "aws_eip", "name": "a", "index": 0, "values": {"x": 1}}],
        "child_modules": [{"resources": [{"mode": "managed", "type": "aws_eip", "name": "b", "values": {}}]}],
    }
    assert cost.resources_of(module) == {"aws_eip": {"a[0]": {"x": 1}, "b": {}}}


def test_the_plan_report_carries_each_stack_s_cost_and_the_total(synth, configs, tmp_path, capsys):
    env = configs["staging"]
    network = Outcome(Stack("network", "network-staging", tmp_path, ()))
    network.took(Plan(True, 2, 0, 0, (), nat_added(synth)), [], [])
    network.status = Status.PLANNED
    data_dir = synth.outdir / "stacks" / "data-staging"
    data = Outcome(Stack("data", "data-staging", Path(data_dir), ()), status=Status.NO_CHANGES)
    report = Report("plan", env, [network, data])
    report.print()
    out = capsys.readouterr().out
    (own,) = [line for line in out.splitlines() if line.startswith("  network-staging ")]
    assert "planned" in own and "+$36.95/month" in own
    assert "monthly cost: $" in out and "(+$36.95/month; make cost has the lines)" in out
    doc = json.loads(report.write(tmp_path / "reports").read_text())
    by_stack = {s["stack"]: s["monthly_cost"] for s in doc["stacks"]}
    assert set(by_stack["network-staging"]) == {"before", "after", "currency", "drivers"}
    assert by_stack["data-staging"]["before"] == by_stack["data-staging"]["after"]
    assert doc["monthly_cost"]["after"] == round(
        by_stack["network-staging"]["after"] + by_stack["data-staging"]["after"], 2
    )
    markdown = (tmp_path / "reports" / "staging-plan.md").read_text()
    assert "**Monthly cost:**" in markdown and "- network-staging: +$36.95/month" in markdown


def test_printing_and_writing_a_report_leave_its_outcomes_as_the_runner_recorded_them(synth, configs, tmp_path, capsys):
    # The report prices what the runner recorded; it wrote each stack's cost back into its outcome while printing,
    # so what an outcome held depended on whether the summary had been shown yet.
    import copy

    network = Outcome(Stack("network", "network-staging", tmp_path, ()))
    network.took(Plan(True, 2, 0, 0, (), nat_added(synth)), [], [])
    network.status = Status.PLANNED
    report = Report("plan", configs["staging"], [network])
    recorded = copy.deepcopy(report.outcomes)
    report.print()
    report.write(tmp_path / "reports")
    assert report.outcomes == recorded
    assert "+$36.95/month" in capsys.readouterr().out
