"""The data guard against the engine stand-in: a plan that destroys something precious is not applied
unless ALLOW_REPLACE names exactly that; plan and its report show the same findings."""

from __future__ import annotations

import json
import re

import pytest

from shared import precious
from shared.cli import main
from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.runner import guard
from shared.ops.runner import run as runner
from tests.support.exit_code import exit_code
from tests.support.synthesized import variant

ORDER = ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]
# One address of each precious type, in the stack that holds it in dev (the consumer only exists with
# enhanced fan-out; the stand-in plans whatever address it is told).
DEV = precious.committed_addresses()["dev"]
EXAMPLES = {
    rtype: next(
        ((s, a) for s, addrs in DEV.items() for a in addrs if a.startswith(rtype + ".")),
        ("data", f"{rtype}.stream_consumer"),
    )
    for rtype in precious.PRECIOUS
}


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


@pytest.fixture
def deployed(dev_deployed, dev, tmp_path):
    """dev deployed through the stand-in; `go(action, env, **kw)` runs a command on it."""
    paths = {"outdir": tmp_path / "cdktf.out", "outputs_dir": tmp_path / "outputs"}

    def go(action, env=dev, **kw):
        # The stand-in's plans change without the code changing: a deploy plans every stack, as FORCE=1 does.
        if action == "deploy":
            kw.setdefault("force", True)
        return exit_code(runner.perform, action, env, **paths, **kw)

    return go


def plan_destroys(engine, stack: str, *changes: tuple[str, list[str], list[list[str]]]) -> None:
    engine.set("CHANGES", json.dumps({stack: [list(c) for c in changes]}))


REPLACE = ["delete", "create"]


@pytest.mark.parametrize("rtype", sorted(precious.PRECIOUS))
def test_a_plan_that_replaces_a_precious_resource_is_refused_before_anything_is_applied(
    engine, deployed, rtype, capsys
):
    stack, address = EXAMPLES[rtype]
    plan_destroys(engine, f"{stack}-dev", (address, REPLACE, [["name"]]))
    with pytest.raises(UsageError) as refused:
        deployed("deploy")
    message = str(refused.value)
    assert engine.commands("apply") == []  # earlier stacks had nothing to change; this one and later: nothing
    planned = engine.commands("plan")
    assert planned == ORDER[: ORDER.index(f"{stack}-dev") + 1], "a later stack was planned after the refusal"
    assert f"refusing to apply {stack}-dev" in message
    assert f"{stack}: {address} would be replaced (deleted, then created), forced by name" in message
    assert precious.lost_with(rtype) in message
    assert f"\n    ALLOW_REPLACE={stack}:{address}\n" in message  # on a line of its own: copied as it is
    out = capsys.readouterr().out
    assert f"{stack}-dev".ljust(24) + " refused" in out and "PRECIOUS: destroys 1" in out


def test_the_refused_plan_file_is_removed_and_later_stacks_are_not_run(engine, deployed, tmp_path, capsys):
    plan_destroys(engine, "data-dev", ("aws_rds_cluster.cluster", ["create", "delete"], [["database_name"]]))
    with pytest.raises(UsageError, match=r"replaced \(created, then deleted\), forced by database_name"):
        deployed("deploy")
    assert not (tmp_path / "cdktf.out/stacks/data-dev/data-dev.tfplan").exists()
    out = capsys.readouterr().out
    assert "compute-dev              not run" in out and "monitoring-dev           not run" in out


def test_a_delete_is_refused_like_a_replacement(engine, deployed):
    plan_destroys(engine, "data-dev", ("aws_sqs_queue.dlq", ["delete"], []))
    with pytest.raises(UsageError, match=r"data: aws_sqs_queue.dlq would be deleted: lost: every failed job"):
        deployed("deploy")
    assert engine.commands("apply") == []


def test_what_is_not_precious_is_applied_without_asking(engine, deployed):
    plan_destroys(engine, "network-dev", ("aws_subnet.public_0", REPLACE, [["cidr_block"]]))
    assert deployed("deploy") == 0
    assert engine.commands("apply") == ["network-dev"]


