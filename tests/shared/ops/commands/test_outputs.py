"""`make outputs NAME=`: one value alone on stdout, for a script; a name that is not there says what is."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands import outputs as command
from shared.ops.commands.outputs import outputs, pick
from shared.ops.runner import run as runner

HELD = {
    "data": {"dlq_url": "https://sqs/dlq", "stream_arn": "arn:stream", "shards": 2},
    "network": {"vpc_id": "vpc-1", "private_subnet_ids": ["subnet-1", "subnet-2"]},
    "compute": {"vpc_id": "vpc-1"},
}


def test_a_stack_and_output_or_an_output_only_one_stack_has():
    assert pick(HELD, "data.dlq_url", "dev") == "https://sqs/dlq"
    assert pick(HELD, "stream_arn", "dev") == "arn:stream"
    assert pick(HELD, "network.private_subnet_ids", "dev") == ["subnet-1", "subnet-2"]


def test_an_output_two_stacks_have_must_be_named_with_its_stack():
    with pytest.raises(UsageError, match=r"NAME=vpc_id is an output of network.vpc_id, compute.vpc_id: name one"):
        pick(HELD, "vpc_id", "dev")


def test_a_misspelt_name_gets_the_closest_and_the_list():
    with pytest.raises(UsageError, match=r"no such output of dev; did you mean data.dlq_url.*known: compute.vpc_id"):
        pick(HELD, "data.dql_url", "dev")
    with pytest.raises(UsageError, match="known: none: nothing of dev is deployed"):
        pick({}, "dlq_url", "dev")


def test_the_value_alone_reaches_stdout(engine, state_buckets, tmp_path, presynthesized, capsys, monkeypatch):
    dev = load_environment("dev")
    paths = {"outdir": presynthesized(tmp_path / "cdktf.out"), "outputs_dir": tmp_path / "outputs"}
    runner.perform("deploy", dev, **paths)
    capsys.readouterr()
    written = json.loads((tmp_path / "outputs" / "dev.json").read_text())
    url = written["data"]["dlq_url"]
    outputs(dev, name="data.dlq_url", **paths)
    captured = capsys.readouterr()
    assert captured.out == f"{url}\n"  # `wrote ...` and the engine line went to stderr
    assert "wrote" in captured.err
    # Anything but a string as JSON (the stand-in's outputs are strings: one is made a list here).
    written["network"]["private_subnet_ids"] = ["subnet-1", "subnet-2"]
    (tmp_path / "outputs" / "dev.json").write_text(json.dumps(written))
    monkeypatch.setattr(command, "perform", lambda *a, **kw: print("wrote outputs/dev.json"))
    outputs(dev, name="network.private_subnet_ids", **paths)
    assert capsys.readouterr().out == '["subnet-1", "subnet-2"]\n'


def test_an_empty_name_is_refused_rather_than_printing_everything(state_buckets):
    with pytest.raises(UsageError, match="NAME= is empty"):
        outputs(load_environment("dev"), name=" ")
