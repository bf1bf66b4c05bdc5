"""The Aurora engine version to plan: the configured one as a floor that AWS's automatic minor upgrades may raise."""

from __future__ import annotations

from constructs import Construct

from shared.cdk.aws.data_aws_rds_cluster import DataAwsRdsCluster
from shared.cdk.aws.data_aws_rds_clusters import (
    DataAwsRdsClusters,
    DataAwsRdsClustersFilter,
)
from shared.cdk.core import Fn, TerraformLocal, Token


def engine_version_floor(scope: Construct, *, floor: str, cluster_identifier: str) -> str:
    """The configured version as a floor: whatever runs, if it is newer (AWS raised the minor), else the floor.

    Pinning the configured version would plan a downgrade after every automatic minor upgrade,
    which ModifyDBCluster refuses (hashicorp/terraform-provider-aws#45026): each later deploy
    would fail and drift would never clear. Before the first deploy nothing runs: the floor.
    """
    major, minor = (int(part) for part in floor.split("."))
    existing = DataAwsRdsClusters(
        scope,
        "existing_cluster",
        filter=[DataAwsRdsClustersFilter(name="db-cluster-id", values=[cluster_identifier])],
    )
    running_cluster = DataAwsRdsCluster(
        scope,
        "running_cluster",
        cluster_identifier=cluster_identifier,
        count=Token.as_number(Fn.length_of(existing.cluster_identifiers)),
    )
    running = TerraformLocal(scope, "aurora_running_version", f"${{one({running_cluster.fqn}[*].engine_version)}}")
    # major * 1000 + minor of what runs, 0 when that cannot be read (then the floor is planned).
    parts = rf'regex("^(\\d+)\\.(\\d+)", {running.fqn})'  # HCL string: \\d is \d
    rank = f"try(tonumber({parts}[0]) * 1000 + tonumber({parts}[1]), 0)"
    version = TerraformLocal(
        scope,
        "aurora_engine_version",
        f'${{{running.fqn} != null && {rank} >= {major * 1000 + minor} ? {running.fqn} : "{floor}"}}',
    )
    return version.as_string
