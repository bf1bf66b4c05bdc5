"""The local pipeline as the real-engine tests drive it: a repository copy, the variables every make call
gets, the emulator's AWS."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3

from shared import cdk
from shared.config import load_environment
from shared.emulator_quirks import QUIRKS
from shared.naming import ci_role_name, state_kms_alias
from shared.ops.aws import engine_environment
from shared.ops.runner.steps import changed_attributes
from tests.support import real_engine

LOCAL = load_environment("local")
STACKS = [f"{s}-local" for s in ("network", "data", "compute", "monitoring")]
# `make e2e TOOLCHAIN=cdktn` runs this test on CDK Terrain: every make call here uses the same toolchain.
TOOLCHAIN = f"TOOLCHAIN={cdk.ACTIVE.name}"


@dataclass(frozen=True)
class Credentials:
    """An identity's keys, as the AWS variables carry them."""

    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def variables(self) -> dict[str, str]:
        found = {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}
        return found | ({"AWS_SESSION_TOKEN": self.session_token} if self.session_token else {})


class Pipeline:
    """The repository copy, the variables every make call gets, and the emulator's AWS."""

    def __init__(self, repo: Path, endpoint: str, tmp: Path):
        self.repo, self.endpoint = repo, endpoint
        self.transcript: list[str] = []  # everything every make call printed
        engine = real_engine.find_engine()
        mirror = real_engine.find_mirror(LOCAL.aws.provider_version)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FAKE_TF_", "E2E_"))}
        self.env.update(TF_PROVIDER_MIRROR=str(mirror), TF_PLUGIN_CACHE_DIR=str(tmp / "plugin-cache"))
        self.env.pop("CONFIRM", None)
        Path(self.env["TF_PLUGIN_CACHE_DIR"]).mkdir()
        self.env["TF_BIN"] = engine

    def make(
        self, *args: str, ok: bool = True, cwd: Path | None = None, credentials: Credentials | None = None
    ) -> subprocess.CompletedProcess:
        """`make <args>` in the copy (or `cwd`, another checkout), its output kept in the transcript. With
        `credentials`, as that identity: the tool sends them to the emulator (EMULATOR_USE_CALLER_CREDENTIALS)
        instead of its test keys."""
        args = (*args, TOOLCHAIN)
        env = self.env
        if credentials is not None:
            env = {**self.env, **credentials.variables(), "EMULATOR_USE_CALLER_CREDENTIALS": "1"}
        proc = subprocess.run(
            ["make", *args],
            cwd=cwd or self.repo,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
        self.transcript += [proc.stdout, proc.stderr]
        if ok:
            assert proc.returncode == 0, f"make {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-4000:]}"
        return proc

    def start(self, *command: str, cwd: Path | None = None, session: bool = True) -> subprocess.Popen:
        """`make <args>` (with the toolchain) started as a terminal would, in a session of its own unless told,
        its output and errors in one pipe; the caller reads it and waits."""
        return subprocess.Popen(
            [*command, TOOLCHAIN],
            cwd=cwd or self.repo,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=session,
        )

    def make_interrupted(self, *args: str, when: str) -> tuple[int, str]:
        """Run make as a terminal would, and press Ctrl-C (SIGINT to the foreground process group) as
        soon as a line of its output contains `when`. Returns make's exit code and all its output."""
        proc = self.start("make", *args)
        lines, sent = [], False
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if not sent and when in line:
                os.killpg(proc.pid, signal.SIGINT)
                sent = True
        assert sent, f"never saw {when!r}:\n{''.join(lines)[-4000:]}"
        self.transcript += lines
        return proc.wait(timeout=600), "".join(lines)

    def aws(self, service: str, credentials: Credentials | None = None, region: str | None = None):
        """A client of the emulator: with its test keys (an administrator while IAM is not enforced), or as
        `credentials`; in the environment's region, or `region` (the emulator keeps each region apart)."""
        keys = credentials or Credentials("test", "test")
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or LOCAL.aws.region,
            aws_access_key_id=keys.access_key_id,
            aws_secret_access_key=keys.secret_access_key,
            aws_session_token=keys.session_token,
        )

    def enforce_iam(self, enforced: bool) -> None:
        """Make the emulator judge every request by IAM from now on, or no request (its start: moto_server's
        INITIAL_NO_AUTH_ACTION_COUNT, here changed at run time). While enforced, the test keys are nobody."""
        request = urllib.request.Request(
            f"{self.endpoint}/moto-api/reset-auth",
            data=b"0" if enforced else b"inf",
            headers={"Content-Type": "text/plain"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200, answer.read()

    def assume(self, role_arn: str, caller: Credentials) -> Credentials:
        """The role's session credentials, assumed by `caller` (the emulator checks the role's trust)."""
        got = self.aws("sts", caller).assume_role(RoleArn=role_arn, RoleSessionName="e2e")["Credentials"]
        return Credentials(got["AccessKeyId"], got["SecretAccessKey"], got["SessionToken"])

    def workdir(self, stack: str) -> Path:
        return self.repo / "cdktf.out" / "stacks" / stack

    def planned_changes(self, action: str = "plan") -> set[tuple[str, str, str]]:
        """(stack, address, attribute) of every attribute the last `make <action>` found changing, from its
        report (the saved plans are gone by then: they never outlive their command)."""
        report = json.loads((self.repo / "reports" / f"local-{action}.json").read_text())
        return {
            (s["stack"], c["address"], attr) for s in report["stacks"] for c in s["changes"] for attr in c["attributes"]
        }

    def engine_in_copy(self, stack: str, synthesized: dict) -> Callable[..., subprocess.CompletedProcess]:
        """The engine, as the tool runs it (its CLI configuration, the emulator's credentials), on a fresh
        copy of the stack's working directory whose cdk.tf.json is `synthesized`: the same state, other
        code. Returns `run(*args)`, which runs the engine there."""
        copy = self.repo.parent / f"copy-{stack}"
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(self.workdir(stack), copy, symlinks=True, ignore=shutil.ignore_patterns("*.tfplan"))
        (copy / "cdk.tf.json").write_text(json.dumps(synthesized))
        env = dict(self.env, TF_CLI_CONFIG_FILE=str(self.repo / "cdktf.out" / "terraform.rc"))
        for name, value in engine_environment(LOCAL).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value

        def run(*args: str) -> subprocess.CompletedProcess:
            proc = subprocess.run(
                [self.env["TF_BIN"], *args], cwd=copy, env=env, capture_output=True, text=True, check=False
            )
            self.transcript += [proc.stdout, proc.stderr]
            return proc

        return run

    def plan_without_quirks_ignored(self) -> set[tuple[str, str, str]]:
        """(stack, address, attribute) of what a plan of the deployed stacks changes once the product's
        emulator quirks are no longer ignored (shared/emulator_quirks.py): the same code, minus those
        ignore_changes entries, planned against the same state."""
        quirks = {(q.resource_type, q.attribute) for q in QUIRKS}
        changed = set()
        for stack in STACKS:
            synthesized = json.loads((self.workdir(stack) / "cdk.tf.json").read_text())
            for rtype, items in synthesized.get("resource", {}).items():
                for body in items.values():
                    lifecycle = body.get("lifecycle", {})
                    own = [a for a in lifecycle.get("ignore_changes", []) if (rtype, a) not in quirks]
                    if own:
                        lifecycle["ignore_changes"] = own
                    else:
                        lifecycle.pop("ignore_changes", None)
                    if "lifecycle" in body and not lifecycle:
                        del body["lifecycle"]
            engine = self.engine_in_copy(stack, synthesized)
            planned = engine("plan", "-input=false", "-no-color", "-lock=false", "-out=quirks.tfplan")
            assert planned.returncode == 0, planned.stdout[-3000:] + planned.stderr[-3000:]
            shown = engine("show", "-json", "quirks.tfplan")
            assert shown.returncode == 0, shown.stderr[-3000:]
            for change in json.loads(shown.stdout).get("resource_changes", []):
                if change["change"]["actions"] != ["no-op"] and change["mode"] == "managed":
                    changed |= {(stack, change["address"], a) for a in changed_attributes(change["change"])}
        return changed

    def state(self, stack: str) -> tuple[str, dict]:
        """ETag and content of the stack's state object."""
        key = f"{LOCAL.state.key_prefix}/local/{stack.split('-')[0]}.tfstate"
        obj = self.aws("s3").get_object(Bucket=LOCAL.state.bucket, Key=key)
        return obj["ETag"], json.loads(obj["Body"].read())

    def leftovers(self) -> list[str]:
        """Managed resources of the local stacks still in the emulator."""
        name = "-local"
        found = []
        vpcs = self.aws("ec2").describe_vpcs(Filters=[{"Name": "tag:environment", "Values": ["local"]}])["Vpcs"]
        found += [f"vpc {v['VpcId']}" for v in vpcs]
        found += [f"stream {s}" for s in self.aws("kinesis").list_streams()["StreamNames"] if s.endswith(name)]
        found += [f"table {t}" for t in self.aws("dynamodb").list_tables()["TableNames"] if name in t]
        found += [f"queue {q}" for q in self.aws("sqs").list_queues().get("QueueUrls", []) if q.endswith(name)]
        found += [
            f"db cluster {c['DBClusterIdentifier']}" for c in self.aws("rds").describe_db_clusters()["DBClusters"]
        ]
        found += [
            f"db instance {i['DBInstanceIdentifier']}" for i in self.aws("rds").describe_db_instances()["DBInstances"]
        ]
        found += [f"secret {s['Name']}" for s in self.aws("secretsmanager").list_secrets()["SecretList"]]
        clusters = self.aws("ecs").list_clusters()["clusterArns"]
        if clusters:
            found += [
                f"ecs cluster {c['clusterName']}"
                for c in self.aws("ecs").describe_clusters(clusters=clusters)["clusters"]
                if c["status"] == "ACTIVE"
            ]
        found += [f"log group {g['logGroupName']}" for g in self.aws("logs").describe_log_groups()["logGroups"]]
        found += [f"alarm {a['AlarmName']}" for a in self.aws("cloudwatch").describe_alarms()["MetricAlarms"]]
        found += [
            f"dashboard {d['DashboardName']}" for d in self.aws("cloudwatch").list_dashboards()["DashboardEntries"]
        ]
        found += [f"topic {t['TopicArn']}" for t in self.aws("sns").list_topics()["Topics"]]
        found += [
            f"role {r['RoleName']}"
            for r in self.aws("iam").list_roles()["Roles"]
            # The CI roles are make bootstrap's, like the state bucket: no destroy takes them.
            if r["RoleName"].endswith(name)
            and r["RoleName"] not in {ci_role_name(LOCAL, k) for k in ("deploy", "plan")}
        ]
        kms = self.aws("kms")
        found += [f"key alias {a['AliasName']}" for a in kms.list_aliases()["Aliases"] if a["AliasName"].endswith(name)]
        # alias/aws/<service> keys are AWS-managed in AWS; moto makes them on first lookup (the provider
        # looks up alias/aws/dynamodb to tell the default table key from ours, several at once when
        # tables are read in parallel) and calls them CUSTOMER.
        aws_managed = {
            a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/aws/")
        }
        # The state's own key is make bootstrap's, like the state bucket: no destroy takes it.
        bootstrapped = {
            a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"] if a["AliasName"] == state_kms_alias(LOCAL)
        }
        for key in kms.list_keys()["Keys"]:
            meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
            if key["KeyId"] in aws_managed or meta.get("Description") == "Default key":  # moto's name for them
                continue
            if key["KeyId"] in bootstrapped:
                continue
            if meta.get("KeyManager") == "CUSTOMER" and meta["KeyState"] != "PendingDeletion":
                found.append(f"kms key {key['KeyId']} ({meta.get('Description', '')})")
        return found
