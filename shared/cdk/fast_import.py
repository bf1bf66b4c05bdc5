"""Load the prebuilt AWS provider bindings without importing all ~2,200 of their submodules.

`import cdktf_cdktf_provider_aws` runs a package `__init__` that imports every resource
module (about 20 s here). The submodules need only the package's jsii assembly, so we
register the package without running its `__init__`, load `_jsii`, and let each stack
import just the submodules it uses (about 5 s in all). Should the package layout ever
change, we fall back to the plain import: slower, never wrong.

Set STREAMFLIX_PLAIN_IMPORT=1 to force the plain import (the benchmark compares the two).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

AWS_PACKAGE = "cdktf_cdktf_provider_aws"


def register_without_init(package: str = AWS_PACKAGE) -> str:
    """Make `package.<submodule>` importable cheaply. Returns "fast", "plain" or "already"."""
    if package in sys.modules:
        return "already"
    if os.environ.get("STREAMFLIX_PLAIN_IMPORT") == "1":
        importlib.import_module(package)
        return "plain"
    try:
        spec = importlib.util.find_spec(package)
        if spec is None or not spec.submodule_search_locations:
            raise ImportError(f"{package} is not a package")
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        jsii_module = importlib.import_module(f"{package}._jsii")
        if not hasattr(jsii_module, "__jsii_assembly__"):
            raise ImportError(f"{package}._jsii does not load a jsii assembly")
        module._jsii = jsii_module  # type: ignore[attr-defined]
        return "fast"
    except ImportError:
        # The layout is not what we expect: undo the half-registration, take the slow path.
        for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
            del sys.modules[name]
        importlib.import_module(package)
        return "plain"


def loaded_submodules(package: str = AWS_PACKAGE) -> list[str]:
    """Direct submodules of `package` imported so far (the test asserts this stays small)."""
    prefix = package + "."
    return sorted(
        n[len(prefix) :]
        for n, m in sys.modules.items()
        if n.startswith(prefix) and "." not in n[len(prefix) :] and isinstance(m, types.ModuleType)
    )