def test_an_allowance_that_names_every_finding_lets_exactly_that_plan_through(engine, deployed):
    plan_destroys(
        engine,
        "data-dev",
        ("aws_rds_cluster.cluster", REPLACE, [["database_name"]]),
        ("aws_rds_cluster_instance.instance_0", REPLACE, [["cluster_identifier"]]),
    )
    with pytest.raises(UsageError) as partly:
        deployed("deploy", allow_replace="data:aws_rds_cluster.cluster")
    # The value to go on with names both, the one already given included.
    assert "\n    ALLOW_REPLACE=data:aws_rds_cluster.cluster,data:aws_rds_cluster_instance.instance_0\n" in str(
        partly.value
    )
    assert "aws_rds_cluster.cluster would be" not in str(partly.value)  # only what is still unallowed is listed
    assert engine.commands("apply") == []
    engine.clear()
    assert (
        deployed("deploy", allow_replace="data:aws_rds_cluster.cluster,data:aws_rds_cluster_instance.instance_0") == 0
    )
    assert engine.commands("apply") == ["data-dev"]


def test_a_misspelt_allowance_is_refused_even_beside_a_matching_one(engine, deployed):
    plan_destroys(engine, "data-dev", ("aws_rds_cluster.cluster", REPLACE, []))
    with pytest.raises(UsageError) as refused:
        deployed("deploy", allow_replace="data:aws_rds_cluster.cluster,data:aws_sqs_queue.dql")
    assert "ALLOW_REPLACE names data:aws_sqs_queue.dql, which the plan of data-dev neither destroys nor weakens" in str(
        refused.value
    )
    assert engine.commands("apply") == []


def test_an_allowance_for_a_stack_with_nothing_to_destroy_is_refused(engine, deployed):
    with pytest.raises(UsageError, match="ALLOW_REPLACE names data:aws_sqs_queue.dlq, which the plan of data-dev"):
        deployed("deploy", allow_replace="data:aws_sqs_queue.dlq")
    assert engine.commands("apply") == []


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("aws_rds_cluster.cluster", "is not <stack>:<address>"),
        ("database:aws_rds_cluster.cluster", "is not <stack>:<address>"),
        ("data:cluster", "is not <stack>:<address>"),
        ("network:aws_vpc.vpc", "aws_vpc is not precious"),
    ],
)
def test_a_malformed_allowance_is_refused_before_the_engine_runs(engine, dev, value, why):
    with pytest.raises(UsageError, match=why):
        runner.perform("deploy", dev, allow_replace=value)
    assert engine.calls() == []


def test_an_allowance_for_a_stack_the_deploy_does_not_touch_is_refused_before_the_engine_runs(engine, deployed):
    with pytest.raises(UsageError, match="ALLOW_REPLACE names data, which this deploy of dev does not touch"):
        deployed("deploy", stack_names="compute", allow_replace="data:aws_sqs_queue.dlq")
    assert engine.commands("plan") == []


def test_allow_replace_is_only_for_deploys(engine, deployed):
    with pytest.raises(UsageError, match="ALLOW_REPLACE= is for make deploy and make promote, not make destroy"):
        deployed("destroy", confirm="dev", allow_replace="data:aws_sqs_queue.dlq")
    assert engine.calls() == []


def test_a_targeted_deploy_is_guarded_too(engine, deployed):
    plan_destroys(engine, "data-dev", ("aws_kinesis_stream.stream", REPLACE, [["name"]]))
    with pytest.raises(UsageError, match="ALLOW_REPLACE=data:aws_kinesis_stream.stream"):
        deployed("deploy", stack_names="data")
    assert engine.commands("apply") == []


def test_a_suffix_copy_is_not_guarded(engine, state_buckets, tmp_path):
    copy = load_environment("dev", suffix="pr-7")  # made on the command line: the loader marks it a throwaway
    assert copy.throwaway
    paths = {"outdir": tmp_path / "cdktf.out", "outputs_dir": tmp_path / "outputs"}
    assert exit_code(runner.perform, "deploy", copy, **paths) == 0
    plan_destroys(engine, "data-pr-7", ("aws_rds_cluster.cluster", REPLACE, [["database_name"]]))
    engine.clear()
    assert (
        exit_code(runner.perform, "deploy", copy, **paths, force=True) == 0
    )  # the stand-in's plan changed, not the code
    assert engine.commands("apply") == ["data-pr-7"]


