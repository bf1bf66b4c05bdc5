"""After the data stack, the workers' database user (shared/database/app_user.py), made through the RDS Data API.

No provider reaches into the VPC, and the deploy has no network path there either: the Data API runs SQL from
outside, as the master user (it reads the master's secret on the caller's behalf), one statement at a time; the
SQL is one statement, so it lands whole or not at all. It runs whenever a deploy applies the data stack or finds
it unchanged after planning, so a new cluster, a renamed user and a change to the SQL (its digest is a data stack
output) all reach the database; a deploy that skips the data stack as unchanged skips this too (FORCE=1 runs it).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import EnvironmentConfig
from shared.database.app_user import grants_sql
from shared.ops.engine.workdir import StackFailed

STEP = "database user"
# A cluster that paused at 0 ACU answers DatabaseResumingException while it wakes (about 15 s), and a Data API
# just enabled may still say it is not: both pass; asked again for this long.
WAIT_SECONDS = 120
PAUSE_SECONDS = 5
_PASSING = ("DatabaseResumingException", "DatabaseNotFoundException")
_PASSING_WORDS = ("HttpEndpoint is not enabled", "is resuming", "Communications link failure")


def _passing(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in _PASSING or any(w in str(error.get("Message", "")) for w in _PASSING_WORDS)


def make(
    env: EnvironmentConfig,
    outputs: dict,
    client,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Run the SQL on the cluster the data stack's `outputs` name; what was made, in one line. Raises StackFailed
    (the step, and AWS's words) when it cannot: the data stack's fingerprint then stays unrecorded, so the next
    deploy runs it again."""
    aurora = env.data.aurora
    missing = [k for k in ("rds_cluster_arn", "db_secret_arn") if not outputs.get(k)]
    if missing:
        raise StackFailed(STEP, f"the data stack has no {' or '.join(missing)} output: apply it, then deploy again")
    deadline = clock() + WAIT_SECONDS
    while True:
        try:
            client.execute_statement(
                resourceArn=outputs["rds_cluster_arn"],
                secretArn=outputs["db_secret_arn"],
                database=aurora.database_name,
                sql=grants_sql(aurora),
            )
            break
        except ClientError as exc:
            if not _passing(exc) or clock() >= deadline:
                raise StackFailed(STEP, _said(exc, aurora.app_user)) from None
        except BotoCoreError as exc:
            raise StackFailed(STEP, f"could not reach the RDS Data API: {exc}") from None
        sleep(PAUSE_SECONDS)
    return f"database user {aurora.app_user}: {aurora.app_schema}'s tables, by IAM token"


def _said(exc: ClientError, user: str) -> str:
    error = exc.response.get("Error", {})
    return (
        f"making the workers' database user {user} through the RDS Data API failed: "
        f"{error.get('Code', 'error')}: {error.get('Message', exc)}\n"
        "Nothing of it was kept (it runs as one statement). Run the same deploy again once the cause is fixed."
    )
