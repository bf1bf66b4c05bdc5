"""The roles' trust and packaging: exactly this repository's GitHub environment; split to IAM's limits; an emulated
environment's documents widened as EMULATOR_IAM says, a real one's never."""

from __future__ import annotations

import json

from shared.access.roles import POLICY_LIMIT, ci_roles, role_specs, trust_policy
from shared.emulator_quirks import EMULATOR_IAM
from tests.shared.access.targets import target

CALLER = "arn:aws:iam::123456789012:user/bootstrapper"


def test_trust_is_this_repository_and_environment_only(synth, configs):
    t = target(synth, configs, "prod")
    _, plan = role_specs(configs["prod"])
    (statement,) = trust_policy(t, plan, CALLER)["Statement"]  # a real environment never trusts the caller
    assert statement["Principal"] == {
        "Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    }
    assert statement["Condition"] == {"StringEquals": {
        "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
        "token.actions.githubusercontent.com:sub": "repo:streamflix/streamflix-infra:environment:prod-plan",
    }}  # fmt: skip


def test_roles_are_named_sized_and_trusted_per_environment(synth, configs):
    deploy, plan = ci_roles(target(synth, configs, "staging"), target(synth, configs, "dev"), CALLER)
    assert (deploy.spec.name, deploy.spec.github_environment, deploy.spec.session_seconds) == (
        "streamflix-deploy-staging",
        "staging",
        7200,
    )
    assert (plan.spec.name, plan.spec.github_environment, plan.spec.session_seconds) == (
        "streamflix-plan-staging",
        "staging-plan",
        3600,
    )
    for role in (deploy, plan):
        assert all(len(json.dumps(p, separators=(",", ":"))) <= POLICY_LIMIT for p in role.policies)


def test_an_emulated_environment_is_widened_and_trusts_the_bootstrapper(synth, configs):
    deploy, plan = ci_roles(target(synth, configs, "local"), None, CALLER)
    assert {"Sid": "EmulatorCaller", "Effect": "Allow", "Principal": {"AWS": CALLER}, "Action": "sts:AssumeRole"} in (
        plan.trust["Statement"]
    )
    statements = [s for p in plan.policies for s in p["Statement"]]
    assert not any("Condition" in s for s in statements)
    for s in statements:  # only services the emulator scopes keep their resources
        assert s["Resource"] == ["*"] or all(r.split(":")[2] in ("s3", "sqs", "iam", "sts") for r in s["Resource"]), s
    # The emulator names CloudWatch's calls by their signing name: a plan that reads alarms needs both.
    actions = {a for s in statements for a in s["Action"]}
    assert "cloudwatch:DescribeAlarms" in actions and "monitoring:DescribeAlarms" in actions
    real = [
        s for r in ci_roles(target(synth, configs, "dev"), None, CALLER) for p in r.policies for s in p["Statement"]
    ]
    assert not any(a.startswith("monitoring:") for s in real for a in s["Action"])  # never in a real environment
    # The emulator judges a create of a role or queue that does not exist yet on `*`: those alone widen to it.
    on_any = [s for s in statements if s["Sid"].endswith("OnAny")]
    assert all(s["Resource"] == ["*"] and set(s["Action"]) <= set(EMULATOR_IAM.judged_on_any) for s in on_any)
    deploy_actions = {a for p in deploy.policies for s in p["Statement"] if s["Resource"] == ["*"] for a in s["Action"]}
    assert {"iam:CreateRole", "sqs:CreateQueue"} <= deploy_actions
