"""The stacks of an environment: dependency order from the manifest, and a STACK= selection."""

from __future__ import annotations

import json

import pytest

from shared.config import load_environment
from shared.errors import UsageError
from shared.ops.runner.selection import ordered_stacks, parse_selection


def manifest(tmp_path, stacks: dict[str, list[str]]):
    doc = {"stacks": {sid: {"workingDirectory": f"stacks/{sid}", "dependencies": deps} for sid, deps in stacks.items()}}
    (tmp_path / "manifest.json").write_text(json.dumps(doc))
    return tmp_path


def test_dependencies_come_first_and_other_environments_are_left_out(tmp_path):
    out = manifest(
        tmp_path,
        {
            "monitoring-dev": ["data-dev", "compute-dev"],
            "compute-dev": ["network-dev", "data-dev"],
            "data-dev": ["network-dev"],
            "network-dev": [],
            "network-prod": [],
        },
    )
    stacks = ordered_stacks(out, load_environment("dev"))
    assert [s.id for s in stacks] == ["network-dev", "data-dev", "compute-dev", "monitoring-dev"]
    assert stacks[1].workdir == out / "stacks/data-dev" and stacks[1].plan_file == "data-dev.tfplan"


def test_a_dependency_cycle_is_named(tmp_path):
    out = manifest(tmp_path, {"network-dev": ["data-dev"], "data-dev": ["network-dev"]})
    with pytest.raises(UsageError, match="stack dependencies form a cycle"):
        ordered_stacks(out, load_environment("dev"))


def test_a_selection_is_each_stack_once_in_the_order_given():
    assert parse_selection(None) is None and parse_selection("") is None
    assert parse_selection(" compute, data,compute ") == ["compute", "data"]


@pytest.mark.parametrize("given", ["computer", ",", "network,nope"])
def test_an_unknown_stack_names_the_known_ones(given):
    with pytest.raises(UsageError, match="known: network, data, compute, monitoring"):
        parse_selection(given)
