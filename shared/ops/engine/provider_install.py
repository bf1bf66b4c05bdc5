"""Why the engine could not install a stack's providers, said in one message: which provider, which
version, and every place it was looked for (the stack's own directory, the plugin cache, the mirror,
the registry). Read from the engine's own `init` output: the engine decides where providers come from
(its CLI configuration may name mirrors this tool never sees), so the tool never guesses ahead of it.
"""

from __future__ import annotations

import re
from pathlib import Path

from shared.ops.engine.providers import mirrored_providers, plugin_cache_dir, provider_mirror

# What Terraform and OpenTofu print when a provider cannot be found or fetched.
_FAILURES = (
    "Failed to query available provider packages",
    "Failed to install provider",
    "Incompatible provider version",
    "provider registry registry.terraform.io does not have a provider named",
)
_PROVIDER = re.compile(r"(?:for provider|install provider|provider named|provider) ([\w.-]+/[\w.-]+(?:/[\w.-]+)?)")


def full_source(source: str) -> str:
    """registry.terraform.io/hashicorp/aws for "aws", "hashicorp/aws" or the full address."""
    parts = source.split("/")
    if len(parts) == 1:
        parts = ["hashicorp", *parts]
    if len(parts) == 2:
        parts = ["registry.terraform.io", *parts]
    return "/".join(parts)


def required(stack_json: dict) -> dict[str, str]:
    """{full source: version constraint} of every provider a synthesized stack requires."""
    wanted = stack_json.get("terraform", {}).get("required_providers", {})
    return {full_source(p.get("source", name)): str(p.get("version", "any")) for name, p in wanted.items()}


def explain(output: str, stack_id: str, stack_json: dict) -> str | None:
    """The message for an init that failed to install a provider; None for any other failure."""
    if not any(failure in output for failure in _FAILURES):
        return None
    wanted = required(stack_json)
    named = [full_source(m) for m in _PROVIDER.findall(output)]
    missing = next((s for s in named if s in wanted), None) or next(iter(named), None)
    if missing is None:
        return None
    version = wanted.get(missing, "any version")
    short = missing.removeprefix("registry.terraform.io/")
    looked = [f"the plugin cache {plugin_cache_dir()}"]
    mirror = provider_mirror()  # as Engine.configured reads it
    if mirror is not None:
        held = mirrored_providers(mirror)
        has = ", ".join(f"{s.removeprefix('registry.terraform.io/')} {' '.join(v)}" for s, v in sorted(held.items()))
        looked.append(f"TF_PROVIDER_MIRROR={mirror} (which holds {has or 'nothing'})")
        if missing in held:
            looked[-1] += f", but not version {version} of {short}"
    else:
        looked.append("the mirrors of your own CLI configuration, if any (TF_CLI_CONFIG_FILE or ~/.terraformrc)")
    host = missing.split("/", 1)[0]
    looked.append(f"the registry {host}, which did not serve it (the engine's error is below)")
    where = Path(mirror) if mirror is not None else Path("<mirror>")
    return (
        f"{stack_id} needs the provider {short} {version}, and the engine cannot install it. It looked in "
        + "; ".join(looked)
        + f". Put it in the mirror (`terraform providers mirror {where}` on a machine that reaches "
        f"{host}, with the stacks' required_providers), or let the engine reach {host}, and run the "
        f"command again; nothing was applied.\n\n{output.strip()}"
    )
