"""The suite's xdist scheduler (tests/support/fixtures_grouping.py): the real-engine tests start first, each on a
worker of its own, and the other worker takes everything else meanwhile; groups still run on one worker."""

from __future__ import annotations

from types import SimpleNamespace

from tests.support.fixtures_grouping import pytest_xdist_make_scheduler

E2E = "tests/test_e2e.py::test_the_local_pipeline_end_to_end_with_the_real_engine"
FAULTS = "tests/test_faults.py::test_the_network_drops"
# As collected: the real-engine tests near the end, a group of three, plain tests around them.
COLLECTION = [
    "tests/shared/test_a.py::test_one",
    "tests/shared/policy/test_scan.py::test_x[dev]@checkov",
    "tests/shared/policy/test_scan.py::test_x[prod]@checkov",
    "tests/shared/policy/test_scan.py::test_y@checkov",
    *[f"tests/shared/test_b.py::test_{i}" for i in range(8)],
    E2E,
    FAULTS,
    "tests/test_workflow.py::test_last",
]


class Node:
    def __init__(self, name: str) -> None:
        self.name, self.shutting_down, self.sent = name, False, []
        self.gateway = SimpleNamespace(id=name)

    def send_runtest_some(self, indexes: list[int]) -> None:
        self.sent += [COLLECTION[i] for i in indexes]

    def shutdown(self) -> None:
        self.shutting_down = True

    def __repr__(self) -> str:
        return self.name


def scheduler(workers: int = 2):
    values = {"tx": [f"{workers}*popen"], "dist": "loadgroup"}
    config = SimpleNamespace(getvalue=values.__getitem__, option=SimpleNamespace(loadscopereorder=True))
    made = pytest_xdist_make_scheduler(config, None)
    nodes = [Node(f"gw{i}") for i in range(workers)]
    for node in nodes:
        made.add_node(node)
    for node in nodes:
        made.add_node_collection(node, COLLECTION)
    made.schedule()
    return made, nodes


def finish(made, node: Node, nodeid: str) -> None:
    made.mark_test_complete(node, COLLECTION.index(nodeid))


def test_the_real_engine_tests_start_first_and_their_workers_get_nothing_else_meanwhile():
    made, (first, second) = scheduler()
    # Each also holds one plain test, the last in the queue: a worker starts a test once it knows the next.
    assert first.sent == [E2E, COLLECTION[-1]] and second.sent == [FAULTS, COLLECTION[-4]]
    finish(made, second, FAULTS)  # the faults test ends long before the e2e: its worker takes the rest
    assert len(second.sent) > 2 and first.sent == [E2E, COLLECTION[-1]]
    done = {FAULTS}
    while set(second.sent) - done:  # the second worker works through whatever it is sent
        for nodeid in [n for n in second.sent if n not in done]:
            finish(made, second, nodeid)
            done.add(nodeid)
    assert first.sent == [E2E, COLLECTION[-1]], "more work was queued behind the end-to-end test"
    assert sorted(second.sent) == sorted(set(COLLECTION) - {E2E, COLLECTION[-1]})
    # The group stays one unit: its three tests were sent to one worker, together.
    checkov = [n for n in second.sent if n.endswith("@checkov")]
    start = second.sent.index(checkov[0])
    assert second.sent[start : start + 3] == checkov and len(checkov) == 3


def test_a_worker_that_finished_the_e2e_takes_work_again():
    made, (only,) = scheduler(workers=1)
    assert only.sent == [E2E, COLLECTION[-1]]  # the one test it must know of, and nothing more
    finish(made, only, E2E)
    assert len(only.sent) > 2 and only.sent[2] == FAULTS


def test_other_distribution_modes_keep_xdists_own_scheduler():
    config = SimpleNamespace(getvalue={"dist": "load"}.__getitem__)
    assert pytest_xdist_make_scheduler(config, None) is None


def test_the_longest_tests_it_names_exist():
    """A renamed real-engine test module would quietly go back to the end of the queue."""
    from shared.paths import ROOT
    from tests.support.fixtures_grouping import LONGEST

    for prefix in LONGEST:
        module = ROOT / prefix.removesuffix("::")
        assert module.is_file() and "pytestmark = pytest.mark.e2e" in module.read_text(), prefix
