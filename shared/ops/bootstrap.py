"""`make bootstrap`: create the environment's state bucket, idempotently, and say what was done.

The bucket gets versioning (every state revision can be recovered), default KMS encryption,
all public access blocked, ACLs disabled, and a policy that denies plain HTTP. Run it again
and it finds everything in place and changes nothing.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.ops.aws import check_credentials, client

TLS_SID = "DenyInsecureTransport"
PUBLIC_ACCESS_BLOCK = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _read(call, missing_code: str, default):
    """A bucket setting, or `default` when S3 says it was never set."""
    try:
        return call()
    except ClientError as exc:
        if _code(exc) != missing_code:
            raise
        return default


def _tls_statement(bucket: str) -> dict:
    return {
        "Sid": TLS_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def ensure_state_bucket(env: EnvironmentConfig) -> list[tuple[str, str]]:
    """Bring the bucket to the required shape. Returns (property, "created" | "already there" | "updated")."""
    bucket, region = env.state.bucket, env.state_region
    s3 = client("s3", env, region=region)
    done: list[tuple[str, str]] = []

    try:
        s3.head_bucket(Bucket=bucket)
        done.append(("bucket", "already there"))
    except ClientError as exc:
        if _code(exc) in ("403", "AccessDenied", "Forbidden"):
            raise UsageError(
                f"bucket {bucket} exists but these credentials cannot use it (bucket names are global: "
                "pick another state.bucket, or use the owning account)"
            ) from None
        if _code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise
        args = {"Bucket": bucket}
        if region != "us-east-1":  # us-east-1 refuses an explicit LocationConstraint
            args["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**args)
        done.append(("bucket", "created"))
    created = done[0][1] == "created"

    def settle(prop: str, in_place: bool, fix) -> None:
        if in_place:
            done.append((prop, "already there"))
            return
        fix()
        done.append((prop, "created" if created else "updated"))

    settle("versioning", s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled",
           lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}))  # fmt: skip

    rules = _read(lambda: s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"],
                  "ServerSideEncryptionConfigurationNotFoundError", [])  # fmt: skip
    kms = any(r["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms" for r in rules)
    settle("encryption (aws:kms)", kms, lambda: s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={"Rules": [{
            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]},
    ))  # fmt: skip

    block = _read(lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
                  "NoSuchPublicAccessBlockConfiguration", {})  # fmt: skip
    settle("public access block", block == PUBLIC_ACCESS_BLOCK, lambda: s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK))  # fmt: skip

    ownership = _read(lambda: s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"],
                      "OwnershipControlsNotFoundError", [])  # fmt: skip
    enforced = [{"ObjectOwnership": "BucketOwnerEnforced"}]
    settle("ACLs disabled", ownership == enforced, lambda: s3.put_bucket_ownership_controls(
        Bucket=bucket, OwnershipControls={"Rules": enforced}))  # fmt: skip

    if not env.state.tls_only:  # an emulator over plain HTTP (the config allows nothing else)
        done.append(("policy denying plain HTTP", "not wanted (state.tls_only: false)"))
        return done
    policy = _read(lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]), "NoSuchBucketPolicy", {})
    wanted = _tls_statement(bucket)
    others = [s for s in policy.get("Statement", []) if s.get("Sid") != TLS_SID]
    # Other statements someone added stay; ours is put in place or corrected.
    settle("policy denying plain HTTP", wanted in policy.get("Statement", []), lambda: s3.put_bucket_policy(
        Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [*others, wanted]})))  # fmt: skip
    return done


def bootstrap(env: EnvironmentConfig) -> int:
    identity = check_credentials(env)
    print(f"state bucket {env.state.bucket} ({env.state_region}) for {env.suffix}, account {identity['Account']}:")
    for prop, status in ensure_state_bucket(env):
        print(f"  {prop:<28} {status}")
    return 0
