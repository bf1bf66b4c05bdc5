"""The checkov scan: every environment passes; a real violation fails; skips are reasoned and narrow."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from shared.errors import UsageError
from shared.naming import STACK_NAMES
from shared.policy.scan import load_skips, report, scan_environments
from tests.support.synthesized import ENVIRONMENTS, variant

# One worker runs them all: the module's single checkov run over every environment is then shared.
pytestmark = pytest.mark.xdist_group("checkov")


@pytest.fixture(scope="module")
def skips():
    return load_skips()


# Non-compliant twins of dev and prod, under suffixes of their own: dev's stream loses its encryption;
# prod's tasks get public IPs (CKV_AWS_333, skipped where there is no NAT gateway: dev only).
TWINS = {"dev": "brokendev", "prod": "brokenprod"}


def unencrypted(resources: dict) -> None:
    del resources["aws_kinesis_stream"]["stream"]["encryption_type"]
    del resources["aws_kinesis_stream"]["stream"]["kms_key_id"]


def public_ips(resources: dict) -> None:
    resources["aws_ecs_service"]["service"]["network_configuration"]["assign_public_ip"] = True


@pytest.fixture(scope="module")
def twins(configs):
    return {name: variant(configs[name], suffix) for name, suffix in TWINS.items()}


@pytest.fixture(scope="module")
def scanned(synth, configs, skips, twins, tmp_path_factory):
    """Every environment and the twins, scanned by one checkov run (as `make check` without ENV does;
    its start-up alone costs seconds)."""
    out = tmp_path_factory.mktemp("scan") / "cdktf.out"
    shutil.copytree(synth.outdir, out, ignore=shutil.ignore_patterns(".locks", ".manifest.lock"))
    for name, twin in twins.items():
        for stack in STACK_NAMES:
            shutil.copytree(out / "stacks" / f"{stack}-{name}", out / "stacks" / f"{stack}-{twin.suffix}")
    for stack, change in (("data-brokendev", unencrypted), ("compute-brokenprod", public_ips)):
        path = out / "stacks" / stack / "cdk.tf.json"
        doc = json.loads(path.read_text())
        change(doc["resource"])
        path.write_text(json.dumps(doc))
    return scan_environments([*configs.values(), *twins.values()], out, skips)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_passes_checkov(scanned, env):
    findings, passed, _ = scanned[env]
    assert findings == []
    assert passed > 100  # the scan really ran over the four stacks


def test_violations_fail_the_scan_and_one_environments_skip_never_hides_anothers(scanned, twins, capsys):
    assert report(list(twins.values()), scanned) == 1
    printed = capsys.readouterr().out.splitlines()
    findings = sorted(tuple(line.split()[:3]) for line in printed if line.startswith("  "))
    assert findings == [
        ("CKV_AWS_185", "data-brokendev", "aws_kinesis_stream.stream:"),  # not encrypted with a CMK
        ("CKV_AWS_333", "compute-brokenprod", "aws_ecs_service.service:"),  # prod's skip-free public IPs
        ("CKV_AWS_43", "data-brokendev", "aws_kinesis_stream.stream:"),  # not encrypted at all
    ]
    assert any(line.startswith("checkov dev ") and "CKV_AWS_333" in line and "FAILED" in line for line in printed)


def test_every_skip_has_a_reason(skips):
    assert skips and all(len(s.reason.split()) >= 5 for s in skips)


def test_no_nat_skip_does_not_reach_prod(configs, skips):
    public_ip = next(s for s in skips if s.check == "CKV_AWS_333")
    assert public_ip.applies_to(configs["dev"])
    assert not public_ip.applies_to(configs["staging"])  # staging has a NAT gateway
    assert not public_ip.applies_to(configs["prod"])
    protection = next(s for s in skips if s.check == "CKV_AWS_139")
    assert not protection.applies_to(configs["prod"])


def test_database_monitoring_skips_reach_only_environments_that_turn_it_off(configs, skips):
    for check in ("CKV_AWS_353", "CKV_AWS_118"):  # performance insights, enhanced monitoring
        skip = next(s for s in skips if s.check == check)
        assert skip.applies_to(configs["dev"]) and skip.applies_to(configs["local"])
        assert not skip.applies_to(configs["staging"]) and not skip.applies_to(configs["prod"])


def test_a_skip_without_reason_is_refused(tmp_path):
    bad = tmp_path / "skips.yaml"
    bad.write_text(
        textwrap.dedent("""\
        - check: CKV_AWS_1
          reason: ""
        - check: CKV_AWS_2
          reason: because
          when: sometimes
        """)
    )
    with pytest.raises(UsageError) as exc:
        load_skips(bad)
    assert "CKV_AWS_1): every skip needs a reason" in str(exc.value)
    assert "unknown condition 'sometimes'" in str(exc.value)


def test_every_real_environment_is_checked_for_an_aws_backup_plan(configs):
    # CKV2_AWS_8 (an RDS cluster in an AWS Backup plan) is skipped only where the emulator cannot make a selection.
    (skip,) = [s for s in load_skips() if s.check == "CKV2_AWS_8"]
    assert [name for name, env in configs.items() if skip.applies_to(env)] == ["local"]
