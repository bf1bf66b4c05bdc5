"""Ephemeral blocks: values the engine opens for one run and never writes to state or a plan file, such as
a generated password (Terraform 1.10+, OpenTofu 1.11+; the write-only arguments they feed need 1.11).

cdktf 0.21 has no class for them; CDK Terrain has one (`TerraformEphemeralResource`, and generated
classes such as `cdktn_provider_random.ephemeral_random_password`), but it refuses to synthesize unless
the whole app skips validation or targets a newer engine. So both toolchains write the block the same
way, as the stack's raw `ephemeral` section, with the same `//` metadata CDK Terrain writes: the JSON is
identical whichever toolchain synthesizes it (tests/shared/cdk/test_equivalence.py).

A value of the block is read through `value()`, a local: a local that refers to an ephemeral value is
itself ephemeral, and unlike a string with `${...}` in it, a local is a reference that cdktf does not
escape inside functions such as `Fn.jsonencode`.
"""

from __future__ import annotations

from typing import Any

from constructs import Construct

from shared.cdk.core import TerraformLocal, TerraformStack


class Ephemeral:
    """`ephemeral "<type>" "<name>" { ... }` in the stack of `scope`."""

    def __init__(self, scope: Construct, resource_type: str, name: str, config: dict[str, Any]) -> None:
        self.stack = TerraformStack.of(scope)
        self.scope = scope
        self.address = f"ephemeral.{resource_type}.{name}"
        self.name = name
        metadata = {"path": f"{self.stack.node.path}/{name}", "uniqueId": name}
        self.stack.add_override(self.address, {"//": {"metadata": metadata}})
        for key, value in config.items():  # one override a key: tokens in each are resolved at synthesis
            self.stack.add_override(f"{self.address}.{key}", value)

    def expression(self, attribute: str) -> str:
        """The HCL expression of one attribute, for use inside a larger `${...}` expression."""
        return f"{self.address}.{attribute}"

    def value(self, attribute: str, local_name: str) -> str:
        """One attribute as a string token (through the local `local_name`)."""
        return TerraformLocal(self.scope, local_name, f"${{{self.expression(attribute)}}}").as_string
