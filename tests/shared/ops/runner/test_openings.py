"""What security group rules open, read from a plan's `show -json`: a plan that opens more, one that does not."""

from __future__ import annotations

import pytest

from shared.ops.runner import openings
from tests.shared.ops.runner.test_widening import change  # a resource change as the plan JSON holds it


def found(plan: dict) -> list[str]:
    return [f"{address} {what}" for address, what in openings.widenings(plan["resource_changes"])]


INGRESS = "aws_vpc_security_group_ingress_rule.database_from_tasks"


def rule(cidr=None, port=5432, to=None, protocol="tcp", group="sg-1", **more) -> dict:
    values = {"security_group_id": group, "ip_protocol": protocol, "from_port": port, "to_port": to or port}
    return values | ({"cidr_ipv4": cidr} if cidr else {}) | more


def test_a_new_rule_to_anywhere_is_a_widening():
    plan = {
        "resource_changes": [
            change("aws_vpc_security_group_egress_rule.https", ["create"], None, rule("0.0.0.0/0", 443, group="sg-2"))
        ]
    }
    assert found(plan) == ["aws_vpc_security_group_egress_rule.https sends tcp 443 to 0.0.0.0/0"]


@pytest.mark.parametrize(
    ("before", "after", "wider"),
    [
        (rule("10.0.0.0/16"), rule("10.0.1.0/24"), []),
        (rule("10.0.1.0/24"), rule("10.0.0.0/16"), ["admits tcp 5432 from 10.0.0.0/16"]),
        (rule("10.0.0.0/16"), rule("10.0.0.0/16", 5432, 5440), ["admits tcp 5432-5440 from 10.0.0.0/16"]),
        (rule("10.0.0.0/16"), rule("10.0.0.0/16", -1, -1, "-1"), ["admits all traffic from 10.0.0.0/16"]),
        (rule("10.0.0.0/16", -1, -1, "-1"), rule("10.0.0.0/24"), []),
        (
            rule(referenced_security_group_id="sg-9"),
            rule(referenced_security_group_id="sg-8"),
            ["admits tcp 5432 from group sg-8"],
        ),
    ],
)
def test_a_rule_changed_in_place_widens_only_past_what_it_admitted(before, after, wider):
    plan = {"resource_changes": [change(INGRESS, ["update"], before, after)]}
    assert found(plan) == [f"{INGRESS} {w}" for w in wider]


def test_a_rule_moved_to_another_address_with_the_same_opening_is_no_widening():
    plan = {
        "resource_changes": [
            change(INGRESS, ["delete"], rule("10.0.0.0/16"), None),
            change("aws_vpc_security_group_ingress_rule.renamed", ["create"], None, rule("10.0.0.0/24")),
        ]
    }
    assert found(plan) == []


def test_the_same_opening_on_another_group_is_a_widening():
    plan = {
        "resource_changes": [
            change(INGRESS, ["no-op"], rule("10.0.0.0/16"), rule("10.0.0.0/16")),
            change("aws_vpc_security_group_ingress_rule.other", ["create"], None, rule("10.0.0.0/16", group="sg-7")),
        ]
    }
    assert found(plan) == ["aws_vpc_security_group_ingress_rule.other admits tcp 5432 from 10.0.0.0/16"]


def test_inline_rules_of_a_group_are_read_too():
    block = {"protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["0.0.0.0/0"], "self": False}
    before = {"id": "sg-3", "ingress": [], "egress": []}
    after = {**before, "ingress": [block]}
    plan = {"resource_changes": [change("aws_security_group.bastion", ["update"], before, after)]}
    assert found(plan) == ["aws_security_group.bastion admits tcp 22 from 0.0.0.0/0"]
    assert found({"resource_changes": [change("aws_security_group.bastion", ["update"], after, before)]}) == []


def test_a_protocol_by_number_is_the_protocol_by_name():
    plan = {"resource_changes": [change(INGRESS, ["update"], rule("10.0.0.0/16"), rule("10.0.0.0/16", protocol="6"))]}
    assert found(plan) == []