def test_plan_shows_the_findings_in_its_summary_and_report(engine, deployed, tmp_path, capsys):
    plan_destroys(
        engine,
        "data-dev",
        ("aws_rds_cluster.cluster", REPLACE, [["database_name"]]),
        ("aws_sqs_queue.dlq", ["delete"], []),
    )
    assert deployed("plan") == 0  # plan only reports: it is the review tool
    out = capsys.readouterr().out
    assert "data-dev                 planned     +1 ~0 -2       PRECIOUS: destroys 2" in out
    assert "  - data: aws_rds_cluster.cluster would be replaced (deleted, then created), forced by database_name" in out
    report = json.loads((tmp_path / "reports/dev-plan.json").read_text())
    data = next(s for s in report["stacks"] if s["stack"] == "data-dev")
    assert [f["allow"] for f in data["precious"]] == ["data:aws_rds_cluster.cluster", "data:aws_sqs_queue.dlq"]
    markdown = (tmp_path / "reports/dev-plan.md").read_text()
    assert "| data-dev | planned | 1 | 0 | 2 | 2 |" in markdown
    assert "- `data:aws_rds_cluster.cluster`: replace (delete, then create), forced by `database_name`" in markdown
    assert "- `data:aws_sqs_queue.dlq`: delete; lost: every failed job" in markdown


def test_through_the_command_line_a_refusal_is_exit_2_with_one_message(engine, deployed, monkeypatch, capsys, tmp_path):
    monkeypatch.chdir(tmp_path)  # main() works in ./cdktf.out, which the fixture seeded
    plan_destroys(engine, "data-dev", ("aws_sqs_queue.dlq", REPLACE, [["name"]]))
    assert main(["deploy", "--env", "dev", "--force"]) == 2
    err = capsys.readouterr().err
    assert err.count("error: refusing to apply data-dev") == 1 and "Traceback" not in err
    engine.clear()
    assert main(["deploy", "--env", "dev", "--force", "--allow-replace", "data:aws_sqs_queue.dlq"]) == 0
    assert engine.commands("apply") == ["data-dev"]


def test_a_protected_environment_is_never_destroyed_by_the_tool(engine, state_buckets):
    prod = load_environment("prod")
    with pytest.raises(UsageError) as refused:
        runner.perform("destroy", prod, confirm="prod")
    assert "prod is protected: the tool never destroys it" in str(refused.value)
    # Only steps that work: prod's file cannot say protected: false (the config rules refuse it).
    assert "protected: false" not in str(refused.value) and "prod is always protected" in str(refused.value)
    assert engine.calls() == []  # not even the engine's version was asked


def test_an_unreadable_dependant_state_stops_a_partial_destroy(engine, deployed, capsys):
    engine.set("FAIL", "output:compute-dev")
    assert deployed("destroy", stack_names="data", confirm="dev") == 1
    assert re.search(
        "could not read the state of compute-dev .*unknown whether it is deployed", capsys.readouterr().err
    )
    assert engine.commands("apply") == []


def test_an_unreadable_producer_state_stops_a_targeted_deploy(engine, deployed, capsys):
    engine.set("FAIL", "output:network-dev")
    assert deployed("deploy", stack_names="data") == 1
    assert "could not read the state of network-dev" in capsys.readouterr().err
    assert engine.commands("plan") == []


