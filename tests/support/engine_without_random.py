"""TF_BIN for the end-to-end test on a machine without the random provider: the real engine, after
one substitution in the stack's own copy of the synthesized JSON.

Each `random_password` becomes a `terraform_data` whose output is a fixed, per-stack password, and
the random provider's blocks are dropped; everything else runs exactly as synthesized. Then the
real engine (E2E_REAL_TF_BIN) replaces this process, so signals, output and exit codes are its own.
It says what it replaced, once per working directory.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path


def substitute(doc: dict, stack: str) -> list[str]:
    """Replace random_password resources in `doc` (in place). Returns the replaced addresses."""
    passwords = doc.get("resource", {}).pop("random_password", None)
    if not passwords:
        return []
    data = doc["resource"].setdefault("terraform_data", {})
    for name in passwords:
        # Stable across runs (a second plan must be empty), distinct per stack, never a real secret.
        digest = hashlib.sha256(f"{stack}/{name}".encode()).hexdigest()[:24]
        data[name] = {"input": f"E2e{digest}!"}
    doc.get("terraform", {}).get("required_providers", {}).pop("random", None)
    doc.get("provider", {}).pop("random", None)
    return [f"random_password.{name}" for name in passwords]


def patch(workdir: Path) -> list[str]:
    path = workdir / "cdk.tf.json"
    if not path.is_file():
        return []
    doc = json.loads(path.read_text())
    replaced = substitute(doc, workdir.name)
    if not replaced:
        return []
    text = json.dumps(doc, indent=2)
    for address in replaced:
        name = address.split(".", 1)[1]
        text = re.sub(rf"\brandom_password\.{re.escape(name)}\.result\b", f"terraform_data.{name}.output", text)
    path.write_text(text)
    return replaced


def main(argv: list[str]) -> None:
    real = os.environ["E2E_REAL_TF_BIN"]
    replaced = patch(Path.cwd())
    if replaced:
        print(f"e2e: no random provider on this machine: replaced {', '.join(replaced)} with terraform_data "
              f"in {Path.cwd().name}'s copy of the synthesized JSON", file=sys.stderr, flush=True)  # fmt: skip
    os.execv(real, [real, *argv])


if __name__ == "__main__":
    main(sys.argv[1:])
