"""The synthesis output folder: scratch folders of syntheses that died are removed, live ones stay."""

from __future__ import annotations

import os
import subprocess
import sys

from shared.workdirs import remove_abandoned_scratch, scratch_prefix


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid names no process now (reuse within this test is not a concern)
    return child.pid


def test_the_scratch_of_a_synthesis_that_died_is_removed(tmp_path):
    abandoned = tmp_path / f".synth-{_dead_pid()}-k3x9a1"
    (abandoned / "stacks/network-dev").mkdir(parents=True)
    remove_abandoned_scratch(tmp_path)
    assert not abandoned.exists()


def test_the_scratch_of_a_running_synthesis_stays(tmp_path):
    ours = tmp_path / f"{scratch_prefix()}abc123"  # this process: alive
    ours.mkdir()
    other_user = tmp_path / ".synth-1-abc123"  # pid 1 is alive; signalling it may not be ours to do
    other_user.mkdir()
    remove_abandoned_scratch(tmp_path)
    assert ours.is_dir() and other_user.is_dir()


def test_nothing_but_a_scratch_folder_is_touched(tmp_path):
    pid = _dead_pid()
    (tmp_path / "stacks").mkdir()
    (tmp_path / f".synth-{pid}-x").write_text("a file, not a scratch folder")
    (tmp_path / ".synth-abc").mkdir()  # no pid in its name: not ours to judge
    remove_abandoned_scratch(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([".synth-abc", f".synth-{pid}-x", "stacks"])


def test_a_scratch_folder_named_as_a_synthesis_names_it_is_removed_once_its_process_is_gone(tmp_path, monkeypatch):
    # The two ends agree: the name a synthesis gives its scratch folder is one the sweep can judge.
    dead = _dead_pid()
    monkeypatch.setattr(os, "getpid", lambda: dead)
    left = tmp_path / f"{scratch_prefix()}q1w2e3"
    left.mkdir()
    monkeypatch.undo()
    remove_abandoned_scratch(tmp_path)
    assert not left.exists()
