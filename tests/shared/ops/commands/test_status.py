"""`make status`: each stack, what it depends on, its last apply, and what changed since, from the fingerprints."""

from __future__ import annotations

import re
from dataclasses import replace

from shared.config import load_environment
from shared.ops.commands.status import changed, status
from shared.ops.runner import run as runner
from shared.ops.state_bucket import fingerprint
from shared.ops.state_bucket.fingerprint import Fingerprint


def test_what_changed_is_named_by_part():
    parts = {
        "stack_json": "1",
        "provider_pins": "2",
        "engine": "terraform 1.11.4",
        "providers": {},
        "reads": {"a": "3"},
    }
    applied = Fingerprint("d1", parts, "abc", "2026-12-01T00:00:00Z")
    assert changed(applied, applied) == "unchanged (a deploy skips it)"
    now = Fingerprint("d2", {**parts, "stack_json": "9", "reads": {"a": "4"}})
    assert changed(applied, now) == "changed: its code, what it reads of its producers"
    assert changed(None, now) == "-"
    assert changed(applied, None, "network has no state") == "cannot tell: network has no state"


def test_status_of_a_deployed_environment(engine, state_buckets, tmp_path, presynthesized, capsys):
    if not engine.served:
        import pytest

        pytest.skip("the stand-in run as a process writes no state objects to moto")
    dev = load_environment("dev")
    outdir = presynthesized(tmp_path / "cdktf.out")
    runner.perform("deploy", dev, outdir=outdir, outputs_dir=tmp_path / "outputs")
    held = fingerprint.recorded(dev, "data")
    fingerprint.record(dev, "data", replace(held, digest="old", parts={**held.parts, "stack_json": "old"}), "f" * 40)
    fingerprint.forget(dev, "monitoring")
    capsys.readouterr()
    status(dev, outdir=outdir)
    out = capsys.readouterr().out
    assert re.search(r"network-dev +- +\S+ \S+ +unchanged \(a deploy skips it\)", out), out
    assert re.search(r"data-dev +network-dev +ffffffffffff \S+ +changed: its code", out), out
    assert re.search(r"compute-dev +network-dev, data-dev +\S+ \S+ +unchanged", out), out
    assert re.search(r"monitoring-dev +.*\(no record: never applied, or before fingerprints\) +-", out), out
    assert "planning" not in out  # nothing is planned
