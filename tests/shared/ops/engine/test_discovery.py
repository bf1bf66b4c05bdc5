"""Which engine runs: TF_BIN, else terraform, else tofu on PATH; a version before 1.11 or none at all refused,
saying what to install."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.errors import UsageError
from shared.ops.engine.discovery import find_engine


def fake(directory: Path, name: str, version: str | None) -> Path:
    """An executable that answers `version -json` like the engine (or with nothing when version is None)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    answer = json.dumps({"terraform_version": version}) if version else "not json"
    path.write_text(f"#!/bin/sh\necho '{answer}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def only(tmp_path, monkeypatch):
    """PATH holds just the folder this returns (and what /bin offers the scripts)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    monkeypatch.setenv("PATH", f"{folder}:/bin:/usr/bin")
    monkeypatch.delenv("TF_BIN", raising=False)
    return folder


def test_terraform_is_preferred_and_tofu_serves_without_it(only):
    fake(only, "tofu", "1.11.0")
    assert find_engine().name == "tofu"
    fake(only, "terraform", "1.11.4")
    found = find_engine()
    assert (found.name, found.version) == ("terraform", "1.11.4")


def test_tf_bin_names_the_engine_and_a_wrong_one_is_refused(only, tmp_path, monkeypatch):
    fake(only, "terraform", "1.11.4")
    mine = fake(tmp_path / "elsewhere", "my-engine", "1.12.0")
    monkeypatch.setenv("TF_BIN", str(mine))
    assert find_engine().binary == str(mine)
    monkeypatch.setenv("TF_BIN", str(tmp_path / "nothing-here"))
    with pytest.raises(UsageError, match="is not an executable.*install Terraform 1.11 or newer"):
        find_engine()


@pytest.mark.parametrize("version", ["1.10.5", "0.15.0", None])
def test_an_old_engine_or_one_that_does_not_say_its_version_is_refused(only, version):
    fake(only, "terraform", version)
    with pytest.raises(UsageError, match="1.11 or newer|did not report its version"):
        find_engine()


def test_no_engine_at_all_says_what_to_install(only):
    with pytest.raises(UsageError, match="no deploy engine found.*OpenTofu 1.11 or newer"):
        find_engine()
