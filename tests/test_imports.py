"""No import circle among the project's modules, and none hidden by an import inside a function: every
import statement counts, wherever it stands (a lazy import may keep the provider bindings unloaded,
never close a circle)."""

from __future__ import annotations

import ast
from pathlib import Path

from shared.paths import ROOT

PACKAGES = ("shared", "stacks")


def project_modules(root: Path) -> dict[str, Path]:
    """Dotted name -> file of every module of the packages (a package is its __init__)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imported(path: Path, known: dict[str, Path], own: str = "") -> set[str]:
    """The project modules a file imports, at any depth of its code. Importing a.b.c runs a and a.b too;
    but a module's own packages (`own`'s ancestors) are being imported already whenever it runs, so
    taking a sibling submodule from one (`from a import b` inside a.c) is no edge back to it. Taking a
    name the package itself defines is (it may not be defined yet)."""
    ancestors = {".".join(own.split(".")[:i]) for i in range(1, own.count(".") + 1)}
    names: set[str] = set()
    early: set[str] = set()  # own packages a name is taken from before they may have defined it
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            names |= submodules | {node.module}
            if node.module in ancestors and not submodules <= known.keys():
                early.add(node.module)
    edges = set()
    for name in names:
        parts = name.split(".")
        edges |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & known.keys()
    return (edges - ancestors) | early


def first_circle(root: Path) -> list[str] | None:
    known = project_modules(root)
    graph = {name: imported(path, known, name) - {name} for name, path in known.items()}
    state: dict[str, str] = {}  # visiting / done
    stack: list[str] = []

    def visit(name: str) -> list[str] | None:
        state[name] = "visiting"
        stack.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == "visiting":
                return [*stack[stack.index(target) :], target]
            if target not in state and (circle := visit(target)):
                return circle
        stack.pop()
        state[name] = "done"
        return None

    for name in sorted(graph):
        if name not in state and (circle := visit(name)):
            return circle
    return None


def test_no_module_of_the_project_imports_back_one_that_imports_it():
    circle = first_circle(ROOT)
    assert circle is None, "import circle: " + " -> ".join(circle or [])


def test_a_circle_closed_by_an_import_inside_a_function_is_found(tmp_path):
    (tmp_path / "shared" / "ops").mkdir(parents=True)
    (tmp_path / "stacks").mkdir()
    for init in ("shared/__init__.py", "shared/ops/__init__.py", "stacks/__init__.py"):
        (tmp_path / init).write_text("")
    (tmp_path / "shared/ops/deploy.py").write_text("from shared.ops import provider_pins\n")
    (tmp_path / "shared/ops/provider_pins.py").write_text("def relock():\n    from shared.ops import deploy\n")
    assert first_circle(tmp_path) == ["shared.ops.deploy", "shared.ops.provider_pins", "shared.ops.deploy"]
    (tmp_path / "shared/ops/provider_pins.py").write_text("def relock():\n    pass\n")
    assert first_circle(tmp_path) is None


def test_a_sibling_taken_from_the_own_package_is_no_circle_but_a_name_the_package_defines_is(tmp_path):
    (tmp_path / "shared" / "config").mkdir(parents=True)
    (tmp_path / "stacks").mkdir()
    for init in ("shared/__init__.py", "stacks/__init__.py"):
        (tmp_path / init).write_text("")
    (tmp_path / "shared/config/__init__.py").write_text("from shared.config.loader import load\n")
    (tmp_path / "shared/config/rules.py").write_text("")
    (tmp_path / "shared/config/loader.py").write_text("from shared.config import rules\n\ndef load():\n    pass\n")
    assert first_circle(tmp_path) is None
    (tmp_path / "shared/config/rules.py").write_text("from shared.config import load\n")
    assert first_circle(tmp_path) == ["shared.config", "shared.config.loader", "shared.config.rules", "shared.config"]


# The layers of shared/ops (its __init__ says why): package -> what it may never import, at any depth.
LAYERS = {
    "shared.ops.runner": ("shared.ops.commands",),
    "shared.ops.engine": ("shared.ops.runner", "shared.ops.commands"),
    "shared.ops.state_bucket": ("shared.ops.runner", "shared.ops.commands"),
}


def layer_breaches(root: Path) -> list[str]:
    known = project_modules(root)
    found = []
    for name, path in sorted(known.items()):
        for layer, forbidden in LAYERS.items():
            if name == layer or name.startswith(layer + "."):
                found += [
                    f"{name} imports {target}"
                    for target in sorted(imported(path, known, name))
                    if any(target == f or target.startswith(f + ".") for f in forbidden)
                ]
    return found


def test_the_runner_never_imports_a_command_and_the_engine_and_the_state_bucket_neither_of_them():
    assert layer_breaches(ROOT) == []


def test_a_layer_breach_is_found_also_inside_a_function(tmp_path):
    for package in ("shared", "shared/ops", "shared/ops/engine", "shared/ops/runner", "stacks"):
        (tmp_path / package).mkdir(parents=True, exist_ok=True)
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "shared/ops/runner/run.py").write_text("from shared.ops.engine import process\n")
    (tmp_path / "shared/ops/engine/process.py").write_text("")
    assert layer_breaches(tmp_path) == []  # the runner may use the engine
    (tmp_path / "shared/ops/engine/process.py").write_text("def run():\n    from shared.ops.runner import run\n")
    assert "shared.ops.engine.process imports shared.ops.runner.run" in layer_breaches(tmp_path)


def test_exit_codes_are_decided_only_by_the_command_line():
    """Everything below shared/cli.py raises; nothing else exits or names an exit code."""
    offenders = []
    for path in sorted((ROOT / "shared").rglob("*.py")):
        if path == ROOT / "shared" / "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and node.attr in ("exit", "_exit", "exit_code"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.attr}")
            elif isinstance(node, ast.Name) and node.id == "SystemExit":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} SystemExit")
    assert offenders == []