def test_a_destroy_keeps_the_key_that_encrypts_a_final_snapshot(engine, dev, tmp_path, capsys):
    kept = variant(dev, "dev", data__aurora__final_snapshot=True)
    paths = {"outdir": tmp_path / "cdktf.out", "outputs_dir": tmp_path / "outputs"}
    assert exit_code(runner.perform, "deploy", kept, **paths) == 0
    doc = json.loads((tmp_path / "cdktf.out/stacks/data-dev/cdk.tf.json").read_text())
    # The cluster's key only: the backups' copy key (in the other region) goes with the destroy.
    (key,) = [k for k in doc["resource"]["aws_kms_key"] if not k.startswith("backup_")]
    assert doc["resource"]["aws_rds_cluster"]["cluster"]["kms_key_id"] == f"${{aws_kms_key.{key}.arn}}"
    engine.clear()
    assert exit_code(runner.perform, "destroy", kept, confirm="dev", **paths) == 0
    removals = [args for cmd, stack, args in engine.calls() if cmd == "state" and "rm" in args]
    assert removals == [["state", "rm", "-lock-timeout=300s", "-no-color", f"aws_kms_key.{key}"]]
    data = [c for c, s, _ in engine.calls() if s == "data-dev"]
    assert data.index("state") < data.index("plan"), "the key must leave the state before the destroy is planned"
    assert f"kept arn:fake:data-dev:aws_kms_key.{key}: it encrypts the final snapshot" in capsys.readouterr().out


def test_without_a_final_snapshot_a_destroy_takes_the_key_too(engine, deployed):
    assert deployed("destroy", confirm="dev") == 0
    assert [c for c, _, _ in engine.calls() if c == "state"] == []


def test_findings_read_a_real_plans_shape():
    plan = {
        "resource_changes": [
            {
                "address": "aws_rds_cluster.cluster",
                "mode": "managed",
                "type": "aws_rds_cluster",
                "change": {"actions": ["delete", "create"], "replace_paths": [["database_name"], ["tags", "a"]]},
            },
            {
                "address": "data.aws_rds_cluster.running_cluster[0]",
                "mode": "data",
                "type": "aws_rds_cluster",
                "change": {"actions": ["delete"]},
            },
            {
                "address": "aws_rds_cluster_instance.instance_0",
                "mode": "managed",
                "type": "aws_rds_cluster_instance",
                "change": {"actions": ["update"]},
            },
            {
                "address": 'aws_sqs_queue.extra["a"]',
                "mode": "managed",
                "type": "aws_sqs_queue",
                "change": {"actions": ["create", "delete"]},
            },
        ]
    }
    found = guard.findings("data", plan)
    assert [(f.address, f.action, f.forced_by) for f in found] == [
        ("aws_rds_cluster.cluster", "replace (delete, then create)", ("database_name", "tags.a")),
        ('aws_sqs_queue.extra["a"]', "replace (create, then delete)", ()),
    ]
    assert guard.Allowances.parse('data:aws_sqs_queue.extra["a"], data:aws_rds_cluster.cluster').named == (
        ("data", 'aws_sqs_queue.extra["a"]'),
        ("data", "aws_rds_cluster.cluster"),
    )


# ---------------------------------------------------------------- weakening is destroying


def _weakening_cases() -> list[tuple[str, str, object, object]]:
    """(type, attribute, before, after) that weakens, one per rule of precious.WEAKENINGS."""
    cases = []
    for rtype, rules in precious.WEAKENINGS.items():
        for rule in rules:
            if isinstance(rule, precious.Retention):
                cases.append((rtype, rule.attribute, 14 if rule.forever is None else rule.forever, 1))
            else:
                cases.append((rtype, rule.attribute, not rule.weak, rule.weak))
    return cases


def _nested(dotted: str, value: object) -> dict:
    """{"a": [{"b": value}]} for "a.0.b": the plan's shape of a block attribute."""
    *parents, leaf = dotted.split(".")
    node: object = {leaf: value}
    for part in reversed(parents):
        node = [node] if part.isdigit() else {part: node}
    return node  # type: ignore[return-value]


def update(address: str, dotted: str, before: object, after: object) -> tuple:
    return (address, ["update"], [], {"before": _nested(dotted, before), "after": _nested(dotted, after)})


