"""bootstrap against moto: the first run builds the state bucket with every property, the second changes nothing."""

from __future__ import annotations

import json

import boto3
import pytest

from shared.cli import main
from shared.config import load_environment
from shared.ops.bootstrap import PUBLIC_ACCESS_BLOCK, ensure_state_bucket


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


def test_first_run_creates_the_bucket_with_every_property(mutations, capsys):
    assert main(["bootstrap", "--env", "staging"]) == 0
    out = capsys.readouterr().out
    assert "state bucket streamflix-tfstate-staging (us-east-1)" in out
    assert out.count("created") == 6
    s3 = boto3.client("s3", region_name="us-east-1")
    bucket = "streamflix-tfstate-staging"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == PUBLIC_ACCESS_BLOCK
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == [
        {"ObjectOwnership": "BucketOwnerEnforced"}
    ]
    (deny,) = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert "CreateBucket" in mutations


def test_second_run_changes_nothing(mutations, capsys):
    env = load_environment("dev")
    ensure_state_bucket(env)
    mutations.clear()
    assert main(["bootstrap", "--env", "dev"]) == 0
    assert mutations == []
    out = capsys.readouterr().out
    assert out.count("already there") == 6 and "created" not in out


def test_a_half_configured_bucket_is_completed_and_other_policy_statements_kept(mutations):
    env = load_environment("dev")
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=env.state.bucket)
    extra = {"Sid": "AuditorsRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
             "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{env.state.bucket}/*"}  # fmt: skip
    s3.put_bucket_policy(Bucket=env.state.bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [extra]}))
    done = dict(ensure_state_bucket(env))
    assert done["bucket"] == "already there" and done["versioning"] == "updated"
    sids = [s["Sid"] for s in json.loads(s3.get_bucket_policy(Bucket=env.state.bucket)["Policy"])["Statement"]]
    assert sids == ["AuditorsRead", "DenyInsecureTransport"]


def test_bucket_outside_us_east_1_gets_its_location(aws, tmp_path, monkeypatch):
    (tmp_path / "eu.yaml").write_text("aws:\n  region: eu-west-1\nstate:\n  bucket: streamflix-tfstate-eu\n")
    monkeypatch.setenv("STREAMFLIX_ENVIRONMENTS_DIR", str(tmp_path))
    assert main(["bootstrap", "--env", "eu"]) == 0
    location = boto3.client("s3", region_name="eu-west-1").get_bucket_location(Bucket="streamflix-tfstate-eu")
    assert location["LocationConstraint"] == "eu-west-1"
