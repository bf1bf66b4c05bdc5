"""Rules across sections: each one, on values that keep it and values that break it."""

from __future__ import annotations

import inspect

import pytest

from shared.config import rules

PROTECTED = {
    "name": "prod",
    "environment_suffix": "prod",
    "protected": True,
    "data.aurora.deletion_protection": True,
    "data.aurora.final_snapshot": True,
    "data.secret_recovery_window_days": 30,
    "monitoring.alarm_emails": ["oncall@example.com"],
    "monitoring.alarm_https_endpoints": [],
    "monitoring.paging_endpoint": "https://pager.example.com/sns/prod",
    "data.aurora.instances": 2,
    "network.az_count": 3,
    "aws.endpoint": None,
    "aws.provider_version": None,
    "state.tls_only": True,
    "data.kinesis.shard_count": 4,
    "compute.max_count": 4,
    "data.kinesis.mode": "provisioned",
    "aws.region": "us-east-1",
    "network.availability_zones": ["us-east-1a", "us-east-1b", "us-east-1c"],
    "network.interface_endpoints": True,
    "network.internet_https": None,
    "compute.image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/video-worker:1.0.0",
    "data.aurora.min_acu": 2,
    "data.aurora.max_acu": 16.0,
    "usage.aurora_expected_acu": 4.5,
    "data.backup.lock_min_retention_days": 35,
    "data.backup.copy_region": "us-west-2",
    "compute.spot_percent": 0,
}

BROKEN = {
    rules.prod_is_protected: ({"protected": False}, "protected"),
    rules.protected_keeps_its_data: ({"data.aurora.final_snapshot": False}, "data.aurora.final_snapshot"),
    rules.protected_alerts_someone: ({"monitoring.alarm_emails": []}, "monitoring.alarm_emails"),
    rules.protected_pages_someone: ({"monitoring.paging_endpoint": None}, "monitoring.paging_endpoint"),
    rules.protected_database_survives_an_instance: ({"data.aurora.instances": 1}, "data.aurora.instances"),
    rules.emulator_settings_only_in_an_emulator: ({"state.tls_only": False}, "state.tls_only"),
    rules.workers_fit_the_shards: ({"compute.max_count": 5}, "compute.max_count"),
    rules.closed_egress_still_reaches_the_image: (
        {"compute.image": "public.ecr.aws/streamflix/video-worker:1.0.0"},
        "network.internet_https",
    ),
    rules.protected_backups_are_locked: (
        {"data.backup.lock_min_retention_days": None},
        "data.backup.lock_min_retention_days",
    ),
    rules.backups_are_copied_elsewhere: ({"data.backup.copy_region": "us-east-1"}, "data.backup.copy_region"),
    rules.zones_are_in_the_region: ({"network.availability_zones": ["eu-west-1a"]}, "network.availability_zones"),
    rules.expected_acu_within_the_range: ({"usage.aurora_expected_acu": 16.5}, "usage.aurora_expected_acu"),
    rules.protected_runs_on_demand: ({"compute.spot_percent": 50}, "compute.spot_percent"),
    rules.protected_never_pauses: ({"data.aurora.min_acu": 0}, "data.aurora.min_acu"),
    rules.spot_needs_a_real_ecs: (
        {"aws.endpoint": "http://127.0.0.1:4566", "protected": False, "compute.spot_percent": 50},
        "compute.spot_percent",
    ),
}


def getter(values: dict):
    return lambda path: values.get(path, rules.MISSING)


def test_every_rule_of_the_module_is_listed_once():
    defined = [
        f
        for name, f in inspect.getmembers(rules, inspect.isfunction)
        if f.__module__ == rules.__name__ and not name.startswith("_") and name != "problems"
    ]
    assert sorted(rules.RULES, key=lambda f: f.__name__) == sorted(defined, key=lambda f: f.__name__)
    assert len(set(rules.RULES)) == len(rules.RULES)
    assert set(BROKEN) == set(rules.RULES), "each rule needs its non-compliant case here"


def test_a_protected_production_environment_keeps_every_rule():
    assert rules.problems(getter(PROTECTED)) == []


@pytest.mark.parametrize("rule", rules.RULES, ids=lambda f: f.__name__)
def test_each_rule_names_the_key_it_is_about(rule):
    change, key = BROKEN[rule]
    assert rule(getter(PROTECTED)) == []
    found = rule(getter({**PROTECTED, **change}))
    assert [k for k, _ in found] == [key], found


@pytest.mark.parametrize("suffix", ["prod", "prd", "production-1"])
def test_prod_is_protected_whatever_its_suffix(suffix):
    unprotected = {**PROTECTED, "environment_suffix": suffix, "protected": False}
    assert [k for k, _ in rules.prod_is_protected(getter(unprotected))] == ["protected"]
    # Only a copy the loader made from SUFFIX= on the command line is not prod: a file cannot say it is one.
    assert rules.prod_is_protected(getter({**unprotected, "throwaway": True})) == []


def test_a_rule_whose_values_are_missing_or_of_the_wrong_type_says_nothing():
    for rule in rules.RULES:
        assert rule(getter({})) == [], rule.__name__
        assert rule(getter({k: "text" for k in PROTECTED})) == [], rule.__name__


def test_an_ecr_image_of_another_region_needs_the_internet_too():
    # The interface endpoints and the layer bucket's gateway serve this region's registry only.
    elsewhere = {**PROTECTED, "compute.image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/video-worker:1.0.0"}
    (problem,) = rules.closed_egress_still_reaches_the_image(getter(elsewhere))
    assert problem[0] == "network.internet_https" and "registry of us-east-1" in problem[1]


def test_an_unprotected_environment_may_leave_its_vaults_unlocked():
    unlocked = {**PROTECTED, "protected": False, "data.backup.lock_min_retention_days": None}
    assert rules.protected_backups_are_locked(getter(unlocked)) == []


def test_backups_are_copied_to_another_region_of_the_same_partition():
    (same,) = rules.backups_are_copied_elsewhere(getter({**PROTECTED, "data.backup.copy_region": "us-east-1"}))
    assert "is aws.region (us-east-1)" in same[1]
    # AWS Backup copies within a partition: a GovCloud vault cannot receive a commercial region's copy.
    (other,) = rules.backups_are_copied_elsewhere(getter({**PROTECTED, "data.backup.copy_region": "us-gov-west-1"}))
    assert "another partition" in other[1]
    assert rules.backups_are_copied_elsewhere(getter({**PROTECTED, "data.backup.copy_region": "eu-central-1"})) == []
