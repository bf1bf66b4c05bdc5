"""`make unprotect`: the one way to lift a recorded protection; never prod, nor while the file says protected."""

from __future__ import annotations

import json
import shutil

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands.releases import show as show_releases
from shared.ops.commands.unprotect import unprotect
from shared.ops.runner import guard
from shared.ops.runner import run as runner
from shared.ops.state_bucket import protection
from shared.paths import ENVIRONMENTS_DIR
from tests.support.exit_code import exit_code
from tests.support.moto_pipeline import mocked_client


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


def record(env, protected: bool = True, environment: str | None = None) -> None:
    doc = {"protected": protected, "environment": environment or env.name, "changed_by": "arn:test", "changed_at": "t"}
    mocked_client("s3", env.state_region).put_object(
        Bucket=env.state.bucket, Key=protection.key(env), Body=json.dumps(doc).encode()
    )


def test_unprotect_lifts_a_record_the_file_no_longer_backs_and_releases_shows_it(engine, state_buckets, paths, capsys):
    dev = load_environment("dev")
    record(dev)
    with pytest.raises(UsageError, match="needs CONFIRM=dev on the command line"):
        unprotect(dev, confirm=None, outdir=paths["outdir"])
    assert protection.read(dev).protected
    assert exit_code(unprotect, dev, confirm="dev", outdir=paths["outdir"]) == 0
    lifted = protection.read(dev)
    assert not lifted.protected and lifted.changed_by.startswith("arn:")
    assert exit_code(show_releases, [dev]) == 0
    assert "protection lifted" in capsys.readouterr().out
    assert exit_code(runner.perform, "destroy", dev, confirm="dev", **paths) == 0  # no longer protected


def test_unprotect_is_refused_for_prod_under_any_name(engine, state_buckets, environments, paths):
    with pytest.raises(UsageError, match="prod is always protected"):
        unprotect(load_environment("prod"), confirm="prod", outdir=paths["outdir"])
    dev = load_environment("dev")
    record(dev, environment="prod")  # written by prod's file, now read through another
    with pytest.raises(UsageError, match="prod is always protected"):
        unprotect(dev, confirm="dev", outdir=paths["outdir"])
    assert protection.read(dev).protected


def test_a_lift_through_a_suffix_copy_keeps_what_lives_there(engine, environments, state_buckets, paths):
    """qa was protected and its file removed: a copy that names its location may lift the protection (the
    file behind it says unprotected), but the location stays qa's, guarded, never a throwaway's."""
    dev = load_environment("dev")
    qa = load_environment("dev", suffix="qa")
    record(qa, environment="qa")  # as qa's own deploy wrote it
    assert exit_code(unprotect, qa, confirm="qa", outdir=paths["outdir"]) == 0
    lifted = protection.read(qa)
    assert lifted.lifted and not lifted.protected and not lifted.throwaway and lifted.environment == "qa"
    assert guard.guarded(protection.effective(qa, lifted)) and not protection.effective(dev, None).throwaway
