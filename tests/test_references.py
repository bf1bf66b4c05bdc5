"""Every file of the repository that the code, the environment files or the docs name exists: a module moved or
renamed leaves no comment, message or page pointing at where it was (a newcomer follows those)."""

from __future__ import annotations

import re
from pathlib import Path

from shared.paths import ROOT

NAMED = re.compile(
    r"(?<![\w./-])((?:shared|stacks|tests|docs|environments|\.github)/[\w./-]*\.(?:py|md|yaml|yml|json))"
)
WHERE = ("shared", "stacks", "docs", "environments", ".github")  # tests name files of their own making


def named_paths(root: Path) -> dict[str, list[str]]:
    """Path named -> where it is named (file:line), for what does not exist under `root`."""
    missing: dict[str, list[str]] = {}
    files = [p for d in WHERE for p in (root / d).rglob("*") if p.suffix in (".py", ".md", ".yaml", ".yml")]
    files += [root / "README.md", root / "Makefile"]
    for path in files:
        if not path.is_file():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for name in NAMED.findall(line):
                if "<" in name or "*" in name or not name.strip("./"):
                    continue
                if not (root / name).exists():
                    missing.setdefault(name, []).append(f"{path.relative_to(root)}:{number}")
    return missing


def test_every_file_the_repository_names_exists():
    assert named_paths(ROOT) == {}


def test_a_file_named_where_it_no_longer_is_is_found(tmp_path):
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "guard.py").write_text('"""Read by shared/ops/guard.py and shared/guard.py."""\n')
    assert named_paths(tmp_path) == {"shared/ops/guard.py": ["shared/guard.py:1"]}
