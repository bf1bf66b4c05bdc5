"""The shape the project set itself: modules small enough to read, a test module beside every source module with
logic of its own (at the mirrored path), and a map at the top of every package of shared/ops."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.paths import ROOT

MOST_LINES = 400
CONFTEST_LINES = 150

# Source modules without a test module of their own, and why none is needed.
NO_TEST_OF_ITS_OWN = {
    "shared/contract.py": "names only: the stacks' and tools' tests assert each name",
    "shared/errors.py": "two exception classes",
    "shared/cost/free.py": "a list: tests/shared/cost/test_model.py checks every synthesized type against it",
    "shared/paths.py": "paths only",
    "shared/arguments.py": "the argument table, tested through the command line (tests/shared/test_cli.py)",
    "shared/synthesis.py": "one call into synth_cache, tested in tests/shared/test_synth_cache.py",
    "shared/cdk/ephemeral.py": "a construct, asserted in the data stack's JSON (tests/stacks/test_data.py)",
    "shared/components/alarms.py": "a builder of alarms, asserted in the monitoring stack's JSON "
    "(tests/stacks/test_monitoring.py)",
    "shared/components/worker_container.py": "a container definition, asserted in the compute stack's JSON "
    "(tests/stacks/test_compute.py)",
    "shared/components/backup.py": "a construct, asserted in the data stack's JSON (tests/stacks/test_data.py)",
    "shared/components/aurora_version.py": "locals, asserted in the data stack's JSON (tests/stacks/test_data.py)",
    "shared/components/database_password.py": "constructs, asserted in the data and compute stacks' JSON "
    "(tests/stacks/test_data.py, tests/stacks/test_compute.py)",
    "shared/components/encryption_key.py": "a construct, asserted in every stack's JSON (tests/stacks/)",
    "shared/components/iam.py": "policy documents, asserted in the stacks' JSON (tests/stacks/test_compute.py)",
    "shared/components/lease_tables.py": "a construct, asserted in the data stack's JSON (tests/stacks/test_data.py)",
    "shared/components/log_group.py": "a construct, asserted in every stack's JSON (tests/stacks/)",
    "shared/config/problems.py": "how problems read, asserted through the loader (tests/shared/config/test_loader.py)",
    "shared/config/schema.py": "the sections held together, tested through the loader",
    "shared/config/section.py": "a base class",
    "shared/config/location.py": "a section, tested through the loader",
    "shared/config/network.py": "a section, tested through the loader",
    "shared/config/data.py": "a section, tested through the loader",
    "shared/config/compute.py": "a section, tested through the loader",
    "shared/config/observability.py": "a section, tested through the loader",
    "shared/config/source.py": "reading a file defensively, tested through the loader",
    "shared/ops/runner/job.py": "a dataclass",
    **{
        f"shared/ops/commands/{name}.py": "thin: the runner called, tested in tests/shared/ops/runner/"
        for name in ("plan", "deploy", "destroy", "drift", "outputs", "bootstrap")
    },
}


def source_modules(root: Path) -> list[Path]:
    return sorted(p for d in ("shared", "stacks") for p in (root / d).rglob("*.py") if p.name != "__init__.py")


def test_no_module_is_longer_than_the_project_allows():
    long = {
        str(p.relative_to(ROOT)): n for p in source_modules(ROOT) if (n := len(p.read_text().splitlines())) > MOST_LINES
    }
    assert long == {}
    assert len((ROOT / "tests" / "conftest.py").read_text().splitlines()) < CONFTEST_LINES


def test_every_module_with_logic_of_its_own_has_a_mirrored_test_module():
    missing = []
    for path in source_modules(ROOT):
        name = str(path.relative_to(ROOT))
        mirrored = ROOT / "tests" / path.relative_to(ROOT).parent / f"test_{path.name}"
        if not mirrored.is_file() and name not in NO_TEST_OF_ITS_OWN:
            missing.append(name)
    assert missing == []
    stale = [name for name in NO_TEST_OF_ITS_OWN if not (ROOT / name).is_file()]
    assert stale == []


def test_every_package_of_the_operations_opens_with_a_map_naming_each_module():
    for package in sorted(p for p in (ROOT / "shared" / "ops").rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(package.read_text())) or ""
        if package.parent.name == "ops":
            names = [p.name + "/" for p in package.parent.iterdir() if (p / "__init__.py").is_file()]
        else:
            names = [p.name for p in package.parent.glob("*.py") if p.name != "__init__.py"]
        assert [n for n in names if n not in doc] == [], package
