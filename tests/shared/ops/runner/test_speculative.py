"""Speculative plans: what a consumer reads that its producer's state lacks, and placeholders of the right shape."""

from __future__ import annotations

import json

from shared.config import load_environment
from shared.ops.runner import speculative


def test_a_consumer_names_its_producers_and_what_each_lacks(synth):
    workdir = synth.outdir / "stacks" / "compute-dev"
    assert sorted(speculative.producers(workdir)) == ["data-dev", "network-dev"]
    missing = speculative.missing_reads(workdir, {"network-dev": None, "data-dev": {}})
    described = sorted(m.describe() for m in missing.values())
    assert described[1] == "network-dev not deployed" and described[0].startswith("data-dev lacks ")
    assert speculative.missing_reads(workdir, {"network-dev": None, "data-dev": None}).keys() == missing.keys()


def test_placeholders_have_the_shape_the_provider_checks_at_plan_time():
    assert speculative.placeholder("queue_arn", "eu-west-1") == "arn:aws:placeholder:eu-west-1:000000000000:queue_arn"
    assert speculative.placeholder("dlq_url", "eu-west-1").startswith("https://placeholder.eu-west-1.amazonaws.com/")
    assert speculative.placeholder("subnet_availability_zone", "eu-west-1") == "eu-west-1a"


def test_the_copy_reads_placeholders_from_a_local_state_and_leaves_the_stack_alone(synth, tmp_path):
    import shutil

    workdir = tmp_path / "compute-dev"
    shutil.copytree(synth.outdir / "stacks" / "compute-dev", workdir)
    before = (workdir / "cdk.tf.json").read_text()
    missing = speculative.missing_reads(workdir, {"network-dev": None, "data-dev": None})
    folder = speculative.stand_in_workdir(load_environment("dev"), workdir, missing)
    assert (workdir / "cdk.tf.json").read_text() == before
    sources = json.loads((folder / "cdk.tf.json").read_text())["data"]["terraform_remote_state"]
    assert {s["backend"] for s in sources.values()} == {"local"}
