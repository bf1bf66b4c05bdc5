"""Test plugin: the xdist groups the suite relies on (one worker synthesizes the variant shapes and runs one
checkov), and a loud failure where a pytest/xdist pair ignores them."""

from __future__ import annotations

import pytest

UNGROUPED = pytest.StashKey[str]()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items):
    """The tests that read the variant shapes run on one worker, which alone synthesizes them (some name
    the fixture in a parameter and get it with request.getfixturevalue)."""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "variants" in getattr(item, "fixturenames", ()) or "variants" in params.values():
            item.add_marker(pytest.mark.xdist_group("variants"))


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")  # after pytest-xdist tags groups
def _check_groups(config, items):
    """Under `--dist loadgroup` an xdist_group runs on one worker, so what its module sets up (one
    checkov run, one synthesis on the other toolchain) happens once. Some pytest/xdist pairs ignore
    the groups without a word (pytest-dev/pytest-xdist#1386): those tests then fail, saying so."""
    if not config.getoption("loadgroup", default=False):  # set in pytest-xdist workers only
        return
    for item in items:
        if item.get_closest_marker("xdist_group") and "@" not in item.nodeid:
            item.stash[UNGROUPED] = (
                "--dist loadgroup did not keep this xdist_group on one worker: this pytest and pytest-xdist "
                "do not work together (pytest-dev/pytest-xdist#1386); install the versions pyproject.toml pins"
            )


@pytest.fixture(autouse=True)
def _grouped_as_marked(request):
    if UNGROUPED in request.node.stash:
        pytest.fail(request.node.stash[UNGROUPED], pytrace=False)
