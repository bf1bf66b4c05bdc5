"""Reading what was synthesized, in the tests: a folder's stacks and resources, variant shapes of an
environment, and what the backend and remote-state blocks must say."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from shared.config import EnvironmentConfig, available_environments

ENVIRONMENTS = available_environments()


class Synthesized:
    """Read access to one synthesized output folder."""

    def __init__(self, outdir: Path):
        self.outdir = outdir

    @cache  # noqa: B019 - one instance per session
    def stack(self, stack: str, env: str) -> dict:
        return json.loads((self.outdir / "stacks" / f"{stack}-{env}" / "cdk.tf.json").read_text())

    def resources(self, stack: str, env: str, rtype: str) -> dict[str, dict]:
        return self.stack(stack, env).get("resource", {}).get(rtype, {})

    def one(self, stack: str, env: str, rtype: str) -> dict:
        found = self.resources(stack, env, rtype)
        assert len(found) == 1, f"expected one {rtype} in {stack}-{env}, found {sorted(found)}"
        return next(iter(found.values()))

    def at(self, stack: str, env: str, rtype: str, path: str) -> dict:
        """The resource of this type whose construct path is `<stack>-<env>/<path>` (one of several of a type)."""
        found = [r for r in self.resources(stack, env, rtype).values() if r["//"]["metadata"]["path"] ==
                 f"{stack}-{env}/{path}"]  # fmt: skip
        assert len(found) == 1, f"expected one {rtype} at {stack}-{env}/{path}, found {len(found)}"
        return found[0]

    def outputs(self, stack: str, env: str) -> dict[str, dict]:
        return self.stack(stack, env).get("output", {})

    def manifest(self) -> dict:
        return json.loads((self.outdir / "manifest.json").read_text())


def variant(base: EnvironmentConfig, suffix: str, **changes: Any) -> EnvironmentConfig:
    """`base` as the environment `suffix`, with dotted-key changes, validated like a file would be."""
    data = base.model_dump(mode="json")
    data["environment_suffix"] = suffix
    for dotted, value in changes.items():
        *parents, key = dotted.split("__")
        node = data
        for part in parents:
            node = node[part]
        node[key] = value
    return EnvironmentConfig.model_validate(data)


# Shapes no environment file has today, synthesized once per session like the environments.
VARIANTS = {
    "fanout": {"data__kinesis__consumer": "enhanced_fan_out"},
    "paused": {"data__aurora__min_acu": 0, "data__aurora__seconds_until_auto_pause": 900},
    "ondemand": {"data__kinesis__mode": "on_demand"},
    # Half the workers past the first on Fargate Spot (a non-production lever: docs/cost.md).
    "spot": {"compute__spot_percent": 50},
    "alerted": {
        "monitoring__alarm_emails": ["oncall@example.com"],
        "monitoring__alarm_https_endpoints": ["https://hooks.example.com/alarms"],
    },
    # An image in this account's ECR, and so nothing outside AWS: interface endpoints and no internet path.
    "ecr": {
        "compute__image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/video/worker:2.3.1",
        "network__interface_endpoints": True,
        "network__internet_https": None,
    },
    # A password the stack generates (for accounts that must hold their own), raised to its second version;
    # and the same kind from the AWS provider alone.
    "rotated": {"data__aurora__password_generator": "random", "data__aurora__password_version": 2},
    "generated": {"data__aurora__password_generator": "secrets_manager"},
    # An emulated environment whose resources ignore changes of their own (auto scaling, a final snapshot).
    "emulated": {"aws__endpoint": "http://127.0.0.1:4566", "data__aurora__final_snapshot": True},
}


# The S3 backend settings an emulator environment adds; no real environment may carry any of them.
def emulator_backend(env: EnvironmentConfig) -> dict:
    if not env.emulated:
        return {}
    return {
        "endpoints": {"s3": env.aws.endpoint, "sts": env.aws.endpoint, "iam": env.aws.endpoint},
        "use_path_style": True,
        "skip_credentials_validation": True,
        "skip_requesting_account_id": True,
        "skip_metadata_api_check": True,
        "skip_region_validation": True,
    }


def remote_state_config(env: EnvironmentConfig, stack: str) -> dict:
    """What a consumer's terraform_remote_state must say to read `stack` of its own environment."""
    return {
        "bucket": env.state.bucket,
        "key": f"streamflix/{env.suffix}/{stack}.tfstate",
        "region": env.aws.region,
        "encrypt": True,
        "kms_key_id": f"alias/{env.state.bucket.replace('.', '-')}-state",  # the state key bootstrap makes
        **emulator_backend(env),
    }


def policy(resource: dict, key: str = "policy") -> dict:
    """A JSON policy document attribute, parsed (tokens stay as ${...} strings)."""
    return json.loads(resource[key])
