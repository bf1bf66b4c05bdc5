"""smoke against moto: a healthy environment passes; each broken condition is its own failure."""

from __future__ import annotations

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands import smoke
from tests.support.exit_code import exit_code
from tests.support.moto_pipeline import create_pipeline, write_outputs


@pytest.fixture
def dev(aws, monkeypatch):
    env = load_environment("dev")
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(env.compute.desired_count))
    return env


def results(env, outputs, tmp_path, capsys) -> tuple[int, dict[str, tuple[bool, str]], str]:
    """Exit code and printed table of `smoke.run`, and each check's (ok, detail)."""
    write_outputs(tmp_path, env, outputs)
    code = exit_code(smoke.run, env, outputs_dir=tmp_path)
    out = capsys.readouterr().out
    table = {c.name: (c.ok, c.detail) for c in smoke.Smoke(env, outputs).run()}
    for name, (ok, detail) in table.items():
        assert f"{'pass' if ok else 'FAIL'}  {detail.split(' ')[0]}" in out, f"{name} not printed as it ran"
    return code, table, out


def failures(table) -> list[str]:
    return [name for name, (ok, _) in table.items() if not ok]


def test_a_healthy_environment_passes(dev, tmp_path, capsys):
    code, table, out = results(dev, create_pipeline(dev), tmp_path, capsys)
    assert code == 0, out
    assert failures(table) == []
    assert "read back" in table["stream record round trip"][1]
    assert "depth 0" in table["dead-letter queue"][1]
    assert "1 of 1 tasks running" in out
    assert "10 passed, 0 failed" in out
    assert table["the paging endpoint listens"] == (True, "no paging endpoint in this environment")
    assert "all 16 alarms exist" in table["alarms exist"][1]


def test_stream_missing(dev, tmp_path, capsys):
    code, table, _ = results(dev, create_pipeline(dev, skip=frozenset({"stream"})), tmp_path, capsys)
    assert code == 1
    assert failures(table) == ["stream is active", "stream record round trip"]
    assert "ResourceNotFoundException" in table["stream is active"][1]


def test_stream_not_active(dev, tmp_path, capsys, monkeypatch):
    outputs = create_pipeline(dev)
    real = smoke.client

    def creating(service, env, region=None):
        c = real(service, env, region)
        if service == "kinesis":
            original = c.describe_stream_summary

            def summary(**kw):
                resp = original(**kw)
                resp["StreamDescriptionSummary"]["StreamStatus"] = "CREATING"
                return resp

            c.describe_stream_summary = summary
        return c

    monkeypatch.setattr(smoke, "client", lambda service, env, region=None, session=None: creating(service, env, region))
    code, table, _ = results(dev, outputs, tmp_path, capsys)
    assert code == 1 and failures(table) == ["stream is active", "stream record round trip"]
    assert "is CREATING" in table["stream is active"][1]


def test_service_below_desired_count(dev, tmp_path, capsys, monkeypatch):
    env = load_environment("staging")  # desires 2 tasks
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", "1")
    code, table, _ = results(env, create_pipeline(env), tmp_path, capsys)
    assert code == 1 and failures(table) == ["service runs desired count"]
    assert "1 of 2 tasks running" in table["service runs desired count"][1]


def test_cluster_without_instance(dev, tmp_path, capsys):
    code, table, _ = results(dev, create_pipeline(dev, skip=frozenset({"instance"})), tmp_path, capsys)
    assert code == 1 and failures(table) == ["Aurora cluster and instance"]
    assert "no available instance" in table["Aurora cluster and instance"][1]


def test_secret_without_the_expected_keys(dev, tmp_path, capsys):
    code, table, _ = results(dev, create_pipeline(dev, skip=frozenset({"secret_keys"})), tmp_path, capsys)
    assert code == 1 and failures(table) == ["database secret"]
    assert "lacks password" in table["database secret"][1]


def test_alarm_missing(dev, tmp_path, capsys):
    outputs = create_pipeline(dev, skip=frozenset({"alarm:dlq-messages"}))
    code, table, _ = results(dev, outputs, tmp_path, capsys)
    assert code == 1 and failures(table) == ["alarms exist"]
    assert "missing streamflix-dlq-messages-dev" in table["alarms exist"][1]


def test_a_real_environment_without_its_paging_alarm_fails(dev, tmp_path, capsys):
    outputs = create_pipeline(dev, skip=frozenset({"alarm:workers-missing-while-work-piles-up"}))
    code, table, _ = results(dev, outputs, tmp_path, capsys)
    assert code == 1 and failures(table) == ["alarms exist"]
    assert table["alarms exist"][1] == "missing streamflix-workers-missing-while-work-piles-up-dev"


def test_an_emulated_environment_is_not_asked_for_the_composite_alarm_the_emulator_cannot_make(dev, monkeypatch):
    local = load_environment("local")
    outputs = create_pipeline(local, skip=frozenset({"alarm:workers-missing-while-work-piles-up"}))
    real = smoke.client  # moto's in-process mock, not local's emulator endpoint
    monkeypatch.setattr(smoke, "client", lambda service, env, region=None, session=None: real(service, dev, region))
    assert smoke.Smoke(local, outputs).alarms() == "all 15 alarms exist"


@pytest.mark.parametrize(
    ("skip", "detail"),
    [
        ("rule:worker-stopped-unexpectedly", "streamflix-worker-stopped-unexpectedly-dev is missing"),
        ("target:worker-deployment-failed", "streamflix-worker-deployment-failed-dev does not send to the alarm topic"),
    ],
)
def test_an_ecs_event_rule_missing_or_sending_nowhere_fails(dev, tmp_path, capsys, skip, detail):
    code, table, _ = results(dev, create_pipeline(dev, skip=frozenset({skip})), tmp_path, capsys)
    assert code == 1 and failures(table) == ["ECS events reach the alarm topic"]
    assert table["ECS events reach the alarm topic"][1] == detail


def test_no_outputs_file_says_what_to_run(dev, tmp_path):
    with pytest.raises(UsageError, match="run make outputs ENV=dev"):
        smoke.run(dev, outputs_dir=tmp_path)


@pytest.fixture
def prod(aws, monkeypatch):
    env = load_environment("prod")
    monkeypatch.setenv("MOTO_ECS_SERVICE_RUNNING", str(env.compute.desired_count))
    return env


def test_a_paging_endpoint_that_confirmed_its_subscription_passes(prod):
    detail = smoke.Smoke(prod, create_pipeline(prod)).pager()
    assert detail == f"{prod.monitoring.paging_endpoint} is subscribed and confirmed"


def test_a_paging_endpoint_that_never_confirmed_fails_by_name(prod, monkeypatch):
    outputs = create_pipeline(prod)
    real = smoke.client

    def unconfirmed(service, env, region=None, session=None):
        c = real(service, env, region)
        if service == "sns":  # what SNS says of an endpoint that never visited its SubscribeURL
            c.get_subscription_attributes = lambda **kw: {"Attributes": {"PendingConfirmation": "true"}}
        return c

    monkeypatch.setattr(smoke, "client", unconfirmed)
    with pytest.raises(smoke._Fail, match="has not confirmed its subscription: is monitoring.paging_endpoint right"):
        smoke.Smoke(prod, outputs).pager()


def test_a_paging_topic_without_the_endpoints_subscription_fails(prod):
    with pytest.raises(smoke._Fail, match="has no subscription of https://"):
        smoke.Smoke(prod, create_pipeline(prod, skip=frozenset({"pager"}))).pager()
