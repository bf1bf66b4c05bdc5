"""bootstrap against moto: the first run builds the state bucket with every property, the second changes nothing."""

from __future__ import annotations

import json

import boto3
import pytest

from shared.cli import main
from shared.config import load_environment
from shared.ops.state_bucket.bootstrap import PUBLIC_ACCESS_BLOCK, ensure_state_bucket


@pytest.fixture
def mutations(aws):
    """Names of every S3 write call made through boto3 while the test runs."""
    seen: list[str] = []

    def record(event_name, **kwargs):
        operation = event_name.split(".")[-1]
        if operation.startswith(("Put", "Create", "Delete")):
            seen.append(operation)

    boto3.DEFAULT_SESSION = None
    original = boto3.session.Session.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.events.register("before-call.s3", record)

    mp = pytest.MonkeyPatch()
    mp.setattr(boto3.session.Session, "__init__", init)
    yield seen
    mp.undo()


def _props(out: str) -> dict[str, str]:
    """The printed table: property -> status."""
    rows = [line[2:] for line in out.splitlines() if line.startswith("  ")]
    return {row.rsplit("  ", 1)[0].strip(): row.rsplit("  ", 1)[1].strip() for row in rows}


def test_first_run_creates_the_bucket_its_key_and_its_log_bucket(mutations, capsys):
    assert main(["bootstrap", "--env", "staging"]) == 0
    out = capsys.readouterr().out
    assert "state bucket streamflix-tfstate-staging (us-east-1)" in out
    props = _props(out)
    assert set(props.values()) == {"created"}, props
    s3 = boto3.client("s3", region_name="us-east-1")
    kms = boto3.client("kms", region_name="us-east-1")
    bucket = "streamflix-tfstate-staging"
    key = kms.describe_key(KeyId="alias/streamflix-tfstate-staging-state")["KeyMetadata"]
    assert key["KeyManager"] == "CUSTOMER" and kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"]
    (admin,) = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])["Statement"]
    assert admin["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key["Arn"]}
    (expiry,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert expiry["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90} and expiry["Status"] == "Enabled"
    assert "Expiration" not in expiry  # current versions, the state itself, never expire
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == PUBLIC_ACCESS_BLOCK
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    (deny,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    logs = "streamflix-tfstate-staging-access-logs"
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {
        "TargetBucket": logs,
        "TargetPrefix": f"{bucket}/",
    }
    assert s3.get_public_access_block(Bucket=logs)["PublicAccessBlockConfiguration"] == PUBLIC_ACCESS_BLOCK
    (sse,) = s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"]
    assert sse["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"  # what log delivery supports
    statements = {s["Sid"]: s for s in json.loads(s3.get_bucket_policy(Bucket=logs)["Policy"])["Statement"]}
    assert statements["S3ServerAccessLogsDelivery"]["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert "CreateBucket" in mutations


def test_second_run_changes_nothing(mutations, capsys):
    assert main(["bootstrap", "--env", "dev"]) == 0  # the bucket, then the CI roles (tests/shared/ops/test_access.py)
    capsys.readouterr()
    mutations.clear()
    assert main(["bootstrap", "--env", "dev"]) == 0
    assert mutations == []
    out = capsys.readouterr().out
    assert set(_props(out).values()) == {"already there"} and "nothing to change: everything was in place" in out


def test_a_bucket_made_by_the_earlier_version_is_upgraded_in_place_and_says_what_changed(mutations, capsys):
    # What bootstrap made before the state had a key of its own: SSE-KMS with the AWS-managed key,
    # versioning for ever, no access logs.
    env = load_environment("dev")
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = env.state.bucket
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK)
    s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    )
    s3.put_object(Bucket=bucket, Key="streamflix/dev/data.tfstate", Body=b"{}")  # the state stays where it is
    assert main(["bootstrap", "--env", "dev"]) == 0
    props = _props(capsys.readouterr().out)
    assert props["bucket"] == props["versioning"] == props["public access block"] == "already there"
    assert props["state key alias/streamflix-tfstate-dev-state"] == "created"
    assert props["encryption (aws:kms, the state key)"] == "updated"
    assert props["old state versions expire (90 days)"] == "updated"
    assert props["server access logging"] == "updated"
    assert not [m for m in mutations if m.startswith("Delete")]  # the state objects stay as they are
    mutations.clear()
    assert main(["bootstrap", "--env", "dev"]) == 0  # and then it is in place
    assert mutations == [] and "nothing to change" in capsys.readouterr().out


def test_a_half_configured_bucket_is_completed_and_other_policy_statements_and_rules_kept(mutations):
    env = load_environment("dev")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=env.state.bucket)
    extra = {
        "Sid": "AuditorsRead",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{env.state.bucket}/*",
    }
    s3.put_bucket_policy(Bucket=env.state.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [extra]}))
    theirs = {
        "ID": "tidy-uploads",
        "Status": "Enabled",
        "Filter": {"Prefix": "uploads/"},
        "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 3},
    }
    s3.put_bucket_lifecycle_configuration(Bucket=env.state.bucket, LifecycleConfiguration={"Rules": [theirs]})
    done = dict(ensure_state_bucket(env))
    assert done["bucket"] == "already there" and done["versioning"] == "updated"
    sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=env.state.bucket)["Policy"])["Statement"]]
    assert sids == ["AuditorsRead", "DenyInsecureTransport"]
    rules = [r["ID"] for r in s3.get_bucket_lifecycle_configuration(Bucket=env.state.bucket)["Rules"]]
    assert rules == ["tidy-uploads", "expire-noncurrent-state"]


def test_the_configured_noncurrent_days_are_applied(aws, tmp_path, monkeypatch):
    (tmp_path / "qa.yaml").write_text(
        "aws:\n  region: us-east-1\nstate:\n  bucket: streamflix-tfstate-qa\n  noncurrent_version_days: 30\n"
    )
    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(tmp_path))
    assert main(["bootstrap", "--env", "qa"]) == 0
    (rule,) = boto3.client("s3", region_name="us-east-1").get_bucket_lifecycle_configuration(
        Bucket="streamflix-tfstate-qa"
    )["Rules"]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}


def test_bucket_outside_us_east_1_gets_its_location(aws, tmp_path, monkeypatch):
    (tmp_path / "eu.yaml").write_text("aws:\n  region: eu-west-1\nstate:\n  bucket: streamflix-tfstate-eu\n")
    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(tmp_path))
    assert main(["bootstrap", "--env", "eu"]) == 0
    location = boto3.client("s3", region_name="eu-west-1").get_bucket_location(Bucket="streamflix-tfstate-eu")
    assert location["LocationConstraint"] == "eu-west-1"
