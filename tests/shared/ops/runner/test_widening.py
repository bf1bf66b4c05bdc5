"""Access widening read from a plan's `show -json`: each rule with a plan that widens and one that does not."""

from __future__ import annotations

import json

import pytest

from shared.ops.runner import widening

ROLE_POLICY = "aws_iam_role_policy.task_policy"
STREAM = "arn:aws:kinesis:eu-west-1:111122223333:stream/video-ingest-dev"


def doc(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource=STREAM, **more) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def change(address: str, actions: list[str], before: dict | None, after: dict | None, **extra) -> dict:
    return {
        "address": address,
        "mode": "managed",
        "type": address.split(".", 1)[0],
        "change": {"actions": actions, "before": before, "after": after, **extra},
    }


def policy_update(before: str, after: str, address: str = ROLE_POLICY) -> dict:
    return {"resource_changes": [change(address, ["update"], {"policy": before}, {"policy": after})]}


def found(plan: dict) -> list[str]:
    return [f"{w.address} {w.what}" for w in widening.findings("compute", plan)]


# ---------------------------------------------------------------- policies


def test_a_new_action_is_a_widening_that_names_it_and_its_resource():
    plan = policy_update(doc(allow("kinesis:GetRecords")), doc(allow(["kinesis:GetRecords", "kinesis:PutRecord"])))
    assert found(plan) == [f"{ROLE_POLICY} allows kinesis:PutRecord on {STREAM}"]


def test_the_same_grants_reordered_or_narrowed_are_no_widening():
    before = doc(allow(["kinesis:GetRecords", "kinesis:DescribeStream"]), allow("sqs:SendMessage", "*"))
    after = doc(allow("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:dlq"), allow("kinesis:getrecords"))
    assert found(policy_update(before, after)) == []


def test_a_wildcard_before_covers_what_it_matches_and_a_wildcard_after_widens():
    specific, wild = doc(allow("kinesis:GetRecords")), doc(allow("kinesis:*"))
    assert found(policy_update(wild, specific)) == []
    assert found(policy_update(specific, wild)) == [f"{ROLE_POLICY} allows kinesis:* on {STREAM}"]
    assert found(policy_update(specific, doc(allow("kinesis:GetRecords", "*")))) == [
        f"{ROLE_POLICY} allows kinesis:GetRecords on *"
    ]


def test_a_dropped_condition_widens_and_an_added_one_does_not():
    conditioned = doc(allow("s3:GetObject", "*", Condition={"StringEquals": {"aws:PrincipalAccount": "111122223333"}}))
    free = doc(allow("s3:GetObject", "*"))
    assert found(policy_update(conditioned, free)) == [f"{ROLE_POLICY} allows s3:GetObject on *"]
    assert found(policy_update(free, conditioned)) == []


def test_a_removed_deny_is_a_widening():
    deny = {
        "Effect": "Deny",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    plan = policy_update(
        doc(allow("s3:GetObject", "*"), deny), doc(allow("s3:GetObject", "*")), "aws_s3_bucket_policy.b"
    )
    assert found(plan) == ["aws_s3_bucket_policy.b no longer denies s3:* on * (with conditions)"]


def test_a_new_principal_in_a_trust_or_resource_policy_is_named():
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}
    more = {**trust, "Principal": {"Service": "ecs-tasks.amazonaws.com", "AWS": "arn:aws:iam::444455556666:root"}}
    plan = {
        "resource_changes": [
            change(
                "aws_iam_role.task", ["update"], {"assume_role_policy": doc(trust)}, {"assume_role_policy": doc(more)}
            )
        ]
    }
    assert found(plan) == ["aws_iam_role.task trusts sts:AssumeRole to AWS:arn:aws:iam::444455556666:root"]
    anyone = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:eu-west-1:1:t", "Principal": "*"}
    assert found(policy_update(doc(), doc(anyone), "aws_sns_topic_policy.alarms")) == [
        "aws_sns_topic_policy.alarms allows sns:Publish on arn:aws:sns:eu-west-1:1:t to *"
    ]


def test_a_new_policy_widens_by_all_it_allows_and_a_long_list_is_counted():
    actions = [f"kinesis:Action{i}" for i in range(6)]
    plan = {"resource_changes": [change(ROLE_POLICY, ["create"], None, {"policy": doc(allow(actions))})]}
    assert found(plan) == [f"{ROLE_POLICY} allows {', '.join(actions[:4])} and 2 more on {STREAM}"]


def test_a_policy_known_only_after_apply_cannot_be_judged_and_says_so():
    plan = {"resource_changes": [change(ROLE_POLICY, ["create"], None, {}, after_unknown={"policy": True})]}
    assert found(plan) == [
        f"{ROLE_POLICY} has a policy known only after apply: it cannot be checked before it is applied"
    ]


def test_an_attached_managed_policy_is_a_widening():
    arn = "arn:aws:iam::aws:policy/AdministratorAccess"
    plan = {
        "resource_changes": [
            change("aws_iam_role_policy_attachment.admin", ["create"], None, {"policy_arn": arn, "role": "task"})
        ]
    }
    assert found(plan) == [f"aws_iam_role_policy_attachment.admin attaches {arn}"]


def test_deletions_and_unchanged_resources_widen_nothing():
    policy = doc(allow("kinesis:*", "*"))
    plan = {
        "resource_changes": [
            change(ROLE_POLICY, ["delete"], {"policy": policy}, None),
            change("aws_iam_role_policy.other", ["no-op"], {"policy": policy}, {"policy": policy}),
        ]
    }
    assert found(plan) == []


# ---------------------------------------------------------------- security groups

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


def test_an_attachment_whose_policy_is_known_only_after_apply_says_so():
    plan = {
        "resource_changes": [
            change("aws_iam_role_policy_attachment.x", ["create"], None, {}, after_unknown={"policy_arn": True})
        ]
    }
    assert found(plan) == ["aws_iam_role_policy_attachment.x attaches a policy known only after apply"]


def test_a_policy_the_code_does_not_set_is_the_providers_to_compute_and_no_widening():
    # A queue's own `policy` is computed when a queue policy resource sets it: unknown at create, and no grant.
    queue = change("aws_sqs_queue.dlq", ["create"], None, {"name": "dlq"}, after_unknown={"policy": True})
    configuration = {"root_module": {"resources": [{"address": "aws_sqs_queue.dlq", "expressions": {"name": {}}}]}}
    assert found({"resource_changes": [queue], "configuration": configuration}) == []
    configuration["root_module"]["resources"][0]["expressions"]["policy"] = {"references": ["data.x.json"]}
    assert found({"resource_changes": [queue], "configuration": configuration}) == [
        "aws_sqs_queue.dlq has a policy known only after apply: it cannot be checked before it is applied"
    ]
