"""The fast provider import: the package is registered without its __init__, and falls back when it must."""

from __future__ import annotations

import sys

import pytest

from shared import cdk
from shared.cdk.fast_import import AWS_PACKAGE, loaded_submodules, register_without_init


@pytest.mark.skipif(cdk.ACTIVE.lazy_provider, reason="this toolchain's provider package is lazy by itself")
def test_synthesis_loads_only_the_submodules_the_stacks_use(synth):
    assert synth.manifest()["stacks"]  # the stacks are built: the provider is in use
    loaded = loaded_submodules()
    assert "vpc" in loaded and "ecs_service" in loaded
    # The root __init__ imports all ~2,200 submodules and defines __all__; neither happened.
    assert len(loaded) < 60, loaded
    assert not hasattr(sys.modules[AWS_PACKAGE], "__all__")


@pytest.fixture
def fake_package(tmp_path, monkeypatch):
    """A package shaped like the provider: an __init__ that records it ran, optionally a _jsii."""
    monkeypatch.syspath_prepend(str(tmp_path))
    created = []

    def make(name: str, with_jsii: bool) -> str:
        pkg = tmp_path / name
        pkg.mkdir()
        (pkg / "__init__.py").write_text("import builtins\nbuiltins.FAKE_INIT_RAN = __name__\n")
        (pkg / "thing.py").write_text("from ._jsii import __jsii_assembly__ as ASSEMBLY\n")
        if with_jsii:
            (pkg / "_jsii").mkdir()
            (pkg / "_jsii" / "__init__.py").write_text("__jsii_assembly__ = 'assembly'\n")
        created.append(name)
        return name

    yield make
    import builtins

    builtins.__dict__.pop("FAKE_INIT_RAN", None)
    for name in created:
        for mod in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[mod]


def test_fast_path_skips_the_package_init(fake_package):
    import builtins
    import importlib

    name = fake_package("fastpkg_ok", with_jsii=True)
    assert register_without_init(name) == "fast"
    assert importlib.import_module(f"{name}.thing").ASSEMBLY == "assembly"
    assert not hasattr(builtins, "FAKE_INIT_RAN")
    assert register_without_init(name) == "already"


def test_falls_back_to_the_plain_import_when_the_layout_changes(fake_package):
    import builtins

    name = fake_package("fastpkg_nojsii", with_jsii=False)
    assert register_without_init(name) == "plain"
    assert name == builtins.FAKE_INIT_RAN
    assert not any(m.startswith(name + "._jsii") for m in sys.modules)


def test_plain_import_can_be_forced_for_the_benchmark(fake_package, monkeypatch):
    import builtins

    monkeypatch.setenv("STREAMFLIX_PLAIN_IMPORT", "1")
    name = fake_package("fastpkg_forced", with_jsii=True)
    assert register_without_init(name) == "plain"
    assert name == builtins.FAKE_INIT_RAN
