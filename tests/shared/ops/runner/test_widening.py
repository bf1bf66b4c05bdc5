"""Access widening read from a plan's `show -json`: each rule with a plan that widens and one that does not."""

from __future__ import annotations

import json

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


# ---------------------------------------------------------------- what a review found (each failed before its fix)


def test_a_shorter_not_list_allows_more_and_a_longer_one_in_a_deny_denies_less():
    narrow = {"Effect": "Allow", "NotAction": ["iam:*", "s3:*"], "Resource": "*"}
    assert found(policy_update(doc(narrow), doc({**narrow, "NotAction": ["iam:*"]}))) == [
        f'{ROLE_POLICY} allows not ["iam:*"] on *'
    ]
    assert found(policy_update(doc({**narrow, "NotAction": ["iam:*"]}), doc(narrow))) == []
    keep_out = {"Effect": "Deny", "Action": "s3:*", "Resource": "*", "NotPrincipal": {"AWS": ["arn:aws:iam::1:role/a"]}}
    let_in = {**keep_out, "NotPrincipal": {"AWS": ["arn:aws:iam::1:role/a", "222233334444"]}}
    assert found(policy_update(doc(keep_out), doc(let_in), "aws_s3_bucket_policy.b")) == [
        'aws_s3_bucket_policy.b no longer denies s3:* on * to not ["AWS:arn:aws:iam::1:role/a"]'
    ]
    everything_but = {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}
    assert found(policy_update(doc(everything_but), doc(allow("*", "*")))) == [f"{ROLE_POLICY} allows * on *"]
    assert found(policy_update(doc(everything_but), doc(allow("s3:GetObject", "*")))) == []


def test_a_role_widens_by_its_boundary_managed_policies_and_inline_policies():
    role = {"permissions_boundary": "arn:aws:iam::1:policy/boundary", "managed_policy_arns": [], "inline_policy": []}
    admin = "arn:aws:iam::aws:policy/AdministratorAccess"
    more = {
        "permissions_boundary": None,
        "managed_policy_arns": [admin],
        "inline_policy": [{"name": "all", "policy": doc(allow("*", "*"))}],
    }
    assert found({"resource_changes": [change("aws_iam_role.task", ["update"], role, more)]}) == [
        "aws_iam_role.task changes its permissions boundary from arn:aws:iam::1:policy/boundary to none",
        f"aws_iam_role.task attaches {admin}",
        "aws_iam_role.task (inline policy all) allows * on *",
    ]
    assert found({"resource_changes": [change("aws_iam_role.task", ["update"], role, role)]}) == []
    group = change("aws_iam_group_policy_attachment.g", ["create"], None, {"group": "ops", "policy_arn": admin})
    assert found({"resource_changes": [group]}) == [f"aws_iam_group_policy_attachment.g attaches {admin}"]


def test_iam_wildcards_are_not_shell_patterns():
    assert found(
        policy_update(
            doc(allow("s3:GetObject", "arn:aws:s3:::b/?.txt")), doc(allow("s3:GetObject", "arn:aws:s3:::b/*.txt"))
        )
    ) == [f"{ROLE_POLICY} allows s3:GetObject on arn:aws:s3:::b/*.txt"]
    assert found(
        policy_update(doc(allow("s3:GetObject", "arn:aws:s3:::b[ab]")), doc(allow("s3:GetObject", "arn:aws:s3:::ba")))
    ) == [f"{ROLE_POLICY} allows s3:GetObject on arn:aws:s3:::ba"]
    assert found(policy_update(doc(allow("s3:*")), doc(allow("s3:Get*")))) == []


def test_the_same_meaning_in_another_form_is_no_widening():
    cond = {"StringEquals": {"aws:SourceAccount": "111122223333"}}
    listed = {"StringEquals": {"aws:SourceAccount": ["111122223333"]}}
    assert (
        found(
            policy_update(
                doc(allow("s3:GetObject", "*", Condition=cond)), doc(allow("s3:GetObject", "*", Condition=listed))
            )
        )
        == []
    )
    account = {"Effect": "Allow", "Action": "sns:Publish", "Resource": "*", "Principal": {"AWS": "111122223333"}}
    root = {**account, "Principal": {"AWS": "arn:aws:iam::111122223333:root"}}
    assert found(policy_update(doc(account), doc(root), "aws_sns_topic_policy.t")) == []
    deny = {"Effect": "Deny", "Action": "s3:Delete*", "Resource": "*"}
    assert found(policy_update(doc(deny), doc({**deny, "Action": "s3:*"}), "aws_s3_bucket_policy.b")) == []
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    moved = [
        change("aws_iam_role_policy_attachment.old", ["delete"], {"role": "r", "policy_arn": arn}, None),
        change("aws_iam_role_policy_attachment.new", ["create"], None, {"role": "r", "policy_arn": arn}),
    ]
    assert found({"resource_changes": moved}) == []


def test_odd_plan_shapes_do_not_crash():
    odd = [
        {"resource_changes": None},
        {"resource_changes": [change("aws_iam_role_policy.p", ["create"], None, {"policy": 3}, after_unknown=True)]},
        {
            "resource_changes": [
                change(
                    "aws_security_group.g",
                    ["create"],
                    None,
                    {"ingress": [None, {"cidr_blocks": "0.0.0.0/0", "from_port": "x", "protocol": "tcp"}]},
                )
            ]
        },
    ]
    assert [found(plan) for plan in odd] == [[], [], ["aws_security_group.g admits tcp 0-65535 from 0.0.0.0/0"]]
    unknown = change("aws_security_group.g", ["create"], None, {}, after_unknown={"ingress": True})
    assert found({"resource_changes": [unknown]}) == [
        "aws_security_group.g has ingress rules known only after apply: they cannot be checked before"
    ]


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
