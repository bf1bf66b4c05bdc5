"""The checkov scan: every environment passes; a real violation fails; skips are reasoned and narrow."""

from __future__ import annotations

import json
import shutil
import textwrap

import pytest

from shared.errors import UsageError
from shared.policy.scan import load_skips, scan, scan_environment
from tests.conftest import ENVIRONMENTS


@pytest.fixture(scope="module")
def skips():
    return load_skips()


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_environment_passes_checkov(synth, configs, skips, env):
    findings, passed, _ = scan_environment(configs[env], synth.outdir, skips)
    assert findings == []
    assert passed > 100  # the scan really ran over the four stacks


def test_a_violation_fails_the_scan(synth, configs, skips, tmp_path, capsys):
    # Non-compliant twin of dev: the stream loses its encryption.
    out = tmp_path / "cdktf.out"
    shutil.copytree(synth.outdir, out)
    path = out / "stacks/data-dev/cdk.tf.json"
    doc = json.loads(path.read_text())
    stream = doc["resource"]["aws_kinesis_stream"]["stream"]
    del stream["encryption_type"], stream["kms_key_id"]
    path.write_text(json.dumps(doc))
    findings, _, _ = scan_environment(configs["dev"], out, skips)
    assert sorted((f.check, f.stack, f.resource) for f in findings) == [
        ("CKV_AWS_185", "data-dev", "aws_kinesis_stream.stream"),  # not encrypted with a CMK
        ("CKV_AWS_43", "data-dev", "aws_kinesis_stream.stream"),  # not encrypted at all
    ]
    assert scan([configs["dev"]], out) == 1
    assert "CKV_AWS_43  data-dev  aws_kinesis_stream.stream" in capsys.readouterr().out


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
