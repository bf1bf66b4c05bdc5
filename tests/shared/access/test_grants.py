"""The grants table: every resource type the stacks create is listed, and each listed create is one AWS offers no
resource for (else it must be scoped)."""

from __future__ import annotations

import pytest

from shared.access.grants import GRANTS, Create, Named, Tagged
from shared.access.policies import wildcard_only
from tests.support.synthesized import ENVIRONMENTS, VARIANTS


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_synthesized_resource_type_is_in_the_table(synth, env):
    types = {t for s in ("network", "data", "compute", "monitoring") for t in synth.stack(s, env).get("resource", {})}
    assert types - set(GRANTS) == set()


# The shapes no environment file has today (a generated password, enhanced fan-out, ...) create types of their own;
# a bootstrap of an environment in such a shape must not stop at one of them.
@pytest.mark.parametrize("shape", VARIANTS)
def test_every_resource_type_of_every_configurable_shape_is_in_the_table(variants, shape):
    types = {
        t for s in ("network", "data", "compute", "monitoring") for t in variants.stack(s, shape).get("resource", {})
    }
    assert types - set(GRANTS) == set()


def test_a_listed_create_is_one_aws_offers_no_resource_for():
    creates = [g.action for grants in GRANTS.values() for g in grants if isinstance(g, Create)]
    assert creates
    for action in creates:
        service = action.split(":")[0]
        assert action in wildcard_only(service, "Write"), action


def test_every_template_names_its_service():
    for rtype, grants in GRANTS.items():
        for g in grants:
            if isinstance(g, (Named, Tagged)):
                assert g.arn.split(":")[2] == g.service, (rtype, g)


def test_each_create_of_a_tagged_type_is_an_action_aws_scopes_to_that_type():
    from shared.access.policies import actions_on

    creates = [(rtype, g) for rtype, grants in GRANTS.items() for g in grants if isinstance(g, Tagged) and g.creates]
    assert {rtype for rtype, _ in creates} >= {"aws_vpc", "aws_subnet", "aws_security_group", "aws_nat_gateway"}
    for rtype, g in creates:
        arn = g.arn.format(partition="aws", region="us-east-1", account="123456789012").replace("*", "x")
        for action in g.creates:
            assert action in actions_on(arn, ("Write",)), (rtype, action)
