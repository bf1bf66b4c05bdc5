"""`make bootstrap`: create the environment's state bucket and its key, idempotently, and say what was done.

The state gets a customer-managed KMS key of its own (rotation on, a key policy naming the account
root, an alias derived from the bucket) that the bucket encrypts with by default and every stack's
backend names. The bucket gets versioning (every state revision can be recovered) with overwritten
versions expiring after state.noncurrent_version_days, all public access blocked, ACLs disabled, a
policy that denies plain HTTP, and server access logs in a bucket of its own. Run it again and it
finds everything in place and changes nothing; on a bucket made by an earlier version it upgrades
what differs, in place, and prints what it changed.
"""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from shared.config import EnvironmentConfig
from shared.errors import UsageError
from shared.naming import access_log_bucket, state_kms_alias
from shared.ops.aws import client

TLS_SID = "DenyInsecureTransport"
LOG_DELIVERY_SID = "S3ServerAccessLogsDelivery"
EXPIRY_RULE_ID = "expire-noncurrent-state"
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


Done = list[tuple[str, str]]  # (property, "created" | "already there" | "updated" | why not)


class _Settler:
    """Records, per property, whether it was in place or what was done to put it there."""

    def __init__(self, done: Done, created: bool) -> None:
        self.done, self.created = done, created

    def __call__(self, prop: str, in_place: bool, fix) -> None:
        if in_place:
            self.done.append((prop, "already there"))
            return
        fix()
        self.done.append((prop, "created" if self.created else "updated"))


def _ensure_bucket(s3, bucket: str, region: str, done: Done, what: str) -> bool:
    """Create `bucket` unless it exists; True when it was created."""
    try:
        s3.head_bucket(Bucket=bucket)
        done.append((what, "already there"))
        return False
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
    done.append((what, "created"))
    return True


def _locked_down(s3, bucket: str, settle: _Settler, label: str = "") -> None:
    """All public access blocked, ACLs disabled."""
    block = _read(
        lambda: s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
        "NoSuchPublicAccessBlockConfiguration",
        {},
    )
    settle(
        f"{label}public access block",
        block == PUBLIC_ACCESS_BLOCK,
        lambda: s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=PUBLIC_ACCESS_BLOCK),
    )
    ownership = _read(
        lambda: s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"],
        "OwnershipControlsNotFoundError",
        [],
    )
    enforced = [{"ObjectOwnership": "BucketOwnerEnforced"}]
    settle(
        f"{label}ACLs disabled",
        ownership == enforced,
        lambda: s3.put_bucket_ownership_controls(Bucket=bucket, OwnershipControls={"Rules": enforced}),
    )


def _policy(s3, bucket: str, settle: _Settler, label: str, wanted: list[dict]) -> None:
    """Our statements (by Sid) in place or corrected; statements someone else added stay."""
    policy = _read(lambda: json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"]), "NoSuchBucketPolicy", {})
    present = policy.get("Statement", [])
    ours = {s["Sid"] for s in wanted}
    others = [s for s in present if s.get("Sid") not in ours]
    settle(
        label,
        all(s in present for s in wanted),
        lambda: s3.put_bucket_policy(
            Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [*others, *wanted]})
        ),
    )


def ensure_state_key(env: EnvironmentConfig, done: Done) -> str:
    """The state's customer-managed key, found by its alias or made: returns its ARN."""
    kms = client("kms", env, region=env.state_region)
    alias = state_kms_alias(env)
    try:
        meta = kms.describe_key(KeyId=alias)["KeyMetadata"]
        done.append((f"state key {alias}", "already there"))
        created = False
    except ClientError as exc:
        if _code(exc) != "NotFoundException":
            raise
        identity = client("sts", env, region=env.state_region).get_caller_identity()
        partition = identity["Arn"].split(":")[1]
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountAdministers",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{identity['Account']}:root"},
                    # In a key policy "*" means this key; the account's IAM policies then say who may use it.
                    "Action": "kms:*",
                    "Resource": "*",
                }
            ],
        }
        meta = kms.create_key(
            Description=f"Encrypts the Terraform state of {env.suffix} in s3://{env.state.bucket}",
            Policy=json.dumps(policy),
            Tags=[{"TagKey": "environment", "TagValue": env.suffix}, {"TagKey": "managed-by", "TagValue": "bootstrap"}],
        )["KeyMetadata"]
        kms.create_alias(AliasName=alias, TargetKeyId=meta["KeyId"])
        done.append((f"state key {alias}", "created"))
        created = True
    rotating = kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"]
    _Settler(done, created)("state key rotation", rotating, lambda: kms.enable_key_rotation(KeyId=meta["KeyId"]))
    return meta["Arn"]


