"""The worker image a deploy runs, exactly: its tag resolved to a digest, so that a tag pushed again can
neither run other bits under the same release record nor go unnoticed (the digest is in the task
definition, so the stack's fingerprint changes with it).

Private ECR through ecr:DescribeImages, ECR Public through ecr-public:DescribeImages, any other registry
through its manifest API (the Docker registry HTTP API, anonymous token where it asks for one); an image
given as name@sha256:... is taken as it is. `make synth`, `make check` and `make test` never come here.
"""

from __future__ import annotations

import json
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from shared.config import EnvironmentConfig
from shared.emulator_quirks import lacks
from shared.errors import UsageError
from shared.image_ref import ECR, ECR_PUBLIC_HOST, ImageRef, parse
from shared.ops.aws import client

_MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
_NOT_FOUND = ("ImageNotFoundException", "RepositoryNotFoundException")


@dataclass(frozen=True)
class Resolved:
    configured: str  # as compute.image says (a tag, usually)
    digest: str = ""  # sha256:...; "" when it could not be resolved
    why: str = ""  # why not

    @property
    def reference(self) -> str:
        """What the task definition runs: name@digest when resolved, else the configured value."""
        return parse(self.configured).pinned(self.digest) if self.digest else self.configured


class _NotOurs(Exception):
    """An ECR Public repository of another account: its registry API answers for it instead."""


class NotFound(UsageError):
    """The registry says there is no such image: nothing can be deployed with it."""


def _aws_digest(env: EnvironmentConfig, ref: ImageRef) -> str:
    ecr = ECR.match(ref.name)
    if ecr:
        api = client("ecr", env, region=ecr["region"])
        kwargs = {"registryId": ecr["account"], "repositoryName": ecr["repo"]}
    else:  # ECR Public: one global API, in us-east-1
        api = client("ecr-public", env, region="us-east-1")
        kwargs = {"repositoryName": ref.repository.split("/", 1)[-1]}
    try:
        found = api.describe_images(**kwargs, imageIds=[{"imageTag": ref.tag}])["imageDetails"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if not ecr and code == "RepositoryNotFoundException":
            raise _NotOurs from None  # ECR Public describes only this account's repositories
        if code in _NOT_FOUND:
            raise NotFound(
                f"compute.image {ref.name}:{ref.tag} cannot be found ({code}): push it, or fix the "
                "image in the environment file; nothing was changed"
            ) from None
        raise LookupError(_answered(api.meta.endpoint_url, exc)) from None
    except BotoCoreError as exc:
        raise LookupError(f"asked {api.meta.endpoint_url}: {one_line(str(exc))}") from None
    if not found or not found[0].get("imageDigest"):
        raise NotFound(f"compute.image {ref.name}:{ref.tag} cannot be found: push it; nothing was changed")
    return found[0]["imageDigest"]


def _registry_digest(ref: ImageRef, timeout: float = 10) -> str:
    url = f"https://{ref.registry}/v2/{ref.repository}/manifests/{ref.tag}"
    headers = {"Accept": _MANIFESTS}

    def head(extra: dict) -> urllib.response.addinfourl:
        return urllib.request.urlopen(
            urllib.request.Request(url, method="HEAD", headers={**headers, **extra}), timeout=timeout
        )

    try:
        try:
            response = head({})
        except urllib.error.HTTPError as exc:
            if exc.code != 401 or "Bearer" not in exc.headers.get("WWW-Authenticate", ""):
                raise
            # Bearer realm="https://...",service="...",scope="repository:<name>:pull" (a scope may hold commas)
            params = dict(re.findall(r'(\w+)="([^"]*)"', exc.headers["WWW-Authenticate"]))
            realm = params.pop("realm")
            with urllib.request.urlopen(f"{realm}?{urllib.parse.urlencode(params)}", timeout=timeout) as answer:
                token = json.loads(answer.read()).get("token", "")
            response = head({"Authorization": f"Bearer {token}"})
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise NotFound(
                f"compute.image {ref.name}:{ref.tag} cannot be found (HTTP 404 from {ref.registry}): "
                "push it, or fix the image in the environment file; nothing was changed"
            ) from None
        raise LookupError(f"asked {ref.registry}: HTTP {exc.code} {one_line(str(exc.reason))}") from None
    except (OSError, ValueError, KeyError) as exc:
        raise LookupError(f"{ref.registry} did not answer: {one_line(str(exc))}") from None
    digest = response.headers.get("Docker-Content-Digest", "")
    if not digest.startswith("sha256:"):
        raise LookupError(f"{ref.registry} gave no Docker-Content-Digest")
    return digest


def one_line(text: str, limit: int = 120) -> str:
    """An answer in one short line: an HTML error page is reduced to its words (its title comes first)."""
    words = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return words if len(words) <= limit else words[: limit - 3] + "..."


def _answered(endpoint: str, exc: ClientError) -> str:
    """`asked <endpoint>: HTTP 500 <code>: <reason>`: which service was asked and what it answered."""
    error, status = exc.response.get("Error", {}), exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code, message = error.get("Code", ""), one_line(str(error.get("Message") or exc))
    message = message.removeprefix(f"{status} ")  # an error page's title repeats the status
    said = ": ".join(filter(None, (code if code != str(status) else "", message)))
    return f"asked {endpoint}: HTTP {status or '?'} {said}".rstrip()


def resolve(env: EnvironmentConfig, image: str) -> Resolved:
    """The configured image and its digest. Raises NotFound (exit 2) when the registry says it does not
    exist; a digest that cannot be found out for another reason is `why` (the caller decides)."""
    ref = parse(image)
    if ref.digest:
        return Resolved(image, ref.digest)
    try:
        if ECR.match(ref.name):
            return Resolved(image, _aws_digest(env, ref))
        if ref.registry == ECR_PUBLIC_HOST and env.emulated and (gap := lacks("ecr-public")):
            return Resolved(image, why=f"the emulator at {env.aws.endpoint} {gap.answer.split(':')[0]}, a known gap")
        if ref.registry == ECR_PUBLIC_HOST:
            try:
                return Resolved(image, _aws_digest(env, ref))
            except _NotOurs:
                pass
        if env.emulated:  # an emulated environment sends nothing off this machine
            return Resolved(image, why=f"an emulated environment asks no registry but its emulator ({ref.registry})")
        return Resolved(image, _registry_digest(ref))
    except LookupError as exc:
        return Resolved(image, why=str(exc))


def for_deploy(env: EnvironmentConfig) -> tuple[EnvironmentConfig, Resolved]:
    """The environment with its image pinned to a digest, for one deploy (or plan, or drift: they must see
    what a deploy would run). A protected environment refuses an image whose digest cannot be resolved;
    any other warns and uses the tag."""
    resolved = resolve(env, env.compute.image)
    if not resolved.digest:
        if env.protected:
            raise UsageError(
                f"{env.suffix} is protected and runs images by digest only, but the digest of compute.image "
                f"{resolved.configured} cannot be resolved ({resolved.why}). Give it as name@sha256:..., or let "
                "this machine reach the registry; nothing was changed"
            )
        print(
            f"warning: compute.image {resolved.configured} runs by its tag: its digest cannot be resolved "
            f"({resolved.why})",
            file=sys.stderr,
        )
        return env, resolved
    pinned = env.compute.model_copy(update={"image": resolved.reference})
    return env.model_copy(update={"compute": pinned}), resolved
