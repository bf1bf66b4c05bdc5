"""The ci section: a repository GitHub could name in a token's `sub`, sessions within IAM's bounds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.config.ci import CiConfig


def test_defaults_fit_the_workflow_jobs():
    ci = CiConfig()
    assert ci.deploy_session_seconds >= 120 * 60  # a promotion's timeout
    assert ci.plan_session_seconds >= 30 * 60


@pytest.mark.parametrize("repository", ["streamflix", "owner/name/extra", "owner/na me", "-owner/name", "owner/"])
def test_a_repository_that_is_not_owner_slash_name_is_refused(repository):
    with pytest.raises(ValidationError, match="repository"):
        CiConfig(repository=repository)


@pytest.mark.parametrize("seconds", [3599, 43201])
def test_a_session_outside_iams_bounds_is_refused(seconds):
    with pytest.raises(ValidationError):
        CiConfig(deploy_session_seconds=seconds)
