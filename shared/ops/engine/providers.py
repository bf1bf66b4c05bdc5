"""Where the engine finds providers: the user's own CLI configuration, or a filesystem mirror named by
TF_PROVIDER_MIRROR (for which a CLI configuration is written per run); downloaded providers are shared through
a plugin cache, TF_PLUGIN_CACHE_DIR or a per-user default."""

from __future__ import annotations

import json
import re
from pathlib import Path

from shared.errors import UsageError
from shared.files import write_atomically
from shared.options import current


def plugin_cache_dir() -> Path:
    """TF_PLUGIN_CACHE_DIR, else a per-user cache (created): each provider is unpacked once per machine."""
    explicit = current().plugin_cache_dir
    if explicit:
        return Path(explicit)
    base = Path(current().cache_home or Path.home() / ".cache")
    path = base / "streamflix" / "terraform-plugins"
    path.mkdir(parents=True, exist_ok=True)
    return path


def provider_mirror() -> Path | None:
    """The filesystem mirror named by TF_PROVIDER_MIRROR, checked; None when it is not set."""
    value = current().provider_mirror
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not mirrored_providers(path):
        raise UsageError(
            f"TF_PROVIDER_MIRROR={value} holds no providers (expected <host>/<namespace>/<type>/<version>/"
            "<os>_<arch>/, as `terraform providers mirror` writes)"
        )
    return path


def mirrored_providers(mirror: Path) -> dict[str, list[str]]:
    """{"registry.terraform.io/hashicorp/aws": ["5.100.0"], ...}: what a filesystem mirror holds."""
    found: dict[str, list[str]] = {}
    if not mirror.is_dir():
        return found
    for version_dir in sorted(mirror.glob("*/*/*/*")):
        if version_dir.is_dir() and re.match(r"^\d+\.\d+\.\d+", version_dir.name):
            found.setdefault(str(version_dir.parent.relative_to(mirror)), []).append(version_dir.name)
    return found


def write_cli_config(mirror: Path, path: Path) -> Path:
    """A CLI configuration that installs the mirror's providers from it and only the others from
    their registry (a provider that both could serve would otherwise be looked up online)."""
    sources = sorted(mirrored_providers(mirror))
    listed = ", ".join(json.dumps(s) for s in sources)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(
        path,
        "# Written by shared/ops/engine/providers.py for TF_PROVIDER_MIRROR; regenerated on every run.\n"
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n    include = [{listed}]\n  }}\n"
        f"  direct {{\n    exclude = [{listed}]\n  }}\n"
        "}\n",
    )
    return path
