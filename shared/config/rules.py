"""Rules that span sections of an environment file: one function each, listed once in RULES.

Each takes `get(dotted path)`, which gives a value or MISSING, and returns (key, message) problems. A
rule whose values are missing or of the wrong type says nothing: that problem is reported where it lies.
They run on the validated model (its validator) and, when the file has other problems, on the file's
raw values with the defaults filled in (the loader), so that one typo never hides, say, an unprotected
prod database.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from shared.config import patterns
from shared.config.location import partition_of
from shared.image_ref import ECR

MISSING = object()
Get = Callable[[str], Any]
Problems = list[tuple[str, str]]


def _value(get: Get, path: str, kind: type) -> Any:
    v = get(path)
    ok = isinstance(v, kind) and not (kind is int and isinstance(v, bool))
    return v if ok else MISSING


def _protected(get: Get) -> bool:
    return _value(get, "protected", bool) is True


def prod_is_protected(get: Get) -> Problems:
    """prod is protected whatever its suffix: only a copy made with SUFFIX= (the loader marks it a throwaway,
    a file cannot) is not. Inferring a copy from the suffix let `environment_suffix: prd` unprotect prod."""
    name, protected = _value(get, "name", str), _value(get, "protected", bool)
    if name == "prod" and protected is False and _value(get, "throwaway", bool) is not True:
        return [("protected", "prod must be protected, whatever its environment_suffix: set protected: true")]
    return []


def protected_keeps_its_data(get: Get) -> Problems:
    if not _protected(get):
        return []
    problems = [
        (path, "must be true in a protected environment")
        for path in ("data.aurora.deletion_protection", "data.aurora.final_snapshot")
        if _value(get, path, bool) is False
    ]
    if _value(get, "data.secret_recovery_window_days", int) == 0:
        problems.append(("data.secret_recovery_window_days", "must be 7-30 in a protected environment"))
    return problems


def protected_runs_on_demand(get: Get) -> Problems:
    """A protected environment's workers are never all taken back at once with two minutes' notice."""
    spot = _value(get, "compute.spot_percent", int)
    if _protected(get) and isinstance(spot, int) and spot > 0:
        return [
            ("compute.spot_percent", f"a protected environment runs its workers on Fargate alone: set 0, not {spot}")
        ]
    return []


def spot_needs_a_real_ecs(get: Get) -> Problems:
    """The emulator reports a service with a capacity provider strategy as EC2-launched: every plan would replace
    it (shared/emulator_quirks.py IMITATIONS)."""
    endpoint, spot = get("aws.endpoint"), _value(get, "compute.spot_percent", int)
    if endpoint is not None and endpoint is not MISSING and spot is not MISSING and spot > 0:
        return [("compute.spot_percent", "an emulator environment cannot run Fargate Spot: its ECS would replace the "
                 "service on every plan (shared/emulator_quirks.py); set 0")]  # fmt: skip
    return []


def protected_never_pauses(get: Get) -> Problems:
    """A protected environment's database answers at once: no first connection waits for it to resume."""
    min_acu = get("data.aurora.min_acu")
    if _protected(get) and isinstance(min_acu, (int, float)) and not isinstance(min_acu, bool) and min_acu == 0:
        return [("data.aurora.min_acu", "a protected environment's database never pauses: set 0.5 or more, not 0")]
    return []


def protected_backups_are_locked(get: Get) -> Problems:
    """Without a vault lock, whoever may delete recovery points (a stolen role, a tired engineer) can empty both
    vaults: a protected environment's backups outlive such a mistake."""
    if _protected(get) and get("data.backup.lock_min_retention_days") is None:
        return [
            (
                "data.backup.lock_min_retention_days",
                "a protected environment locks its backup vaults: set the days no recovery point may be deleted "
                "before (at most data.backup.retention_days and copy_retention_days)",
            )
        ]
    return []


def backups_are_copied_elsewhere(get: Get) -> Problems:
    """A copy in the environment's own region is lost with that region: the point of the copy is another one."""
    region, copy = _value(get, "aws.region", str), _value(get, "data.backup.copy_region", str)
    if MISSING in (region, copy) or not all(re.match(patterns.REGION.regex, r) for r in (region, copy)):
        return []  # a value that is no region is reported where it lies
    if copy == region:
        return [("data.backup.copy_region", f"is aws.region ({region}): name another region for the copy")]
    if partition_of(copy) != partition_of(region):
        return [
            (
                "data.backup.copy_region",
                f"{copy} is in another partition than aws.region ({region}): AWS Backup copies within one",
            )
        ]
    return []


def protected_alerts_someone(get: Get) -> Problems:
    if not _protected(get):
        return []
    emails, hooks = get("monitoring.alarm_emails"), get("monitoring.alarm_https_endpoints")
    if any(isinstance(v, list | tuple) and v for v in (emails, hooks)):
        return []
    return [
        (
            "monitoring.alarm_emails",
            "a protected environment must alert someone: list an address here or an "
            "endpoint in monitoring.alarm_https_endpoints",
        )
    ]


