"""Image references taken apart as Docker does."""

from __future__ import annotations

import pytest

from shared.image_ref import DOCKER_HUB, parse

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("image", "registry", "repository", "tag", "digest"),
    [
        ("public.ecr.aws/streamflix/video-worker:1.0.0", "public.ecr.aws", "streamflix/video-worker", "1.0.0", None),
        (
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/video/worker:2.3.1",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com",
            "video/worker",
            "2.3.1",
            None,
        ),
        ("nginx", DOCKER_HUB, "library/nginx", "latest", None),
        ("team/app", DOCKER_HUB, "team/app", "latest", None),
        ("localhost:5000/a/b:c", "localhost:5000", "a/b", "c", None),
        (f"ghcr.io/o/r@{DIGEST}", "ghcr.io", "o/r", None, DIGEST),
    ],
)
def test_a_reference_is_registry_repository_tag_and_digest(image, registry, repository, tag, digest):
    ref = parse(image)
    assert (ref.registry, ref.repository, ref.tag, ref.digest) == (registry, repository, tag, digest)


def test_a_pinned_reference_drops_the_tag():
    assert parse("public.ecr.aws/streamflix/video-worker:1.0.0").pinned(DIGEST) == (
        f"public.ecr.aws/streamflix/video-worker@{DIGEST}"
    )


def test_a_digest_that_is_not_sha256_is_refused():
    with pytest.raises(ValueError, match="is not a sha256 digest"):
        parse("ghcr.io/o/r@md5:abc")
