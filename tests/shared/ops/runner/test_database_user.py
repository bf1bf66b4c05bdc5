"""The workers' database user, made through the RDS Data API after the data stack: what is sent, what waits, what
fails, and what a failure leaves (the data stack planned and the SQL run again by the next deploy)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from shared.config import load_environment
from shared.database.app_user import grants_sql
from shared.errors import UsageError
from shared.ops.engine.workdir import StackFailed
from shared.ops.runner import actions, database_user
from shared.ops.state_bucket import fingerprint

OUTPUTS = {"rds_cluster_arn": "arn:aws:rds:us-east-1:123456789012:cluster:c", "db_secret_arn": "arn:secret"}


def error(code: str, message: str = "") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "ExecuteStatement")


class DataApi:
    """Answers each call with the next of `answers` (an exception is raised); records what it was asked."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), []

    def execute_statement(self, **kw):
        self.calls.append(kw)
        answer = self.answers.pop(0) if self.answers else {}
        if isinstance(answer, Exception):
            raise answer
        return answer


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_the_sql_runs_once_on_the_data_stacks_cluster_as_its_master_in_its_database():
    env, api = load_environment("dev"), DataApi()
    said = database_user.make(env, OUTPUTS, api)
    aurora = env.data.aurora
    assert api.calls == [
        {"resourceArn": OUTPUTS["rds_cluster_arn"], "secretArn": OUTPUTS["db_secret_arn"],
         "database": aurora.database_name, "sql": grants_sql(aurora)}
    ]  # fmt: skip
    assert said == f"database user {aurora.app_user}: {aurora.app_schema}'s tables, by IAM token"


def test_a_cluster_waking_from_a_pause_is_waited_for():
    clock, api = Clock(), DataApi(error("DatabaseResumingException", "is resuming"), error("BadRequestException",
                                  "HttpEndpoint is not enabled for cluster c"), {})  # fmt: skip
    database_user.make(load_environment("dev"), OUTPUTS, api, sleep=clock.sleep, clock=clock)
    assert len(api.calls) == 3 and clock.now == 2 * database_user.PAUSE_SECONDS


def test_a_cluster_that_never_wakes_fails_the_step_saying_so():
    clock = Clock()
    api = DataApi(*[error("DatabaseResumingException", "still resuming")] * 1000)
    with pytest.raises(StackFailed) as failed:
        database_user.make(load_environment("dev"), OUTPUTS, api, sleep=clock.sleep, clock=clock)
    assert failed.value.step == "database user" and "DatabaseResumingException: still resuming" in failed.value.output
    assert clock.now >= database_user.WAIT_SECONDS


@pytest.mark.parametrize(
    ("raised", "words"),
    [
        (error("AccessDeniedException", "not authorized to perform rds-data:ExecuteStatement"),
         "AccessDeniedException: not authorized to perform rds-data:ExecuteStatement"),
        (error("BadRequestException", 'ERROR: permission denied to create role'), "permission denied to create role"),
        (EndpointConnectionError(endpoint_url="https://rds-data"), "could not reach the RDS Data API"),
    ],
)  # fmt: skip
def test_any_other_error_fails_at_once_with_aws_words(raised, words):
    api = DataApi(raised)
    with pytest.raises(StackFailed) as failed:
        database_user.make(load_environment("dev"), OUTPUTS, api, sleep=pytest.fail)
    assert words in failed.value.output and len(api.calls) == 1


def test_a_data_stack_without_the_outputs_is_named():
    with pytest.raises(StackFailed) as failed:
        database_user.make(load_environment("dev"), {"db_secret_arn": "x"}, DataApi())
    assert "the data stack has no rds_cluster_arn output" in failed.value.output


def served_only(engine) -> None:
    if not engine.served:
        pytest.skip("the Python stand-in run as a process writes no state objects to moto (no C compiler here)")


def test_a_deploy_whose_database_user_fails_stops_there_and_runs_it_again_next_time(engine, dev, run, monkeypatch):
    served_only(engine)
    api = DataApi(error("BadRequestException", "ERROR: role rds_iam does not exist"))
    monkeypatch.setattr(actions, "client", lambda service, env: api)
    assert run("deploy", dev) == 1
    assert engine.commands("apply") == ["network-dev", "data-dev"]  # compute and monitoring never started
    assert fingerprint.recorded(dev, "data") is None  # the next deploy plans it, and makes the user
    # Nor may the workers go out alone, on a database without their user.
    engine.clear()
    with pytest.raises(UsageError, match="data-dev's last deploy in dev did not finish"):
        run("deploy", dev, stack_names="compute")
    assert engine.commands("apply") == []
    engine.clear()
    assert run("deploy", dev) == 0
    assert engine.commands("plan")[:1] == ["data-dev"] and "network-dev" not in engine.commands("plan")
    (made,) = api.calls[1:]
    assert made["resourceArn"] == "data-dev:rds_cluster_arn" and made["secretArn"] == "data-dev:db_secret_arn"
    assert fingerprint.recorded(dev, "data") is not None


def test_a_forced_deploy_whose_database_user_fails_leaves_no_record_to_skip_on(engine, dev, run, monkeypatch):
    """The data stack planned with no changes (FORCE=1) keeps its old record until the user is made again."""
    served_only(engine)
    api = DataApi({}, error("AccessDeniedException", "not authorized"))
    monkeypatch.setattr(actions, "client", lambda service, env: api)
    assert run("deploy", dev) == 0
    assert run("deploy", dev, force=True) == 1
    assert fingerprint.recorded(dev, "data") is None
    engine.clear()
    assert run("deploy", dev) == 0  # planned, not skipped: the SQL runs again
    assert "data-dev" in engine.commands("plan") and len(api.calls) == 3
