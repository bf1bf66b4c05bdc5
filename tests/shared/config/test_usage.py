"""The usage section: the cost estimate's assumptions, validated like every other key, every problem at once."""

from __future__ import annotations

import textwrap

import pytest

from shared.config import ConfigError, load_environment
from shared.config.usage import UsageConfig

MINIMAL = "aws:\n  region: us-east-1\nstate:\n  bucket: tf-state-bucket\n"


def problems(tmp_path, body: str) -> list[str]:
    (tmp_path / "dev.yaml").write_text(MINIMAL + textwrap.dedent(body))
    with pytest.raises(ConfigError) as exc:
        load_environment("dev", directory=tmp_path)
    return exc.value.problems


def test_every_usage_key_has_a_description_and_a_default():
    for name, field in UsageConfig.model_fields.items():
        assert field.description, name
        assert not field.is_required(), name


def test_a_file_sets_what_it_knows_better(tmp_path):
    (tmp_path / "dev.yaml").write_text(MINIMAL + "usage:\n  records_per_second: 250\n  nat_gb_per_month: 0.5\n")
    usage = load_environment("dev", directory=tmp_path).usage
    assert (usage.records_per_second, usage.nat_gb_per_month, usage.record_kb) == (250, 0.5, 5.0)


def test_bad_usage_values_are_all_named_with_their_key_path(tmp_path):
    found = problems(tmp_path, "usage:\n  records_per_second: -1\n  record_kb: 0\n  log_gb: 3\n")
    assert len(found) == 3, found
    assert any("usage.records_per_second" in p and "greater than or equal to 0" in p for p in found)
    assert any("usage.record_kb" in p and "greater than 0" in p for p in found)
    assert any("usage.log_gb" in p and "unknown key" in p for p in found)


def test_expected_acu_outside_the_scaling_range_is_refused(tmp_path):
    body = "data:\n  aurora:\n    min_acu: 0.5\n    max_acu: 2\nusage:\n  aurora_expected_acu: 4\n"
    (found,) = problems(tmp_path, body)
    assert "usage.aurora_expected_acu" in found and "outside data.aurora.min_acu..max_acu (0.5..2" in found
