"""Test plugin: the xdist groups the suite relies on (one worker synthesizes the variant shapes and runs one
checkov), a loud failure where a pytest/xdist pair ignores them, and the real-engine tests started first.

`make test` lasts as long as its longest test, the end-to-end run (about 20 minutes), if that starts at once.
xdist hands out work in collection order (groups first), which put it at the end: the other worker sat idle
for minutes while the e2e had not begun. So the scheduler sends the longest tests first, one worker each, and
queues only one short test behind each (a worker starts a test once it knows the next): the other worker takes
everything else meanwhile. It overrides xdist's private scheduling methods, so pyproject.toml pins pytest-xdist
and tests/test_scheduler.py fails if a release changes them.
"""

from __future__ import annotations

import pytest

UNGROUPED = pytest.StashKey[str]()
# Minutes each, against a real engine: started first, on a worker of their own (see the module's docstring).
LONGEST = ("tests/test_e2e.py::", "tests/test_faults.py::")


def longest_first(scheduler_class: type) -> type:
    """An xdist scheduler class that sends the LONGEST tests before any other work, and holds back further
    work from a worker while one of them runs there (it would wait behind it), but for the one test a worker
    needs to know of before it starts the one it holds."""

    class LongestFirst(scheduler_class):
        _front = False

        def _assign_work_unit(self, node) -> None:
            if not self._front:  # once, when the queue is complete: the longest tests to its front, in order
                for scope in reversed([s for s in self.workqueue if s.startswith(LONGEST)]):
                    self.workqueue.move_to_end(scope, last=False)
                self._front = True
            super()._assign_work_unit(node)

        def _reschedule(self, node) -> None:
            running = self.assigned_work.get(node, {})
            busy = any(s.startswith(LONGEST) and not all(unit.values()) for s, unit in running.items())
            if not busy or not self.workqueue:
                super()._reschedule(node)
            elif self._pending_of(running) < 2:
                # A worker runs a test only once it knows the next one (or is told to stop): so one test, a
                # single one from the queue's end, waits behind the long one, and nothing more.
                single = next(
                    (s for s in reversed(self.workqueue) if len(self.workqueue[s]) == 1 and not s.startswith(LONGEST)),
                    next(reversed(self.workqueue)),
                )
                self.workqueue.move_to_end(single, last=False)
                super()._assign_work_unit(node)

    return LongestFirst


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, absent under -p no:xdist
def pytest_xdist_make_scheduler(config, log):
    """Under --dist loadgroup (what make test runs): LoadGroupScheduling with the longest tests first."""
    if config.getvalue("dist") != "loadgroup":
        return None  # xdist's own choice
    from xdist.scheduler import LoadGroupScheduling

    return longest_first(LoadGroupScheduling)(config, log)


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
