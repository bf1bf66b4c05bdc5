"""Each pattern is written once, with its words: every field pattern of the schema is one of them."""

from __future__ import annotations

import re

import pytest
from pydantic import BaseModel

from shared.config import EnvironmentConfig, patterns
from shared.config.problems import ConfigError


def _field_patterns(model: type[BaseModel]) -> set[str]:
    found: set[str] = set()

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                found.add(node["pattern"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(model.model_json_schema())
    return found


def test_every_field_pattern_is_a_listed_pattern_with_its_words():
    used = _field_patterns(EnvironmentConfig)
    listed = {p.regex for p in patterns.ALL}
    assert used == listed, f"unlisted: {sorted(used - listed)}; listed but unused: {sorted(listed - used)}"
    for pattern in patterns.ALL:
        re.compile(pattern.regex)
        assert len(pattern.words.split()) >= 3, pattern


def test_a_value_that_does_not_match_is_told_in_the_patterns_words(tmp_path):
    from shared.config import load_environment

    (tmp_path / "dev.yaml").write_text("aws:\n  region: mars-1\nstate:\n  bucket: b-ok\n")
    with pytest.raises(ConfigError) as exc:
        load_environment("dev", directory=tmp_path)
    assert f"aws.region: must be {patterns.REGION.words} (got 'mars-1')" in str(exc.value)


@pytest.mark.parametrize(
    ("suffix", "ok"),
    [("pr-42", True), ("a", True), ("pr--1", False), ("Pr1", False), ("ends-", False), ("a" * 21, False)],
)
def test_a_suffix_is_what_aws_database_identifiers_accept(suffix, ok):
    assert (patterns.suffix_problem(suffix) is None) is ok