@pytest.mark.parametrize(("rtype", "attribute", "before", "after"), _weakening_cases())
def test_an_update_that_lowers_a_retention_or_weakens_a_protection_is_refused_until_named(
    engine, deployed, rtype, attribute, before, after
):
    stack, address = EXAMPLES[rtype]
    plan_destroys(engine, f"{stack}-dev", update(address, attribute, before, after))
    with pytest.raises(UsageError) as refused:
        deployed("deploy")
    message = str(refused.value)
    assert engine.commands("apply") == []
    assert f"{stack}: {address} would " in message and attribute in message, message
    assert "would be " not in message.split(address, 1)[1].split("\n", 1)[0]  # a verb of its own: lower, set
    assert f"\n    ALLOW_REPLACE={stack}:{address}\n" in message
    engine.clear()
    assert deployed("deploy", allow_replace=f"{stack}:{address}") == 0  # named: applied
    assert f"{stack}-dev" in engine.commands("apply")


def test_a_lowered_retention_says_what_is_lost_in_words(engine, deployed):
    plan_destroys(engine, "data-dev", update("aws_sqs_queue.dlq", "message_retention_seconds", 345600, 86400))
    with pytest.raises(UsageError) as refused:
        deployed("deploy")
    assert (
        "data: aws_sqs_queue.dlq would lower message_retention_seconds from 4 days to 1 day: "
        "lost: DLQ messages older than 1 day (kept for 4 days until now)"
    ) in str(refused.value)


@pytest.mark.parametrize(
    ("rtype", "attribute", "before", "after"),
    [
        ("aws_sqs_queue", "message_retention_seconds", 86400, 345600),  # raised
        ("aws_cloudwatch_log_group", "retention_in_days", 7, 0),  # to "never expire"
        ("aws_kinesis_stream", "retention_period", 24, 24),  # unchanged
        ("aws_rds_cluster", "deletion_protection", False, True),  # turned on
        ("aws_rds_cluster", "skip_final_snapshot", True, False),
        ("aws_sqs_queue", "visibility_timeout_seconds", 300, 30),  # not a retention
    ],
)
def test_raising_a_retention_or_strengthening_a_protection_is_no_finding(
    engine, deployed, rtype, attribute, before, after
):
    stack, address = EXAMPLES[rtype]
    plan_destroys(engine, f"{stack}-dev", update(address, attribute, before, after))
    assert deployed("deploy") == 0
    assert engine.commands("apply") == [f"{stack}-dev"]


def test_a_log_group_that_kept_everything_is_weakened_by_any_retention():
    change = {"before": {"retention_in_days": 0}, "after": {"retention_in_days": 3653}}
    (found,) = guard.weakenings("network", "aws_cloudwatch_log_group.flow_logs", "aws_cloudwatch_log_group", change)
    assert found.lost == "log events older than 3653 days (kept for ever until now)"


def test_a_retention_known_only_after_apply_is_not_judged():
    change = {"before": {"retention_period": 168}, "after": {}, "after_unknown": {"retention_period": True}}
    assert guard.weakenings("data", "aws_kinesis_stream.stream", "aws_kinesis_stream", change) == []


def test_plan_marks_a_weakening_as_it_marks_a_deletion(engine, deployed, tmp_path, capsys):
    plan_destroys(
        engine,
        "data-dev",
        ("aws_sqs_queue.dlq", ["delete"], []),
        update("aws_rds_cluster.cluster", "backup_retention_period", 7, 1),
    )
    assert deployed("plan") == 0
    out = capsys.readouterr().out
    assert "PRECIOUS: destroys 1, weakens 1" in out
    assert "  - data: aws_rds_cluster.cluster would lower backup_retention_period from 7 days to 1 day" in out
    report = json.loads((tmp_path / "reports/dev-plan.json").read_text())
    data = next(s for s in report["stacks"] if s["stack"] == "data-dev")
    assert [(f["kind"], f["allow"]) for f in data["precious"]] == [
        ("destroys", "data:aws_sqs_queue.dlq"),
        ("weakens", "data:aws_rds_cluster.cluster"),
    ]
    assert "lower backup_retention_period from 7 days to 1 day" in (tmp_path / "reports/dev-plan.md").read_text()


def test_every_weakening_names_an_attribute_its_type_has():
    """A rule on an attribute the provider does not have would never fire: each names an argument of its
    type in the provider bindings the stacks are built with (the same names the plan's JSON uses)."""
    import importlib
    import inspect

    for rtype, rules in precious.WEAKENINGS.items():
        assert precious.is_precious(rtype), rtype
        module = rtype.removeprefix("aws_")
        camel = "".join(part.capitalize() for part in module.split("_"))
        config = getattr(importlib.import_module(f"shared.cdk.aws.{module}"), f"{camel}Config")
        arguments = set(inspect.signature(config.__init__).parameters)
        for rule in rules:
            assert rule.attribute.split(".")[0] in arguments, (rtype, rule.attribute)


