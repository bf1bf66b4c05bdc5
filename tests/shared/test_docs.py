"""The generated tables of docs/: what is committed is what the code says."""

from __future__ import annotations

import pytest

from shared import docs
from shared.config import load_environment


def test_the_committed_tables_are_what_the_code_says():
    assert docs.stale() == [], "run make docs and commit the result"


def test_every_config_key_is_a_row_with_its_description_and_each_environment_value():
    table = docs.config_table([load_environment("dev"), load_environment("prod")])
    rows = {line.split(" | ")[0].strip("| `"): line for line in table.splitlines()[2:]}
    snapshot = rows["data.aurora.final_snapshot"]
    assert (
        snapshot
        == "| `data.aurora.final_snapshot` | Take a final snapshot when the cluster is deleted. | false |  | `true` |"
    )
    assert "name" not in rows  # the file's stem, not a key
    assert "network.cidr" in rows and "`10.30.0.0/16`" in rows["network.cidr"]
    assert "the environment's name" in rows["environment_suffix"]


def test_every_real_environment_has_its_two_ci_roles_and_the_emulator_none():
    rows = docs.ci_roles_table([load_environment("prod"), load_environment("local")]).splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == ["| `streamflix-deploy-prod`", "| `streamflix-plan-prod`"]
    deploy, plan = rows
    assert "`repo:streamflix/streamflix-infra:environment:prod` | 120 min" in deploy
    assert "boundary `streamflix-boundary-prod`" in deploy
    assert "`repo:streamflix/streamflix-infra:environment:prod-plan` | 60 min" in plan
    assert "no secret value" in plan and "writes nothing" in plan


def test_every_make_target_with_help_text_is_a_row(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("deploy: $(STAMP) ## Deploy | in order\n\t@true\nhidden:\n\t@true\n")
    assert docs.commands_table(makefile).splitlines()[2:] == ["| `make deploy` | Deploy \\| in order |"]


def test_a_document_without_its_markers_is_named(tmp_path):
    page = tmp_path / "page.md"
    with pytest.raises(ValueError, match=f"{page}: the markers of the generated config keys table are missing"):
        docs.render("no markers here\n", {"config keys": "| x |"}, page)


def test_what_is_between_the_markers_is_replaced_and_nothing_else(tmp_path):
    start, end = docs._marker("t")
    text = f"before\n{start}\nold\n{end}\nafter\n"
    assert docs.render(text, {"t": "new"}, tmp_path / "p.md") == f"before\n{start}\nnew\n{end}\nafter\n"


def test_every_relative_link_of_the_readme_and_docs_points_to_a_file():
    import re

    from shared.paths import ROOT

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    broken = [
        f"{page.relative_to(ROOT)} -> {target}"
        for page in pages
        for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text())
        if "://" not in target and not (page.parent / target).exists()
    ]
    assert broken == []
    linked = set(re.findall(r"\]\(docs/([^)#]+)\)", (ROOT / "README.md").read_text()))
    assert linked == {p.name for p in pages[1:]}, "a document the README does not point to"


def test_no_page_holds_what_a_merge_left_unresolved():
    import re

    from shared.paths import ROOT

    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    marked = [
        f"{page.relative_to(ROOT)}:{n}"
        for page in pages
        for n, line in enumerate(page.read_text().splitlines(), 1)
        if re.match(r"^(<{7}|>{7}|={7})( |$)", line)
    ]
    assert marked == [], f"merge conflict markers: {marked}"
