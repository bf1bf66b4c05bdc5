"""The seam between this project and its CDK toolchain: the only module that names one.

Stacks and components import the CDK core and the provider bindings under fixed names, whatever
toolchain is installed:

    from shared.cdk.core import Fn, TerraformStack          # cdktf, or cdktn
    from shared.cdk.aws.kinesis_stream import KinesisStream  # cdktf_cdktf_provider_aws, or cdktn_provider_aws
    from shared.cdk.random.password import Password          # cdktf_cdktf_provider_random, or cdktn_provider_random

`shared.cdk.core`, `.aws` and `.random` (and their submodules) are the toolchain's own modules
under a second name: the same objects, so jsii sees no difference. The toolchain is
STREAMFLIX_TOOLCHAIN (cdktf or cdktn) where set, else the one installed in this interpreter
(`make install TOOLCHAIN=cdktn` gives cdktn a virtual environment of its own: the two never mix).

CDK for Terraform (cdktf) is the default, as specified; HashiCorp archived it on 2025-12-10.
CDK Terrain (cdktn) is its maintained fork, with the same API under other package names.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import os
import sys
from dataclasses import dataclass
from importlib import metadata


@dataclass(frozen=True)
class Toolchain:
    name: str
    modules: dict[str, str]  # our alias -> the toolchain's top-level module
    distributions: tuple[str, ...]  # what pip installs (their versions decide the synthesized JSON)
    lazy_provider: bool  # the AWS bindings load submodules on demand by themselves
    venv: str  # the virtual environment `make ... TOOLCHAIN=<name>` uses, relative to the checkout


TOOLCHAINS = {
    "cdktf": Toolchain(
        "cdktf",
        {"core": "cdktf", "aws": "cdktf_cdktf_provider_aws", "random": "cdktf_cdktf_provider_random"},
        ("cdktf", "cdktf-cdktf-provider-aws", "cdktf-cdktf-provider-random", "constructs", "jsii"),
        lazy_provider=False,
        venv=".venv",
    ),
    "cdktn": Toolchain(
        "cdktn",
        {"core": "cdktn", "aws": "cdktn_provider_aws", "random": "cdktn_provider_random"},
        ("cdktn", "cdktn-provider-aws", "cdktn-provider-random", "constructs", "jsii"),
        lazy_provider=True,
        venv=".venv-cdktn",
    ),
}
DEFAULT = "cdktf"


def _installed(toolchain: Toolchain) -> bool:
    try:
        metadata.version(toolchain.distributions[0])
    except metadata.PackageNotFoundError:
        return False
    return True


def _pick() -> Toolchain:
    wanted = os.environ.get("STREAMFLIX_TOOLCHAIN", "").strip()
    if wanted:
        if wanted not in TOOLCHAINS:
            raise ImportError(f"STREAMFLIX_TOOLCHAIN={wanted!r}: one of {', '.join(TOOLCHAINS)}")
        return TOOLCHAINS[wanted]
    for name in (DEFAULT, *(n for n in TOOLCHAINS if n != DEFAULT)):
        if _installed(TOOLCHAINS[name]):
            return TOOLCHAINS[name]
    return TOOLCHAINS[DEFAULT]  # the import below then says what is missing


ACTIVE = _pick()


def app_context(engine_floor: tuple[int, int]) -> dict:
    """The App's context: the engines the synthesized JSON targets. CDK Terrain refuses to synthesize a
    feature (ephemeral blocks, write-only arguments) that a declared target lacks, and targets
    Terraform 1.5.7 where nothing is declared; cdktf reads no such key, and neither writes it to the JSON."""
    floor = ">=" + ".".join(str(part) for part in engine_floor) + ".0"
    return {"targetVersions": {"terraform": floor, "opentofu": floor}}


def versions() -> dict[str, str]:
    """The installed version of each distribution of the active toolchain ("absent" where missing)."""
    found = {}
    for dist in ACTIVE.distributions:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "absent"
    return found


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`shared.cdk.<alias>[.<sub>]` is the toolchain's `<module>[.<sub>]`, the very same module object."""

    prefix = __name__ + "."

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(self.prefix):
            return None
        alias, _, rest = fullname[len(self.prefix) :].partition(".")
        if alias not in ACTIVE.modules:
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=True)

    def create_module(self, spec):
        alias, _, rest = spec.name[len(self.prefix) :].partition(".")
        if alias == "aws" and not ACTIVE.lazy_provider:
            from shared.cdk import fast_import

            fast_import.register_without_init(ACTIVE.modules["aws"])  # only the submodules a stack uses
        return importlib.import_module(ACTIVE.modules[alias] + (f".{rest}" if rest else ""))

    def exec_module(self, module):
        pass  # the toolchain's module is already executed


if not any(isinstance(f, _Alias) for f in sys.meta_path):
    sys.meta_path.insert(0, _Alias())
