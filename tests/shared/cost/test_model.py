"""The cost model on the synthesized stacks: lines checked against figures computed by hand from AWS's published
us-east-1 on-demand prices, every synthesized type priced or listed free, and what it refuses, named."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.cost import prices
from shared.cost.free import FREE
from shared.cost.model import PRICERS, Stack, UnpricedResource, price_stack, unknown_types
from shared.errors import UsageError
from shared.naming import STACK_NAMES
from tests.support.synthesized import ENVIRONMENTS, VARIANTS

BOOK = prices.load("us-east-1")


def lines(synth, configs, stack: str, env: str, config=None) -> list:
    resources = synth.stack(stack, env)["resource"]
    return list(price_stack(Stack(f"{stack}-{env}", resources, config or configs[env]), BOOK))


def test_priced_and_free_types_are_apart():
    assert not set(PRICERS) & set(FREE)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_synthesized_resource_type_is_priced_or_listed_free(synth, env):
    unknown = {s: unknown_types(synth.stack(s, env)["resource"]) for s in STACK_NAMES}
    assert not any(unknown.values()), f"the cost model does not know: {unknown}"


@pytest.mark.parametrize("suffix", VARIANTS)
def test_every_resource_type_of_the_variant_shapes_is_priced_or_listed_free(variants, suffix):
    unknown = {s: unknown_types(variants.stack(s, suffix)["resource"]) for s in STACK_NAMES}
    assert not any(unknown.values()), f"the cost model does not know: {unknown}"


def test_a_type_the_model_does_not_know_is_refused_by_name(configs):
    stack = Stack(
        "network-dev", {"aws_vpc": {"vpc": {}}, "aws_globalaccelerator_accelerator": {"ga": {}}}, configs["dev"]
    )
    with pytest.raises(UnpricedResource, match="network-dev: the cost model does not know aws_globalaccelerator_accel"):
        price_stack(stack, BOOK)


def test_a_dimension_without_a_price_names_it_and_the_region(synth, configs):
    book = replace(BOOK, prices={k: v for k, v in BOOK.prices.items() if k != "nat_gateway_hours"})
    resources = synth.stack("network", "staging")["resource"]
    with pytest.raises(UsageError, match="no price for 'nat_gateway_hours' in us-east-1"):
        price_stack(Stack("network-staging", resources, configs["staging"]), book)


def test_a_plan_s_values_price_as_the_synthesized_ones(synth, configs):
    """A plan resolves references to names and ARNs and holds nested blocks as lists: the same lines come out."""
    resources = synth.stack("data", "prod")["resource"]
    cluster = {**resources["aws_rds_cluster"]["cluster"], "id": "streamflix-metadata-prod"}
    cluster["serverlessv2_scaling_configuration"] = [cluster["serverlessv2_scaling_configuration"]]
    instances = {
        name: {**attrs, "cluster_identifier": "streamflix-metadata-prod"}
        for name, attrs in resources["aws_rds_cluster_instance"].items()
    }
    planned = {**resources, "aws_rds_cluster": {"cluster": cluster}, "aws_rds_cluster_instance": instances}
    as_planned = price_stack(Stack("data-prod", planned, configs["prod"]), BOOK)
    assert [(i.resource, i.item, i.monthly) for i in as_planned] == [
        (i.resource, i.item, i.monthly) for i in lines(synth, configs, "data", "prod")
    ]
