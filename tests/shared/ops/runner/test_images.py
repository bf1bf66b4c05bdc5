"""Images by digest: a tag resolved to exactly the bits it names now; what cannot be resolved is said."""

from __future__ import annotations

import contextlib
import json

import boto3
import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.commands.releases import show as show_releases
from shared.ops.runner import images
from shared.ops.runner import run as runner
from shared.ops.state_bucket import releases
from tests.support.exit_code import exit_code
from tests.support.synthesized import variant

REPOSITORY = "123456789012.dkr.ecr.us-east-1.amazonaws.com/video/worker"
MEDIA = "application/vnd.docker.distribution.manifest.v2+json"


@pytest.fixture
def dev(state_buckets):
    return load_environment("dev")


def push(tag: str, layer: str) -> str:
    """An image in moto's ECR; returns its digest."""
    ecr = boto3.client("ecr", region_name="us-east-1")
    with contextlib.suppress(ecr.exceptions.RepositoryAlreadyExistsException):
        ecr.create_repository(repositoryName="video/worker")
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MEDIA, "layers": [{"digest": layer}]})
    ecr.put_image(repositoryName="video/worker", imageManifest=manifest, imageTag=tag, imageManifestMediaType=MEDIA)
    return ecr.describe_images(repositoryName="video/worker", imageIds=[{"imageTag": tag}])["imageDetails"][0][
        "imageDigest"
    ]


def test_an_ecr_tag_is_resolved_to_its_digest_and_a_push_to_the_same_tag_to_another(dev):
    first = push("2.3.1", "sha256:" + "1" * 64)
    resolved = images.resolve(dev, f"{REPOSITORY}:2.3.1")
    assert resolved.digest == first and resolved.reference == f"{REPOSITORY}@{first}"
    second = push("2.3.1", "sha256:" + "2" * 64)
    assert second != first and images.resolve(dev, f"{REPOSITORY}:2.3.1").digest == second


def test_an_image_that_cannot_be_found_stops_the_command(dev):
    push("2.3.1", "sha256:" + "1" * 64)
    with pytest.raises(images.NotFound, match=f"compute.image {REPOSITORY}:9.9.9 cannot be found"):
        images.resolve(dev, f"{REPOSITORY}:9.9.9")


def test_a_digest_given_is_taken_as_it_is(dev):
    pinned = f"ghcr.io/o/r@sha256:{'c' * 64}"
    assert images.resolve(dev, pinned).reference == pinned


def test_a_registry_that_does_not_answer_is_said_and_a_protected_environment_refuses(dev, capsys):
    # ECR Public describes only this account's repositories (moto none at all); its registry API is then
    # asked, and the tests reach no registry.
    resolved = images.resolve(dev, dev.compute.image)
    assert resolved.digest == "" and resolved.why
    env, kept = images.for_deploy(dev)
    assert env.compute.image == dev.compute.image and kept.why
    assert (
        "warning: compute.image public.ecr.aws/streamflix/video-worker:1.0.0 runs by its tag" in capsys.readouterr().err
    )
    with pytest.raises(UsageError, match="prod is protected and runs images by digest only"):
        images.for_deploy(load_environment("prod"))


def test_an_emulated_environment_asks_no_registry_off_the_machine(state_buckets):
    local = load_environment("local")
    assert "asks no registry but its emulator" in images.resolve(local, "ghcr.io/o/r:1").why


def test_an_answer_that_is_a_page_of_html_is_one_line_naming_who_was_asked(fresh_aws, monkeypatch, capsys):
    """moto has no ECR Public API: it answers HTTP 500 with an HTML page. A warning says which endpoint was
    asked and what it answered, in one line, never the page."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": fresh_aws,
    }.items():
        monkeypatch.setenv(name, value)
    dev = load_environment("dev")
    images.for_deploy(dev)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"warning: compute.image {dev.compute.image} runs by its tag: its digest cannot be resolved")
    assert f"asked {fresh_aws}: HTTP 500 Internal Server Error" in line, line
    assert "<" not in line and len(line) < 300, line


def test_an_emulated_environment_does_not_ask_for_what_its_emulator_lacks(state_buckets, capsys):
    local = load_environment("local")
    images.for_deploy(local)
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(f"(the emulator at {local.aws.endpoint} has no ECR Public API, a known gap)"), line


def test_one_line_keeps_the_words_of_a_page_and_cuts_them_short():
    page = "<html><head><title>500 Internal Server Error</title></head>\n<body><h1>Oops</h1>" + "x " * 200
    line = images.one_line(page)
    assert line.startswith("500 Internal Server Error Oops") and len(line) == 120 and line.endswith("...")


def test_a_deploy_runs_the_digest_and_records_it_beside_the_tag(engine, dev, tmp_path, presynthesized, capsys):
    digest = push("2.3.1", "sha256:" + "1" * 64)
    ecr = variant(dev, "dev", compute__image=f"{REPOSITORY}:2.3.1")
    outdir = presynthesized(tmp_path / "cdktf.out")
    assert exit_code(runner.perform, "deploy", ecr, outdir=outdir, outputs_dir=tmp_path / "outputs") == 0
    task = json.loads((outdir / "stacks/compute-dev/cdk.tf.json").read_text())["resource"]["aws_ecs_task_definition"]
    (container,) = json.loads(next(iter(task.values()))["container_definitions"])
    assert container["image"] == f"{REPOSITORY}@{digest}"
    release = releases.latest(ecr)
    assert (release.image, release.digest) == (f"{REPOSITORY}:2.3.1", digest)
    capsys.readouterr()
    assert exit_code(show_releases, [ecr]) == 0
    assert digest[:19] in capsys.readouterr().out
