"""An environment's estimate from its synthesized stacks: every stack and the state bucket, totals that add up."""

from __future__ import annotations

import pytest

from shared.cost.estimate import of_synthesized
from shared.errors import UsageError
from shared.naming import STACK_NAMES
from tests.support.synthesized import ENVIRONMENTS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_is_priced_stack_by_stack_and_adds_up(synth, configs, env):
    estimate = of_synthesized(configs[env], synth.outdir)
    totals = estimate.stack_totals()
    assert list(totals) == [f"{s}-{env}" for s in STACK_NAMES] + ["state"]
    assert estimate.total.expected == pytest.approx(sum(t.expected for t in totals.values()))
    assert estimate.total.low <= estimate.total.expected <= estimate.total.high
    assert estimate.emulated == configs[env].emulated


def test_prod_costs_more_than_staging_and_staging_more_than_dev(synth, configs):
    dev, staging, prod = (of_synthesized(configs[e], synth.outdir).total.expected for e in ("dev", "staging", "prod"))
    assert dev < staging < prod


def test_the_state_bucket_and_its_key_are_priced_beside_the_stacks(synth, configs):
    estimate = of_synthesized(configs["dev"], synth.outdir)
    state = [i for i in estimate.items if i.stack == "state"]
    assert [i.resource for i in state] == ["s3://streamflix-tfstate-dev", "alias/streamflix-tfstate-dev-state"]
    assert state[1].monthly.expected == 1.0


def test_stacks_not_synthesized_are_named(configs, tmp_path):
    with pytest.raises(UsageError, match=r"network-dev/cdk.tf.json is missing: synthesize first"):
        of_synthesized(configs["dev"], tmp_path)


def test_docs_cost_md_states_today_s_estimates(synth, configs):
    """The figures docs/cost.md gives are what make cost says now, so a change to the stacks updates both."""
    from shared.paths import ROOT

    rows = {
        cells[0]: cells[1:4]
        for line in (ROOT / "docs" / "cost.md").read_text().splitlines()
        if line.startswith("| ") and (cells := [c.strip() for c in line.strip("|").split("|")])[0] in ENVIRONMENTS
    }
    assert set(rows) == {"dev", "staging", "prod"}
    for env, shown in rows.items():
        total = of_synthesized(configs[env], synth.outdir).total
        assert shown == [f"${v:,.2f}" for v in (total.expected, total.low, total.high)], env
