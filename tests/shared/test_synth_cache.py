"""The synthesis cache: an environment's stacks are reused only when nothing that decides them changed."""

from __future__ import annotations

import json

import pytest

from shared import synth_cache
from shared.paths import ROOT
from shared.synthesis import synthesize_if_changed
from tests.support.synthesized import variant


@pytest.fixture
def seeded(presynthesized, tmp_path):
    return presynthesized(tmp_path / "cdktf.out")


def test_a_synthesis_is_fresh_for_the_config_it_was_made_from(seeded, configs):
    for env in configs.values():
        assert synth_cache.is_fresh(env, seeded)
    stamp = json.loads((seeded / "stacks/data-dev" / synth_cache.STAMP).read_text())
    assert stamp["inputs"] == synth_cache.inputs_digest(configs["dev"])


def test_any_config_change_means_a_synthesis(seeded, configs):
    assert not synth_cache.is_fresh(variant(configs["dev"], "dev", compute__cpu=512, compute__memory=1024), seeded)
    assert not synth_cache.is_fresh(variant(configs["dev"], "pr-7"), seeded)  # a suffix copy: never synthesized


def test_a_json_edited_by_hand_is_synthesized_again(seeded, configs):
    path = seeded / "stacks/compute-dev/cdk.tf.json"
    path.write_text(path.read_text().replace("FARGATE", "EC2", 1))
    assert not synth_cache.is_fresh(configs["dev"], seeded)
    assert synth_cache.is_fresh(configs["staging"], seeded)  # other environments keep theirs


@pytest.mark.parametrize("damage", ["missing", "garbage", "list", "unlisted"])
def test_any_doubt_about_the_stamp_or_manifest_means_a_synthesis(seeded, configs, damage):
    stamp = seeded / "stacks/network-dev" / synth_cache.STAMP
    if damage == "missing":
        stamp.unlink()
    elif damage == "garbage":
        stamp.write_bytes(b"\xff{not json")
    elif damage == "list":
        stamp.write_text("[]")
    else:
        manifest = json.loads((seeded / "manifest.json").read_text())
        del manifest["stacks"]["network-dev"]
        (seeded / "manifest.json").write_text(json.dumps(manifest))
    assert not synth_cache.is_fresh(configs["dev"], seeded)


def test_a_code_change_means_a_synthesis(seeded, configs, monkeypatch, tmp_path):
    import shutil

    root = tmp_path / "checkout"
    for directory in synth_cache.SOURCE_DIRS:
        shutil.copytree(ROOT / directory, root / directory, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(synth_cache, "ROOT", root)
    synth_cache._code_digest.cache_clear()
    try:
        assert synth_cache.is_fresh(configs["dev"], seeded)  # same code elsewhere: same digest
        synth_cache._code_digest.cache_clear()
        with open(root / "stacks/compute.py", "a") as f:
            f.write("\n# a comment still counts: the cache never guesses\n")
        assert not synth_cache.is_fresh(configs["dev"], seeded)
    finally:
        synth_cache._code_digest.cache_clear()


def test_other_bindings_mean_a_synthesis(seeded, configs, monkeypatch):
    real = synth_cache.cdk.versions()
    aws = synth_cache.cdk.ACTIVE.distributions[1]
    monkeypatch.setattr(synth_cache.cdk, "versions", lambda: {**real, aws: "99.0.0"})
    synth_cache._code_digest.cache_clear()
    try:
        assert not synth_cache.is_fresh(configs["dev"], seeded)
    finally:
        synth_cache._code_digest.cache_clear()


def test_resynth_forces_a_synthesis(seeded, configs, monkeypatch):
    monkeypatch.setenv("STREAMFLIX_RESYNTH", "1")
    assert not synth_cache.is_fresh(configs["dev"], seeded)


def test_a_command_on_up_to_date_stacks_never_loads_the_bindings(seeded, configs, monkeypatch, capsys):
    import sys

    monkeypatch.delitem(sys.modules, "shared.app", raising=False)  # an import would bring it back
    assert synthesize_if_changed(configs["dev"], seeded) == seeded.resolve()
    assert "shared.app" not in sys.modules
    out = capsys.readouterr().out
    assert out.startswith("dev: the synthesized stacks in") and "up to date (synthesis skipped)" in out


def test_a_stale_environment_is_synthesized_and_stamped_again(seeded, configs, capsys):
    (seeded / "stacks/monitoring-staging" / synth_cache.STAMP).unlink()
    synthesize_if_changed(configs["staging"], seeded)
    assert "synthesis skipped" not in capsys.readouterr().out
    assert synth_cache.is_fresh(configs["staging"], seeded)
