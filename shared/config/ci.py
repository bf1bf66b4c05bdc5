"""The ci section: who may assume the environment's CI roles (`make bootstrap` creates them) and for how long."""

from __future__ import annotations

from pydantic import Field

from shared.config import patterns
from shared.config.section import Section


class CiConfig(Section):
    repository: str = Field(
        "streamflix/streamflix-infra",
        pattern=patterns.GITHUB_REPOSITORY.regex,
        description="The GitHub repository (owner/name) whose workflows may assume the environment's CI roles: "
        "the roles trust exactly its GitHub environment `<env>` (deploy) and `<env>-plan` (plan), through the "
        "account's GitHub OIDC provider. Set it to the repository that runs .github/workflows/pipeline.yml.",
    )
    # IAM's bounds for a role's maximum session: 1 hour to 12 hours.
    deploy_session_seconds: int = Field(
        7200,
        ge=3600,
        le=43200,
        description="Longest session of the deploy role (streamflix-deploy-<suffix>): at least the longest "
        "job that deploys with it (a promotion: 120 minutes), so credentials never expire mid-apply.",
    )
    plan_session_seconds: int = Field(
        3600,
        ge=3600,
        le=43200,
        description="Longest session of the plan role (streamflix-plan-<suffix>): at least the plan and drift "
        "jobs' timeout (30 minutes; IAM's minimum is one hour).",
    )
