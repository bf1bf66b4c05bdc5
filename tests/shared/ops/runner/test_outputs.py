"""outputs/<env>.json: every stack's outputs, keyed by stack, read from the states."""

from __future__ import annotations

import json


def test_outputs_file_has_every_stacks_outputs_keyed_by_stack(engine, dev, run, tmp_path):
    run("deploy", dev)
    (tmp_path / "outputs/dev.json").unlink()
    assert run("outputs", dev) == 0
    outputs = json.loads((tmp_path / "outputs/dev.json").read_text())
    assert sorted(outputs) == ["compute", "data", "monitoring", "network"]
    assert outputs["network"]["vpc_id"] == "network-dev:vpc_id"
    assert outputs["data"]["kinesis_stream_name"] == "data-dev:kinesis_stream_name"
    assert outputs["compute"]["ecs_cluster_name"] == "compute-dev:ecs_cluster_name"
    assert not any(k.startswith("cross-stack-output-") for v in outputs.values() for k in v)