@pytest.mark.parametrize(
    ("rtype", "before", "after", "finding"),
    [
        # Left out, an attribute is AWS's default: 4 days for a queue, so leaving out 14 days lowers it.
        (
            "aws_sqs_queue",
            {"message_retention_seconds": 1209600},
            {},
            "lower message_retention_seconds from 14 days to 4 days",
        ),
        ("aws_dynamodb_table", {"point_in_time_recovery": [{"enabled": True}]}, {"point_in_time_recovery": []},
         "have point_in_time_recovery.0.enabled left out"),
        ("aws_rds_cluster", {"delete_automated_backups": False}, {}, "have delete_automated_backups left out"),
        ("aws_cloudwatch_log_group", {"retention_in_days": 30}, {}, None),  # left out: kept forever
        ("aws_rds_cluster", {}, {"deletion_protection": True}, None),
    ],
)  # fmt: skip
def test_an_attribute_left_out_is_judged_as_the_default_aws_then_keeps(rtype, before, after, finding):
    found = guard.weakenings("data", f"{rtype}.x", rtype, {"before": before, "after": after})
    assert [f.action for f in found] == ([finding] if finding else [])


def test_a_new_version_of_a_generated_passwords_secret_is_refused_the_cluster_would_keep_the_old_one():
    """Renaming the version's construct id (or anything that replaces it) writes a new password to the secret
    while the cluster, whose write-only password is sent only when password_version changes, keeps the old:
    every new task would fail to log in. Refused until named, saying so."""
    plan = {
        "resource_changes": [
            {
                "address": "aws_secretsmanager_secret_version.db_secret_value_renamed",
                "mode": "managed",
                "type": "aws_secretsmanager_secret_version",
                "change": {"actions": ["create"]},
            },
            {
                "address": "aws_secretsmanager_secret_version.db_secret_value",
                "mode": "managed",
                "type": "aws_secretsmanager_secret_version",
                "change": {"actions": ["delete"]},
            },
        ]
    }
    (finding,) = guard.findings("data", plan)
    assert (finding.address, finding.action) == ("aws_secretsmanager_secret_version.db_secret_value", "delete")
    assert "the cluster does not" in finding.lost and "password_version" in finding.lost


def _password_change(cluster_after: int | None) -> dict:
    changes = [
        {
            "address": "aws_secretsmanager_secret_version.db_secret_value",
            "mode": "managed",
            "type": "aws_secretsmanager_secret_version",
            "change": {
                "actions": ["delete", "create"],
                "before": {"secret_string_wo_version": 1},
                "after": {"secret_string_wo_version": 2},
                "replace_paths": [["secret_string_wo_version"]],
            },
        }
    ]
    if cluster_after is not None:
        changes.append(
            {
                "address": "aws_rds_cluster.cluster",
                "mode": "managed",
                "type": "aws_rds_cluster",
                "change": {
                    "actions": ["update"],
                    "before": {"master_password_wo_version": 1},
                    "after": {"master_password_wo_version": cluster_after},
                },
            }
        )
    return {"resource_changes": changes}


def test_raising_password_version_replaces_the_secret_version_with_the_cluster_so_it_is_no_finding():
    # The AWS provider replaces the version when secret_string_wo_version changes (measured: 5.100.0); the
    # cluster gets the same version's password in the same plan: nothing is lost.
    assert guard.findings("data", _password_change(cluster_after=2)) == []


@pytest.mark.parametrize("cluster_after", [None, 1, 3])
def test_a_secret_version_replaced_without_the_cluster_taking_the_same_password_is_a_finding(cluster_after):
    (finding,) = guard.findings("data", _password_change(cluster_after))
    assert finding.address == "aws_secretsmanager_secret_version.db_secret_value"
    assert finding.forced_by == ("secret_string_wo_version",)