def protected_pages_someone(get: Get) -> Problems:
    """An e-mail wakes nobody at night: the composite alarm of a protected environment (workers missing while
    work piles up) must reach a paging service."""
    if _protected(get) and get("monitoring.paging_endpoint") is None:
        return [
            (
                "monitoring.paging_endpoint",
                "a protected environment must page someone: name the HTTPS endpoint of the paging service",
            )
        ]
    return []


def protected_database_survives_an_instance(get: Get) -> Problems:
    if not _protected(get):
        return []
    instances, azs = _value(get, "data.aurora.instances", int), _value(get, "network.az_count", int)
    if instances is not MISSING and instances < 2:
        return [("data.aurora.instances", "a protected environment needs 2 or more")]
    if MISSING not in (instances, azs) and instances > azs:
        return [("data.aurora.instances", f"{instances} instances cannot spread over {azs} AZs")]
    return []


def emulator_settings_only_in_an_emulator(get: Get) -> Problems:
    """A real environment always uses the bindings' provider and TLS; an emulator is never protected."""
    endpoint = get("aws.endpoint")
    if endpoint is not None and endpoint is not MISSING:
        return [("aws.endpoint", "a protected environment cannot live in an emulator")] if _protected(get) else []
    problems = []
    if isinstance(get("aws.provider_version"), str):
        problems.append(("aws.provider_version", "only an emulator environment (aws.endpoint set) may pin it"))
    if get("state.tls_only") is False:
        problems.append(("state.tls_only", "may be false only for an emulator environment (aws.endpoint set)"))
    return problems


def workers_fit_the_shards(get: Get) -> Problems:
    """Each shard is leased to one worker at a time: tasks beyond the shard count only idle."""
    shards, max_count = _value(get, "data.kinesis.shard_count", int), _value(get, "compute.max_count", int)
    provisioned = _value(get, "data.kinesis.mode", str) in ("provisioned", MISSING)
    if provisioned and MISSING not in (shards, max_count) and max_count > shards:
        return [
            (
                "compute.max_count",
                f"{max_count} tasks for {shards} shard(s): each shard is read by one worker "
                "at a time, so the others would idle; at most data.kinesis.shard_count",
            )
        ]
    return []


def closed_egress_still_reaches_the_image(get: Get) -> Problems:
    """With interface endpoints and no internet path, only an image in a private ECR registry can be pulled:
    ECR Public and other registries have no VPC endpoint, and every task would fail to start."""
    if _value(get, "network.interface_endpoints", bool) is not True or get("network.internet_https") is not None:
        return []
    image, region = _value(get, "compute.image", str), _value(get, "aws.region", str)
    ecr = ECR.match(image) if image is not MISSING else None
    if image is MISSING or region is MISSING or (ecr and ecr["region"] == region):
        return []
    return [
        (
            "network.internet_https",
            f"is null, but compute.image ({image}) is not in a private ECR registry of {region}, so no VPC "
            "endpoint reaches it: say why the tasks need HTTPS to the internet, or use an image in this "
            "account's ECR in the environment's region",
        )
    ]


def zones_are_in_the_region(get: Get) -> Problems:
    region, zones = _value(get, "aws.region", str), get("network.availability_zones")
    if region is MISSING or not isinstance(zones, list | tuple):
        return []
    stray = [z for z in zones if not (isinstance(z, str) and z.startswith(region))]
    return [("network.availability_zones", f"{stray} are not in region {region}")] if stray else []


def _number(get: Get, path: str) -> Any:
    v = get(path)
    return v if isinstance(v, int | float) and not isinstance(v, bool) else MISSING


def expected_acu_within_the_range(get: Get) -> Problems:
    """The cost estimate's expected ACUs lie between what the database may scale to: outside it, the estimate
    would price a capacity the cluster can never run at."""
    expected = _number(get, "usage.aurora_expected_acu")
    low, high = _number(get, "data.aurora.min_acu"), _number(get, "data.aurora.max_acu")
    if MISSING in (expected, low, high) or low <= expected <= high:
        return []
    return [("usage.aurora_expected_acu", f"{expected} is outside data.aurora.min_acu..max_acu ({low}..{high})")]


RULES: tuple[Callable[[Get], Problems], ...] = (
    prod_is_protected,
    protected_keeps_its_data,
    protected_backups_are_locked,
    protected_runs_on_demand,
    protected_never_pauses,
    spot_needs_a_real_ecs,
    backups_are_copied_elsewhere,
    protected_alerts_someone,
    protected_pages_someone,
    protected_database_survives_an_instance,
    emulator_settings_only_in_an_emulator,
    workers_fit_the_shards,
    closed_egress_still_reaches_the_image,
    zones_are_in_the_region,
    expected_acu_within_the_range,
)


def problems(get: Get) -> Problems:
    return [problem for rule in RULES for problem in rule(get)]
