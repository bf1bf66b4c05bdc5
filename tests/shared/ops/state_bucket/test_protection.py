"""Protection recorded beside the state, and the guard on every environment that has a file: no suffix,
file name or `protected:` edit takes an environment out of the guard or its protection (stand-in and moto)."""

from __future__ import annotations

import json
import shutil

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.runner import guard
from shared.ops.runner import run as runner
from shared.ops.state_bucket import protection
from shared.paths import ENVIRONMENTS_DIR
from tests.support.exit_code import exit_code
from tests.support.moto_pipeline import mocked_client

REPLACE_CLUSTER = {"data-{suffix}": [["aws_rds_cluster.cluster", ["delete", "create"], [["database_name"]]]]}


@pytest.fixture
def environments(tmp_path, monkeypatch):
    """A copy of environments/ that a test may edit (rename a file, change a suffix); the tools read it."""
    directory = tmp_path / "environments"
    shutil.copytree(ENVIRONMENTS_DIR, directory)
    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(directory))
    return directory


@pytest.fixture
def paths(tmp_path):
    return {"outdir": tmp_path / "cdktf.out", "outputs_dir": tmp_path / "outputs"}


def own_suffix(path, suffix: str) -> None:
    path.write_text(path.read_text() + f"environment_suffix: {suffix}\n")


def plans_replace_the_cluster(engine, suffix: str) -> None:
    engine.set("CHANGES", json.dumps({k.format(suffix=suffix): v for k, v in REPLACE_CLUSTER.items()}))


def record(env, protected: bool = True, environment: str | None = None) -> None:
    doc = {"protected": protected, "environment": environment or env.name, "changed_by": "arn:test", "changed_at": "t"}
    mocked_client("s3", env.state_region).put_object(
        Bucket=env.state.bucket, Key=protection.key(env), Body=json.dumps(doc).encode()
    )


# ---------------------------------------------------------------- pure decisions


def test_guarded_follows_identity_not_spelling(environments):
    own_suffix(environments / "staging.yaml", "stg")
    staging = load_environment("staging")
    assert staging.suffix == "stg" and not staging.throwaway and guard.guarded(staging)
    copy = load_environment("staging", suffix="pr-3")
    assert copy.throwaway and not guard.guarded(copy)
    assert guard.guarded(protection.effective(copy, protection.Protection(True, "staging", "a", "t")))


def test_a_record_protects_what_the_file_does_not_and_a_lift_never_unprotects_a_protected_file():
    dev, prod = load_environment("dev"), load_environment("prod")
    on, lifted = protection.Protection(True, "dev", "a", "t"), protection.Protection(False, "dev", "a", "t")
    assert protection.effective(dev, on).protected and not protection.effective(dev, None).protected
    assert protection.effective(dev, lifted) is dev
    assert protection.effective(prod, lifted).protected
    assert protection.needs_recording(prod, None) and protection.needs_recording(prod, lifted)
    assert not protection.needs_recording(prod, protection.Protection(True, "prod", "a", "t"))
    assert protection.needs_recording(dev, None)  # every environment's first deploy says what lives there
    assert not protection.needs_recording(dev, lifted)
    assert "make unprotect ENV=dev CONFIRM=dev" in protection.overridden(dev, on)
    assert protection.overridden(prod, on) == ""


def test_prod_can_never_be_unprotected_and_a_protected_file_not_yet():
    dev, prod = load_environment("dev"), load_environment("prod")
    assert "always protected" in protection.lift_refusal(prod, None)
    # prod under any other spelling: the record says which file wrote it.
    assert "always protected" in protection.lift_refusal(dev, protection.Protection(True, "prod", "a", "t"))
    protected_dev = dev.model_copy(update={"protected": True})
    assert "set protected: false" in protection.lift_refusal(protected_dev, None)
    assert protection.lift_refusal(dev, protection.Protection(True, "dev", "a", "t")) == ""


# ---------------------------------------------------------------- the guard on every environment shape


def test_a_file_environment_with_a_suffix_of_its_own_is_guarded(engine, environments, state_buckets, paths):
    own_suffix(environments / "staging.yaml", "stg")
    staging = load_environment("staging")
    assert exit_code(runner.perform, "deploy", staging, **paths) == 0
    plans_replace_the_cluster(engine, "stg")
    engine.clear()
    with pytest.raises(UsageError, match="refusing to apply data-stg"):
        runner.perform("deploy", staging, **paths, force=True)
    assert engine.commands("apply") == []


