"""The engine steps of one stack: what a planned change alters, by attribute name."""

from __future__ import annotations

from shared.ops.steps import changed_attributes


def test_only_attributes_whose_known_value_changes_are_named():
    change = {
        "before": {"name": "a", "tags": {"x": "1"}, "arn": "arn:1", "same": 1},
        "after": {"name": "b", "tags": {"x": "2"}, "arn": None, "same": 1, "new": True},
        "after_unknown": {"arn": True},
    }
    assert changed_attributes(change) == ["name", "new", "tags"]  # arn: the engine's to fill in


def test_a_create_or_a_delete_names_what_it_sets_or_removes():
    assert changed_attributes({"before": None, "after": {"a": 1}}) == ["a"]
    assert changed_attributes({"before": {"a": 1}, "after": None}) == ["a"]
