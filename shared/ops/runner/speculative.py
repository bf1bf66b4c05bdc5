"""Plans of stacks whose producers are not deployed yet: a new environment, or a change that adds a
cross-stack read (raising data.aurora.instances reads one more subnet's zone).

`defaults` on a terraform_remote_state does not help when the producer's state does not exist (the
engine fails with "Unable to find remote state"), so the consumer is planned in a copy of its working
directory (`<workdir>/.speculative/`) whose remote-state reads of that producer come from a generated
local state holding placeholder values. Such a plan is marked speculative in the summary, its plan
file is removed at once, and deploy never uses this: it always plans against real state.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import EnvironmentConfig

INPUT_PREFIX = "cross-stack-reference-input-"  # CDKTF's name for a consumer's read of a producer
FOLDER = ".speculative"


@dataclass
class Missing:
    """What a consumer reads of one producer that the producer's state does not have (yet)."""

    producer: str  # stack id
    deployed: bool
    present: dict[str, object] = field(default_factory=dict)  # outputs the state has
    missing: set[str] = field(default_factory=set)

    def describe(self) -> str:
        if not self.deployed:
            return f"{self.producer} not deployed"
        return f"{self.producer} lacks {len(self.missing)} output(s) read here"


def reads(doc: dict) -> dict[str, tuple[dict, set[str]]]:
    """Remote-state data source name -> (its config, the output names the stack reads through it)."""
    text = json.dumps(doc)
    found = {}
    for name, source in doc.get("data", {}).get("terraform_remote_state", {}).items():
        if name.startswith(INPUT_PREFIX) and source.get("backend") == "s3":
            outputs = set(re.findall(rf"data\.terraform_remote_state\.{re.escape(name)}\.outputs\.([\w-]+)", text))
            found[name] = (source["config"], outputs)
    return found


def producers(workdir: Path) -> list[str]:
    """Stack ids whose state this stack reads."""
    doc = json.loads((workdir / "cdk.tf.json").read_text())
    return [name.removeprefix(INPUT_PREFIX) for name in reads(doc)]


def missing_reads(workdir: Path, state_outputs: dict[str, dict | None]) -> dict[str, Missing]:
    """Per remote-state read of the stack: what its producer's state lacks. `state_outputs` holds each
    producer's outputs as the engine reports them (None: no state)."""
    doc = json.loads((workdir / "cdk.tf.json").read_text())
    result = {}
    for name, (_config, outputs) in reads(doc).items():
        producer = name.removeprefix(INPUT_PREFIX)
        present = state_outputs.get(producer)
        lacking = outputs - set(present or {})
        if lacking:
            result[name] = Missing(producer, present is not None, dict(present or {}), lacking)
    return result


def placeholder(output: str, region: str) -> str:
    """A value of the right shape for the provider's plan-time checks; never deployed anywhere."""
    if output.endswith("arn"):
        return f"arn:aws:placeholder:{region}:000000000000:{output}"
    if output.endswith("url"):
        return f"https://placeholder.{region}.amazonaws.com/000000000000/{output}"
    if output.endswith("availability_zone"):
        return f"{region}a"
    return f"placeholder-{output.removeprefix('cross-stack-output-')}"


def stand_in_workdir(env: EnvironmentConfig, workdir: Path, missing: dict[str, Missing]) -> Path:
    """The stack's JSON in `<workdir>/.speculative/`, reading placeholders where the producers lack outputs."""
    folder = workdir / FOLDER
    folder.mkdir(exist_ok=True)  # kept, like the stack's own working directory: its .terraform/ survives
    doc = json.loads((workdir / "cdk.tf.json").read_text())
    sources = doc["data"]["terraform_remote_state"]
    for name, lack in missing.items():
        outputs = {**lack.present, **{o: placeholder(o, env.aws.region) for o in lack.missing}}
        state = folder / f"{lack.producer}.tfstate"
        state.write_text(
            json.dumps(
                {
                    "version": 4,
                    "terraform_version": "1.10.0",
                    "serial": 1,
                    "lineage": "speculative-placeholders",
                    "outputs": {
                        k: {"value": v, "type": "string" if isinstance(v, str) else ["list", "string"]}
                        for k, v in outputs.items()
                    },
                    "resources": [],
                }
            )
        )
        sources[name] = {"backend": "local", "config": {"path": str(state)}}
    (folder / "cdk.tf.json").write_text(json.dumps(doc, indent=2))
    lock = workdir / ".terraform.lock.hcl"
    if lock.is_file():
        shutil.copy(lock, folder / lock.name)
    return folder