def test_the_first_deploy_of_a_protected_environment_records_it_beside_its_state(engine, state_buckets, paths):
    prod = load_environment("prod")
    assert protection.read(prod) is None
    assert exit_code(runner.perform, "deploy", prod, confirm="prod", **paths) == 0
    recorded = protection.read(prod)
    assert recorded.protected and recorded.environment == "prod" and recorded.changed_by.startswith("arn:")


def test_a_renamed_prod_file_that_says_unprotected_is_still_protected_and_guarded(
    engine, environments, state_buckets, paths, capsys
):
    prod = load_environment("prod")
    assert exit_code(runner.perform, "deploy", prod, confirm="prod", **paths) == 0
    # production.yaml: the same state location (bucket and suffix), and protected: false.
    text = (environments / "prod.yaml").read_text().replace("protected: true", "protected: false")
    (environments / "prod.yaml").unlink()
    (environments / "production.yaml").write_text(text + "environment_suffix: prod\n")
    renamed = load_environment("production")
    assert not renamed.protected and renamed.suffix == "prod"
    engine.clear()
    with pytest.raises(UsageError, match="prod is protected: the tool never destroys it"):
        runner.perform("destroy", renamed, confirm="prod", **paths)
    with pytest.raises(UsageError, match="without confirmation: run again with CONFIRM=prod"):
        runner.perform("deploy", renamed, **paths)
    assert "prod is treated as protected: its state location says so" in capsys.readouterr().out
    plans_replace_the_cluster(engine, "prod")
    with pytest.raises(UsageError, match="refusing to apply data-prod"):
        runner.perform("deploy", renamed, confirm="prod", force=True, **paths)
    assert engine.commands("apply") == []
    # Synthesized as protected: prevent_destroy is back on what is precious.
    doc = json.loads((paths["outdir"] / "stacks/data-prod/cdk.tf.json").read_text())
    assert doc["resource"]["aws_rds_cluster"]["cluster"]["lifecycle"]["prevent_destroy"] is True


def test_a_suffix_copy_that_names_a_protected_state_location_is_protected(engine, state_buckets, paths):
    copy = load_environment("dev", suffix="pr-9")
    record(copy, environment="dev")
    with pytest.raises(UsageError, match="pr-9 is protected: the tool never destroys it"):
        runner.perform("destroy", copy, confirm="pr-9", **paths)
    assert [c for c, _, _ in engine.calls() if c in ("plan", "apply")] == []


def test_a_copy_on_the_state_of_a_renamed_environment_is_guarded_as_that_environment(
    engine, environments, state_buckets, paths, capsys
):
    staging = load_environment("staging")
    assert (
        exit_code(runner.perform, "deploy", staging, **paths) == 0
    )  # records that an environment with a file lives there
    (environments / "staging.yaml").rename(environments / "stage.yaml")
    copy = load_environment("stage", suffix="staging")  # the old location is no longer claimed by a file
    assert copy.throwaway
    plans_replace_the_cluster(engine, "staging")
    engine.clear()
    with pytest.raises(UsageError, match="refusing to apply data-staging"):
        runner.perform("deploy", copy, force=True, **paths)
    assert engine.commands("apply") == []
    assert "staging is no throwaway: the environment staging lives at that state location" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ['"true"', "1", "null"])
def test_a_record_whose_flags_are_not_booleans_is_no_record(state_buckets, flag):
    dev = load_environment("dev")
    body = f'{{"protected": {flag}, "environment": "dev", "changed_by": "a", "changed_at": "t"}}'
    mocked_client("s3", dev.state_region).put_object(Bucket=dev.state.bucket, Key=protection.key(dev), Body=body)
    with pytest.raises(UsageError, match="is not a protection record"):
        protection.read(dev)


def test_an_unreadable_protection_record_stops_a_destroy(engine, state_buckets, paths):
    dev = load_environment("dev")
    mocked_client("s3", dev.state_region).put_object(Bucket=dev.state.bucket, Key=protection.key(dev), Body=b"{")
    with pytest.raises(UsageError, match="is not a protection record"):
        runner.perform("destroy", dev, confirm="dev", **paths)
    assert [c for c, _, _ in engine.calls() if c in ("plan", "apply")] == []


# ---------------------------------------------------------------- make unprotect
