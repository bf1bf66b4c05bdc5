"""The committed provider lock: copied in before init, what init adds merged back, read-only in CI."""

from __future__ import annotations

import pytest

from shared.config import load_environment
from shared.ops.engine import provider_pins
from shared.ops.runner import run as runner
from tests.support.exit_code import exit_code

AWS = (
    'provider "registry.terraform.io/hashicorp/aws" {\n  version     = "6.25.0"\n  hashes = [\n    "h1:aaa=",\n  ]\n}\n'
)
RANDOM = (
    'provider "registry.terraform.io/hashicorp/random" {\n  version = "3.7.2"\n  hashes = [\n    "h1:bbb=",\n  ]\n}\n'
)


def test_one_lock_for_the_real_environments_and_one_per_emulator_environment(tmp_path):
    assert provider_pins.committed(load_environment("dev"), tmp_path) == tmp_path / ".terraform.lock.hcl"
    assert provider_pins.committed(load_environment("prod"), tmp_path) == tmp_path / ".terraform.lock.hcl"
    assert (
        provider_pins.committed(load_environment("local"), tmp_path)
        == tmp_path / "environments/local.terraform.lock.hcl"
    )


def test_what_init_adds_is_merged_back_once(tmp_path):
    lock = tmp_path / ".terraform.lock.hcl"
    network, data = tmp_path / "network", tmp_path / "data"
    network.mkdir(), data.mkdir()
    (network / ".terraform.lock.hcl").write_text(AWS)  # a stack with fewer providers drops the others
    (data / ".terraform.lock.hcl").write_text(AWS + "\n" + RANDOM)
    assert provider_pins.collect(lock, [network, data]) is True
    assert set(provider_pins.blocks(lock.read_text())) == {
        "registry.terraform.io/hashicorp/aws",
        "registry.terraform.io/hashicorp/random",
    }
    assert provider_pins.collect(lock, [network, data]) is False  # nothing new: the file is left alone
    assert provider_pins.collect(lock, [network]) is False  # network's smaller file removes nothing


@pytest.mark.parametrize(
    ("ci", "committed", "readonly"), [("true", True, True), ("true", False, False), (None, True, False)]
)
def test_ci_never_changes_the_committed_pins(
    engine, state_buckets, tmp_path, monkeypatch, capsys, ci, committed, readonly
):
    monkeypatch.setattr(provider_pins, "ROOT", tmp_path)
    monkeypatch.setattr(provider_pins, "_WARNED", set())
    if committed:
        (tmp_path / ".terraform.lock.hcl").write_text(AWS)
    if ci:
        monkeypatch.setenv("CI", ci)
    else:
        monkeypatch.delenv("CI", raising=False)
    assert (
        exit_code(runner.perform, "plan", load_environment("dev"), stack_names="network", outdir=tmp_path / "out") == 0
    )
    (init,) = [args for cmd, _, args in engine.calls() if cmd == "init"]
    assert ("-lockfile=readonly" in init) is readonly
    if committed:  # copied where init reads it
        assert (tmp_path / "out/stacks/network-dev/.terraform.lock.hcl").read_text() == AWS
    # CI says when it runs without pins, once; a developer's first init is how the pins come to be.
    warned = capsys.readouterr().err.count("warning: no committed provider pins (.terraform.lock.hcl")
    assert warned == (1 if ci and not committed else 0)


def test_provider_versions_come_from_the_lock_file(tmp_path):
    (tmp_path / ".terraform.lock.hcl").write_text(
        'provider "registry.terraform.io/hashicorp/aws" {\n  version     = "5.100.0"\n  hashes = []\n}\n'
        'provider "registry.terraform.io/hashicorp/random" {\n  version = "3.7.2"\n}\n'
    )
    assert provider_pins.versions(tmp_path) == {"hashicorp/aws": "5.100.0", "hashicorp/random": "3.7.2"}
    assert provider_pins.versions(tmp_path / "nowhere") == {}
