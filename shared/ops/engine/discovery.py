"""Which engine runs: `terraform` (1.11+) or OpenTofu's `tofu` (1.11+), found through TF_BIN or on PATH,
its version checked before anything else happens."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

from shared.contract import ENGINE_FLOOR
from shared.errors import UsageError
from shared.ops.engine import log as engine_log
from shared.ops.engine.process import Engine
from shared.options import current

MINIMUM = ENGINE_FLOOR
INSTALL_HINT = (
    "install Terraform 1.11 or newer (https://developer.hashicorp.com/terraform/install) or "
    "OpenTofu 1.11 or newer (https://opentofu.org/docs/intro/install/), or set TF_BIN to its path"
)


def _parse_version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else None


def find_engine() -> Engine:
    """TF_BIN if set, else `terraform`, else `tofu` on PATH; refuse anything older than 1.11."""
    explicit = current().engine_binary
    if explicit:
        binary = shutil.which(explicit)
        if not binary:
            raise UsageError(f"TF_BIN={explicit} is not an executable; {INSTALL_HINT}")
    else:
        binary = shutil.which("terraform") or shutil.which("tofu")
        if not binary:
            raise UsageError(f"no deploy engine found (neither terraform nor tofu is on PATH): {INSTALL_HINT}")
    proc = subprocess.run(
        [binary, "version", "-json"],
        env=engine_log.CURRENT.environment(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        version = json.loads(proc.stdout)["terraform_version"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(
            f"{binary} did not report its version (exit {proc.returncode}): {proc.stderr.strip()}"
        ) from None
    parsed = _parse_version(version)
    if parsed is None or parsed < MINIMUM:
        raise UsageError(
            f"{binary} is version {version}; 1.11 or newer is needed (write-only arguments keep the database "
            f"password out of state): {INSTALL_HINT}"
        )
    return Engine(binary, version)
