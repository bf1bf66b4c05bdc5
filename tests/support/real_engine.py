"""What the end-to-end test needs from the machine: a real engine and the AWS provider, found offline."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from shared.ops.engine.providers import mirrored_providers

AWS = "registry.terraform.io/hashicorp/aws"

# Where providers are found without a registry: TF_PROVIDER_MIRROR first, then Terraform's implied
# local mirror directories (its CLI configuration docs), then where this project's machines keep one.
_CANDIDATES = (
    "~/.terraform.d/plugins",
    "~/.local/share/terraform/plugins",
    "/usr/local/share/terraform/plugins",
    "/usr/share/terraform/plugins",
    "/opt/tf-plugins",
)


def find_engine() -> str | None:
    explicit = os.environ.get("TF_BIN")
    return shutil.which(explicit) if explicit else shutil.which("terraform") or shutil.which("tofu")


def find_mirror(version: str) -> Path | None:
    """A filesystem mirror holding the AWS provider at `version`."""
    explicit = os.environ.get("TF_PROVIDER_MIRROR")
    for candidate in ([explicit] if explicit else []) + list(_CANDIDATES):
        path = Path(candidate).expanduser()
        if version in mirrored_providers(path).get(AWS, []):
            return path.resolve()
    return None


def missing(version: str) -> str | None:
    """What the end-to-end test lacks on this machine, in words; None when it has everything."""
    if find_engine() is None:
        return "no deploy engine: neither terraform nor tofu is on PATH, and TF_BIN is not set"
    if find_mirror(version) is None:
        return (
            f"no AWS provider {version}: set TF_PROVIDER_MIRROR to a filesystem mirror holding "
            f"{AWS}/{version} (looked in {', '.join(_CANDIDATES)})"
        )
    return None
