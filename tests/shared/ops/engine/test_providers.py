"""Where the engine finds providers: a filesystem mirror, its CLI configuration."""

from pathlib import Path

import pytest

from shared.errors import UsageError
from shared.ops.engine.providers import mirrored_providers, provider_mirror, write_cli_config


def make_mirror(root: Path, *providers: str) -> Path:
    for spec in providers:  # "hashicorp/aws/5.100.0"
        namespace, name, version = spec.split("/")
        (root / "registry.terraform.io" / namespace / name / version / "linux_amd64").mkdir(parents=True)
    return root


def test_a_mirror_lists_its_providers_and_versions(tmp_path):
    mirror = make_mirror(tmp_path, "hashicorp/aws/5.100.0", "hashicorp/aws/6.25.0", "hashicorp/random/3.7.2")
    assert mirrored_providers(mirror) == {
        "registry.terraform.io/hashicorp/aws": ["5.100.0", "6.25.0"],
        "registry.terraform.io/hashicorp/random": ["3.7.2"],
    }


def test_the_cli_config_takes_mirrored_providers_only_from_the_mirror(tmp_path):
    mirror = make_mirror(tmp_path / "m", "hashicorp/aws/5.100.0")
    text = write_cli_config(mirror, tmp_path / "out" / "terraform.rc").read_text()
    assert f'path    = "{mirror}"' in text
    # Both blocks name the provider: without the exclude, the engine would also ask the registry for it.
    assert text.count('"registry.terraform.io/hashicorp/aws"') == 2
    assert "include = [" in text and "exclude = [" in text


def test_a_mirror_that_holds_nothing_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("TF_PROVIDER_MIRROR", str(tmp_path))
    with pytest.raises(UsageError, match="holds no providers"):
        provider_mirror()
    monkeypatch.delenv("TF_PROVIDER_MIRROR")
    assert provider_mirror() is None
