"""A stack's fingerprint now: its JSON, pins, engine and providers, and the producer outputs it reads."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from shared.ops.engine.process import Engine
from shared.ops.runner import fingerprinting
from shared.ops.runner.speculative import reads
from shared.ops.state_bucket import fingerprint
from tests.support.fingerprints import ENGINE, put_state, stack


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


def test_a_stack_that_reads_nothing_is_its_json_pins_engine_and_providers(dev, synth, tmp_path):
    network = stack(synth, tmp_path, "network")
    first = fingerprinting.compute(dev, network, ENGINE)
    assert set(first.parts) == {"stack_json", "provider_pins", "engine", "providers", "reads"}
    assert first.parts["reads"] == {} and first.parts["engine"] == "terraform 1.11.4"
    assert fingerprinting.compute(dev, network, ENGINE).digest == first.digest  # deterministic
    assert fingerprinting.compute(dev, network, Engine("/usr/bin/terraform", "1.11.5")).digest != first.digest


def test_a_consumer_is_not_fingerprinted_until_its_producers_have_state(dev, synth, tmp_path):
    data = stack(synth, tmp_path, "data")
    with pytest.raises(fingerprint.Unreadable, match="network-dev has no state"):
        fingerprinting.compute(dev, data, ENGINE)
    doc = json.loads((data.workdir / "cdk.tf.json").read_text())
    read = sorted(next(iter(reads(doc).values()))[1])
    put_state(dev, "network", {name: "a" for name in read})
    before = fingerprinting.compute(dev, data, ENGINE)
    put_state(dev, "network", {**{name: "a" for name in read}, "not-read-here": "x"})
    assert fingerprinting.compute(dev, data, ENGINE).digest == before.digest  # only what it reads counts
    put_state(dev, "network", {**{name: "a" for name in read}, read[0]: "b"})
    assert fingerprinting.compute(dev, data, ENGINE).digest != before.digest
