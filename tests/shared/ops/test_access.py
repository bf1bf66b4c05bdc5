"""make bootstrap's roles against the emulator (in-process moto): made once, then found in place; a smaller
policy set leaves no stale policy behind."""

from __future__ import annotations

import pytest

from shared.access.target import Target
from shared.ops.access import ensure_ci_roles
from tests.shared.access.targets import target


@pytest.fixture
def dev(synth, configs, aws):
    return target(synth, configs, "dev")


def test_bootstrap_makes_the_roles_then_finds_them_in_place(dev, aws):
    done, arns = ensure_ci_roles(dev, None, "arn:aws:iam::123456789012:user/admin")
    assert ("role streamflix-deploy-dev", "created") in done and ("role streamflix-plan-dev", "created") in done
    assert arns["plan_role_arn"].endswith(":role/streamflix-plan-dev")
    again, _ = ensure_ci_roles(dev, None, "arn:aws:iam::123456789012:user/admin")
    assert {status for _, status in again} == {"already there"}, again
    import boto3

    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.get_role(RoleName="streamflix-deploy-dev")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"].endswith(":policy/streamflix-boundary-dev")
    assert role["MaxSessionDuration"] == 7200


def test_a_changed_policy_gets_a_new_version_and_a_stale_one_goes(dev, aws):
    ensure_ci_roles(dev, None, "x")
    smaller = Target(dev.env, dev.account, dev.partition, tuple(r for r in dev.resources if r.type.startswith("aws_s")))
    done, _ = ensure_ci_roles(smaller, None, "x")
    assert ("policy streamflix-deploy-dev-1", "updated") in done, done
    assert any(status.startswith("removed") for _, status in done), done
