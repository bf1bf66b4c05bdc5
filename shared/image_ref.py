"""A container image reference, taken apart: registry, repository, tag, digest; light to import (the
compute stack reads it at synthesis, the deploy tools when they resolve a tag to its digest)."""

from __future__ import annotations

import re
from dataclasses import dataclass

# <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag|@digest]
ECR = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(\.cn)?/"
    r"(?P<repo>[a-z0-9._/-]+?)([:@].*)?$"
)
ECR_PUBLIC_HOST = "public.ecr.aws"
DOCKER_HUB = "registry-1.docker.io"
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True)
class ImageRef:
    registry: str  # host[:port]
    repository: str
    tag: str | None
    digest: str | None  # sha256:<64 hex>

    @property
    def name(self) -> str:
        return f"{self.registry}/{self.repository}"

    def pinned(self, digest: str) -> str:
        """`<registry>/<repository>@<digest>`: exactly these bits, whatever the tag points to later."""
        return f"{self.name}@{digest}"


def parse(image: str) -> ImageRef:
    """Docker's rules: the first part is a registry when it has a '.' or ':' or is localhost."""
    rest, _, digest = image.partition("@")
    first, slash, remainder = rest.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        registry, path = first, remainder
    else:
        registry, path = DOCKER_HUB, rest if "/" in rest else f"library/{rest}"
    repository, tag = path.rsplit(":", 1) if ":" in path.rsplit("/", 1)[-1] else (path, None)
    if digest and not _DIGEST.match(digest):
        raise ValueError(f"{image}: {digest!r} is not a sha256 digest")
    return ImageRef(registry, repository, tag or (None if digest else "latest"), digest or None)