def ensure_state_bucket(env: EnvironmentConfig) -> Done:
    """Bring the key, the bucket and its log bucket to the required shape. Returns what was done, per property."""
    bucket, region = env.state.bucket, env.state_region
    done: Done = []
    key_arn = ensure_state_key(env, done)
    s3 = client("s3", env, region=region)
    settle = _Settler(done, _ensure_bucket(s3, bucket, region, done, "bucket"))

    settle(
        "versioning",
        s3.get_bucket_versioning(Bucket=bucket).get("Status") == "Enabled",
        lambda: s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}),
    )

    rules = _read(
        lambda: s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"],
        "ServerSideEncryptionConfigurationNotFoundError",
        [],
    )
    by_key = [r for r in rules if r["ApplyServerSideEncryptionByDefault"].get("KMSMasterKeyID") == key_arn]
    settle(
        "encryption (aws:kms, the state key)",
        bool(by_key),
        lambda: s3.put_bucket_encryption(
            Bucket=bucket,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        ),
    )

    days = env.state.noncurrent_version_days
    lifecycle = _read(
        lambda: s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"], "NoSuchLifecycleConfiguration", []
    )
    expiry = {
        "ID": EXPIRY_RULE_ID,
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": days},
    }
    kept = [r for r in lifecycle if r.get("ID") != EXPIRY_RULE_ID]
    settle(
        f"old state versions expire ({days} days)",
        expiry in lifecycle,
        lambda: s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, expiry]}),
    )

    _locked_down(s3, bucket, settle)
    if env.state.tls_only:
        _policy(s3, bucket, settle, "policy denying plain HTTP", [_tls_statement(bucket)])
    else:  # an emulator over plain HTTP (the config allows nothing else)
        done.append(("policy denying plain HTTP", "not wanted (state.tls_only: false)"))
    _access_logs(env, s3, settle, done)
    return done


def _access_logs(env: EnvironmentConfig, s3, settle: _Settler, done: Done) -> None:
    """Server access logs of the state bucket, in a bucket of their own: who read or wrote which state when.
    S3 delivers them only to a bucket encrypted with S3-managed keys, under a policy that admits it."""
    bucket, logs = env.state.bucket, access_log_bucket(env)
    log_settle = _Settler(done, _ensure_bucket(s3, logs, env.state_region, done, f"access log bucket {logs}"))
    _locked_down(s3, logs, log_settle, "log bucket: ")
    rules = _read(
        lambda: s3.get_bucket_encryption(Bucket=logs)["ServerSideEncryptionConfiguration"]["Rules"],
        "ServerSideEncryptionConfigurationNotFoundError",
        [],
    )
    sse_s3 = [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
    log_settle(
        "log bucket: encryption (AES256)",
        [{"ApplyServerSideEncryptionByDefault": r["ApplyServerSideEncryptionByDefault"]} for r in rules] == sse_s3,
        lambda: s3.put_bucket_encryption(Bucket=logs, ServerSideEncryptionConfiguration={"Rules": sse_s3}),
    )
    account = client("sts", env, region=env.state_region).get_caller_identity()["Account"]
    delivery = {
        "Sid": LOG_DELIVERY_SID,
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{logs}/{bucket}/*",
        "Condition": {
            "ArnLike": {"aws:SourceArn": f"arn:aws:s3:::{bucket}"},
            "StringEquals": {"aws:SourceAccount": account},
        },
    }
    wanted = [delivery, _tls_statement(logs)] if env.state.tls_only else [delivery]
    _policy(s3, logs, log_settle, "log bucket: policy (log delivery only)", wanted)
    target = {"TargetBucket": logs, "TargetPrefix": f"{bucket}/"}
    logging = s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled", {})
    settle(
        "server access logging",
        {k: logging.get(k) for k in target} == target,
        lambda: s3.put_bucket_logging(Bucket=bucket, BucketLoggingStatus={"LoggingEnabled": target}),
    )
