"""The deploy engine: `terraform` (1.10+) or OpenTofu's `tofu`, found through TF_BIN or on PATH."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from shared.errors import UsageError

MINIMUM = (1, 10)  # S3-native state locking (use_lockfile) arrived in 1.10 for both engines
INSTALL_HINT = (
    "install Terraform 1.10 or newer (https://developer.hashicorp.com/terraform/install) or "
    "OpenTofu 1.10 or newer (https://opentofu.org/docs/intro/install/), or set TF_BIN to its path"
)


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str  # the whole output when captured, else its last lines (what an error summary needs)


@dataclass(frozen=True)
class Engine:
    binary: str
    version: str

    def _env(self) -> dict[str, str]:
        # Non-interactive, machine-readable behaviour; the engine's own output is still shown.
        return dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0")

    def run(self, args: list[str], cwd: Path) -> Result:
        """Run the engine, streaming its output to ours; keep the tail for error summaries."""
        proc = subprocess.Popen(
            [self.binary, *args], cwd=cwd, env=self._env(), stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, bufsize=1,
        )  # fmt: skip
        tail: deque[str] = deque(maxlen=40)
        assert proc.stdout is not None
        for line in proc.stdout:
            tail.append(line)
            sys.stdout.write(line)
            sys.stdout.flush()
        return Result(proc.wait(), "".join(tail))

    def capture(self, args: list[str], cwd: Path) -> Result:
        """Run the engine for its machine-readable stdout (show -json, output -json)."""
        proc = subprocess.run(
            [self.binary, *args], cwd=cwd, env=self._env(), capture_output=True, text=True, check=False
        )
        return Result(proc.returncode, proc.stdout if proc.returncode == 0 else proc.stderr + proc.stdout)


def _parse_version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else None


def find_engine() -> Engine:
    """TF_BIN if set, else `terraform`, else `tofu` on PATH; refuse anything older than 1.10."""
    explicit = os.environ.get("TF_BIN")
    if explicit:
        binary = shutil.which(explicit)
        if not binary:
            raise UsageError(f"TF_BIN={explicit} is not an executable; {INSTALL_HINT}")
    else:
        binary = shutil.which("terraform") or shutil.which("tofu")
        if not binary:
            raise UsageError(f"no deploy engine found (neither terraform nor tofu is on PATH): {INSTALL_HINT}")
    proc = subprocess.run([binary, "version", "-json"], capture_output=True, text=True, check=False)
    try:
        version = json.loads(proc.stdout)["terraform_version"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(
            f"{binary} did not report its version (exit {proc.returncode}): {proc.stderr.strip()}"
        ) from None
    parsed = _parse_version(version)
    if parsed is None or parsed < MINIMUM:
        raise UsageError(f"{binary} is version {version}; 1.10 or newer is needed: {INSTALL_HINT}")
    return Engine(binary, version)
