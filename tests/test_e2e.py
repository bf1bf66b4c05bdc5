"""The real engine against the emulator, end to end, through the make targets engineers type.

`make e2e` runs this alone; `make test` runs it with everything else (`-m "not e2e"` leaves it out
while iterating). It skips, saying what is missing, only where no engine or no AWS provider can be
found. The stacks run exactly as synthesized: `local` needs no provider but AWS's.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from shared import precious
from shared.contract import CONTRACT_OUTPUTS
from shared.emulator_quirks import EMULATOR_IAM, QUIRKS
from shared.naming import state_kms_alias
from tests.support.local_pipeline import LOCAL, STACKS, Credentials, Pipeline

pytestmark = pytest.mark.e2e


def data_is_safe_from_routine_changes(pipeline: Pipeline, outputs: dict, step) -> None:
    """A config change that replaces the database is refused until it is named; prevent_destroy, as a
    protected environment synthesizes it, stops the engine itself."""
    rds = pipeline.aws("rds")
    cluster_id = outputs["data"]["rds_cluster_identifier"]

    def database() -> tuple[str, str]:
        cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
        return cluster["DatabaseName"], cluster["ClusterCreateTime"].isoformat()

    step("a config change that replaces the database: refused, state and emulator unchanged")
    config = pipeline.repo / "environments" / "local.yaml"
    original = config.read_text()
    renamed = "metadata_v2"
    assert LOCAL.data.aurora.database_name != renamed
    config.write_text(original.replace("  aurora:\n", f"  aurora:\n    database_name: {renamed}\n", 1))
    before_db = database()
    before_state = {s: pipeline.state(s)[0] for s in STACKS}
    refused = pipeline.make("deploy", "ENV=local", ok=False)
    assert refused.returncode == 2 and "Error 2" in refused.stderr, refused.stderr[-3000:]
    assert refused.stderr.count("refusing to apply data-local") == 1, refused.stderr[-3000:]
    assert "data: aws_rds_cluster.cluster would be replaced (deleted, then created), forced by database_name" in (
        refused.stderr
    )
    assert precious.lost_with("aws_rds_cluster") in refused.stderr
    assert re.search(r"data-local +refused", refused.stdout) and re.search(r"compute-local +not run", refused.stdout)
    allow = re.search(r"^    ALLOW_REPLACE=(\S+)$", refused.stderr, re.MULTILINE)[1]
    assert "data:aws_rds_cluster.cluster" in allow.split(","), allow
    assert {s: pipeline.state(s)[0] for s in STACKS} == before_state, "a refused deploy wrote state"
    assert database() == before_db, "a refused deploy changed the database"
    assert not (pipeline.workdir("data-local") / "data-local.tfplan").exists(), "the refused plan was kept"

    step("a misspelt allowance is refused too")
    typo = pipeline.make("deploy", "ENV=local", f"ALLOW_REPLACE={allow},data:aws_sqs_queue.dql", ok=False)
    assert typo.returncode == 2 and "ALLOW_REPLACE names data:aws_sqs_queue.dql" in typo.stderr, typo.stderr[-3000:]
    assert database() == before_db

    # The allowance's apply is proven below on the retention cut, which takes a second, where replacing the
    # cluster takes the engine's RDS waits (30 s before each of four polls): the config goes back instead.
    config.write_text(original)

    step("prevent_destroy, as a protected environment has it, stops the engine itself")
    from shared.app import synthesize  # the product's own synthesis of a protected shape (this process only)

    # As the copy's local.yaml has it (its own emulator port), but protected.
    aurora = LOCAL.data.aurora.model_copy(update={"password_generator": GENERATED})
    protected = LOCAL.model_copy(
        update={
            "protected": True,
            "aws": LOCAL.aws.model_copy(update={"endpoint": pipeline.endpoint}),
            "data": LOCAL.data.model_copy(update={"aurora": aurora}),
        }
    )
    shape = json.loads(
        (
            synthesize([protected], pipeline.repo.parent / "protected-out") / "stacks" / "data-local" / "cdk.tf.json"
        ).read_text()
    )
    engine = pipeline.engine_in_copy("data-local", shape)
    stopped = engine("plan", "-destroy", "-input=false", "-no-color", "-lock=false")
    assert stopped.returncode == 1, stopped.stdout[-2000:] + stopped.stderr[-2000:]
    assert "Instance cannot be destroyed" in stopped.stderr and "prevent_destroy" in stopped.stderr, stopped.stderr
    assert database() == before_db

    step("a retention cut in local.yaml: refused until named, and the emulator's queue shows which happened")
    sqs = pipeline.aws("sqs")

    def kept_for() -> int:
        attributes = sqs.get_queue_attributes(QueueUrl=outputs["data"]["dlq_url"], AttributeNames=["All"])
        return int(attributes["Attributes"]["MessageRetentionPeriod"])

    assert kept_for() == LOCAL.data.dlq.retention_days * 86400
    config.write_text(config.read_text().replace("data:\n", "data:\n  dlq:\n    retention_days: 1\n", 1))
    cut = pipeline.make("deploy", "ENV=local", ok=False)
    assert cut.returncode == 2 and "refusing to apply data-local" in cut.stderr, cut.stderr[-3000:]
    assert "data: aws_sqs_queue.dlq would lower message_retention_seconds from 14 days to 1 day" in cut.stderr
    assert "lost: DLQ messages older than 1 day" in cut.stderr and "\n    ALLOW_REPLACE=data:aws_sqs_queue.dlq\n" in (
        cut.stderr
    )
    assert kept_for() == LOCAL.data.dlq.retention_days * 86400, "a refused retention cut reached the queue"
    pipeline.make("deploy", "ENV=local", "ALLOW_REPLACE=data:aws_sqs_queue.dlq")
    assert kept_for() == 86400


def database_password(pipeline: Pipeline, outputs: dict) -> str:
    secrets = pipeline.aws("secretsmanager")
    return json.loads(secrets.get_secret_value(SecretId=outputs["data"]["db_secret_arn"])["SecretString"])["password"]


def found_anywhere(pipeline: Pipeline, secret: str) -> list[str]:
    """Where `secret` is, as it is: any version of any state object, a file the tools wrote, a line make printed."""
    needle, found = secret.encode(), []
    s3 = pipeline.aws("s3")
    for version in s3.list_object_versions(Bucket=LOCAL.state.bucket).get("Versions", []):
        body = s3.get_object(Bucket=LOCAL.state.bucket, Key=version["Key"], VersionId=version["VersionId"])
        if needle in body["Body"].read():
            found.append(f"s3://{LOCAL.state.bucket}/{version['Key']} version {version['VersionId']}")
    for top in ("cdktf.out", "outputs", "reports"):
        for path in (pipeline.repo / top).rglob("*"):
            plain = path.is_file() and not path.is_symlink() and "providers" not in path.parts
            if plain and needle in path.read_bytes():
                found.append(str(path.relative_to(pipeline.repo)))
    found += [f"make output #{i}" for i, text in enumerate(pipeline.transcript) if secret in text]
    return found


def the_password_rests_only_in_secrets_manager(pipeline: Pipeline, outputs: dict, step) -> None:
    """Written through write-only arguments from an ephemeral password: in no state version, no file the
    tools wrote, no line the engine printed; state under the environment's own key. (Its rotation is the
    apply faults_are_survived kills.)"""
    step("the database password is in Secrets Manager and nowhere else: state versions, files, engine output")
    first = database_password(pipeline, outputs)
    assert len(first) == 40 and not set(first) & set('/@" ')
    assert found_anywhere(pipeline, first) == []
    kms = pipeline.aws("kms")
    state_key = kms.describe_key(KeyId=state_kms_alias(LOCAL))["KeyMetadata"]["Arn"]
    s3 = pipeline.aws("s3")
    for stack in STACKS:
        head = s3.head_object(
            Bucket=LOCAL.state.bucket, Key=f"{LOCAL.state.key_prefix}/local/{stack.split('-')[0]}.tfstate"
        )
        assert head["ServerSideEncryption"] == "aws:kms", (stack, head)
        assert kms.describe_key(KeyId=head["SSEKMSKeyId"])["KeyMetadata"]["Arn"] == state_key, (stack, head)
    assert not list((pipeline.repo / "cdktf.out").rglob("*.tfplan")), "a saved plan outlived its command"
    readable = [
        str(p.relative_to(pipeline.repo))
        for top in ("cdktf.out", "outputs", "reports")
        for p in [pipeline.repo / top, *(pipeline.repo / top).rglob("*")]
        if p.exists() and not p.is_symlink() and p.lstat().st_mode & 0o077
    ]
    assert readable == [], f"readable by others: {readable[:10]}"


def password_escapings(secret: str) -> dict[str, str]:
    """The password as a log could hold it: as it is; JSON-escaped, also as Go writes JSON (& < > as \\u0026
    \\u003c \\u003e), once or inside another JSON string (a response body logged as a JSON field); URL- and
    form-encoded; base64 and base64url at each of the three alignments it can have inside a longer blob."""

    def go(text: str) -> str:
        return json.dumps(text)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")

    forms = {
        "as it is": secret,
        "JSON": json.dumps(secret)[1:-1],
        "Go's JSON": go(secret),
        "JSON in JSON": json.dumps(json.dumps(secret)[1:-1])[1:-1],
        "Go's JSON in JSON": json.dumps(go(secret))[1:-1],
        "URL-encoded": urllib.parse.quote(secret, safe=""),
        "form-encoded": urllib.parse.quote_plus(secret),
    }
    raw = secret.encode()
    for shift in range(3):  # the characters that hold only the password's bits, whatever comes before it
        start, end = -(-shift * 8 // 6), (shift + len(raw)) * 8 // 6
        forms[f"base64 at {shift}"] = base64.b64encode(b"\0" * shift + raw).decode()[start:end]
        forms[f"base64url at {shift}"] = base64.urlsafe_b64encode(b"\0" * shift + raw).decode()[start:end]
    return forms


def no_password_in_debug_logs(pipeline: Pipeline, outputs: dict, step) -> None:
    """TF_LOG=TRACE and TF_LOG_PATH in the shell: the engine gets neither, and says so. A deploy that plans every
    stack (the data stack's refresh of the secret's version calls GetSecretValue, whose response a provider
    logs at a debug level) and a drift check put the password, in no escaping, on the console, in a file the
    tools write, or at TF_LOG_PATH (which is never even created)."""
    step("TF_LOG=TRACE and TF_LOG_PATH in the shell: the engine gets neither; the password is in no log")
    secrets = pipeline.aws("secretsmanager")
    value = secrets.get_secret_value(SecretId=outputs["data"]["db_secret_arn"])["SecretString"]
    password = json.loads(value)["password"]
    log_path = pipeline.repo.parent / "tf-log-path.log"
    saved = dict(pipeline.env)
    pipeline.env.update(TF_LOG="TRACE", TF_LOG_PATH=str(log_path))
    try:
        # The data stack alone (it holds the secret) keeps this step short; drift plans every stack.
        deployed = pipeline.make("deploy", "ENV=local", "STACK=data", "FORCE=1")
        drifted = pipeline.make("drift", "ENV=local")
    finally:
        pipeline.env.clear()
        pipeline.env.update(saved)
    assert re.search(r"data-local +(no changes|applied)", deployed.stdout), deployed.stdout[-3000:]  # refreshed
    assert "no drift in local" in drifted.stdout, drifted.stdout[-3000:]
    notice = (
        "TF_LOG, TF_LOG_PATH are set in your shell: the engine does not get them (its debug log would hold "
        "secrets); for engine debugging use ENGINE_DEBUG=1"
    )
    for proc in (deployed, drifted):
        assert proc.stderr.count(notice) == 1, proc.stderr[-3000:]
    assert not log_path.exists(), f"the engine wrote {log_path}"

    forms = password_escapings(password)
    found = [
        f"make output #{i} ({name})"
        for i, text in enumerate(pipeline.transcript)
        for name, form in forms.items()
        if form in text
    ]
    for top in ("cdktf.out", "reports", "outputs"):
        for path in (pipeline.repo / top).rglob("*"):
            if not path.is_file() or path.is_symlink() or "providers" in path.parts:
                continue  # the provider binaries, through the plugin cache
            data = path.read_bytes()
            found += [
                f"{path.relative_to(pipeline.repo)} ({name})" for name, form in forms.items() if form.encode() in data
            ]
    assert found == [], f"the password is in: {found[:20]}"


GENERATED = "secrets_manager"  # today's generator of the deployed environments this test upgrades (AWS provider only)
WINDOW = 7  # days the secret of the generated password can be restored once the upgrade deletes it


def rds_takes_over_the_password(pipeline: Pipeline, outputs: dict, step) -> dict:
    """The upgrade of a deployed environment from a generated password to the one RDS keeps: the cluster is
    updated in place, only the old secret (and its version) are deleted, named, with their recovery window;
    db_secret_arn becomes RDS's secret, and the workers (who log in by IAM token) are left as they are. Then no
    engine run reads the password: at TRACE, the engine's whole debug log holds no GetSecretValue and no form of
    it. Returns the new outputs."""
    rds, secrets, ecs = pipeline.aws("rds"), pipeline.aws("secretsmanager"), pipeline.aws("ecs")
    cluster_id = outputs["data"]["rds_cluster_identifier"]
    family = outputs["compute"]["task_definition_family"]

    def cluster() -> dict:
        return rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]

    before = cluster()
    old_secret = outputs["data"]["db_secret_arn"]
    old_revision = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"]

    step("switch to the password RDS keeps: refused until the old secret's deletion is named, the cluster stays")
    config = pipeline.repo / "environments" / "local.yaml"
    text = config.read_text()
    for line in (f"    password_generator: {GENERATED}\n", "    password_version: 2\n"):
        assert line in text, line
        text = text.replace(line, "", 1)
    config.write_text(text)
    refused = pipeline.make("deploy", "ENV=local", ok=False)
    assert refused.returncode == 2 and "refusing to apply data-local" in refused.stderr, refused.stderr[-3000:]
    assert "aws_rds_cluster.cluster would" not in refused.stderr, refused.stderr[-3000:]  # updated in place
    allow = re.search(r"^    ALLOW_REPLACE=(\S+)$", refused.stderr, re.MULTILINE)[1]
    assert set(allow.split(",")) == {
        "data:aws_secretsmanager_secret.db_secret",
        "data:aws_secretsmanager_secret_version.db_secret_value",
    }, allow
    assert cluster()["ClusterCreateTime"] == before["ClusterCreateTime"] and "MasterUserSecret" not in cluster()

    upgraded = pipeline.make("deploy", "ENV=local", f"ALLOW_REPLACE={allow}")
    assert re.search(r"data-local +applied", upgraded.stdout), upgraded.stdout[-3000:]
    assert not re.search(r"compute-local +applied", upgraded.stdout), upgraded.stdout[-3000:]
    after = cluster()
    assert (after["DbClusterResourceId"], after["ClusterCreateTime"]) == (
        before["DbClusterResourceId"],
        before["ClusterCreateTime"],
    ), "the cluster was replaced"
    new = json.loads((pipeline.repo / "outputs" / "local.json").read_text())
    managed = after["MasterUserSecret"]
    assert new["data"]["db_secret_arn"] == managed["SecretArn"] != old_secret
    assert managed["KmsKeyId"] == new["data"]["kms_key_arn"]
    assert set(json.loads(secrets.get_secret_value(SecretId=managed["SecretArn"])["SecretString"])) == {
        "username",
        "password",
    }
    # No rotation schedule set here: the emulator could not cancel it on destroy (emulator_quirks.IMITATIONS).
    gone = secrets.describe_secret(SecretId=old_secret)
    assert "DeletedDate" in gone, "the old secret was not scheduled for deletion"
    task = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert task["revision"] == old_revision, "the workers were rolled for a password they do not use"
    pipeline.make("plan", "ENV=local")
    assert pipeline.planned_changes("plan") == set(), "a plan right after the upgrade changes something"
    held = sorted(
        f"{r['type']}.{r['name']}"
        for r in pipeline.state("data-local")[1]["resources"]
        if r["mode"] == "managed" and precious.is_precious(r["type"])
    )
    assert held == precious.committed_addresses()["local"]["data"], held

    step("no engine run reads the password RDS keeps: ENGINE_DEBUG=1 (TRACE) on a forced deploy and a drift check")
    password = json.loads(secrets.get_secret_value(SecretId=managed["SecretArn"])["SecretString"])["password"]
    saved = dict(pipeline.env)
    for name in ("CI", "GITHUB_ACTIONS"):  # engine debugging is refused under CI; this run's log is its own
        pipeline.env.pop(name, None)
    pipeline.env["ENGINE_DEBUG"] = "1"
    try:
        runs = [pipeline.make("deploy", "ENV=local", "STACK=data", "FORCE=1"), pipeline.make("drift", "ENV=local")]
    finally:
        pipeline.env.clear()
        pipeline.env.update(saved)
    forms = password_escapings(password)
    for run in runs:
        path = Path(re.search(r"engine debug log \(ENGINE_DEBUG, TF_LOG=TRACE\): (\S+);", run.stdout + run.stderr)[1])
        trace = path.read_text(errors="replace")
        assert "DescribeDBClusters" in trace  # the log is the provider's whole conversation
        # The call, not the name in a policy document the engine reads back (secretsmanager:GetSecretValue).
        calls = re.findall(r"(?<!secretsmanager:)(?<!secretsmanager%3A)GetSecretValue", trace)
        assert calls == [], "an engine run read a secret"
        assert [name for name, form in forms.items() if form in trace] == []
        shutil.rmtree(path.parent, ignore_errors=True)
    return new


ADMIN = "e2e-administrator"
PROBE = "e2e-task-probe"  # the task role's policy on a role the administrator may assume


def administrator(pipeline: Pipeline) -> Credentials:
    """An IAM user allowed everything, made while the emulator still judges nothing (moto's free first calls):
    under enforced IAM the test keys are nobody."""
    iam = pipeline.aws("iam")
    iam.create_user(UserName=ADMIN)
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    iam.put_user_policy(UserName=ADMIN, PolicyName="everything", PolicyDocument=json.dumps(everything))
    key = iam.create_access_key(UserName=ADMIN)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def denied(call, *args, **kwargs) -> str:
    """The error code of a call that must be refused by IAM (anything else fails the test)."""
    with pytest.raises(ClientError) as refused:
        call(*args, **kwargs)
    code = refused.value.response["Error"]["Code"]
    # The emulator answers a JSON service's denial in XML (EMULATOR_IAM), which botocore reports by its status.
    as_xml = code == "403" and "<Code>AccessDenied</Code>" in str(refused.value)
    assert code in {"AccessDenied", "AccessDeniedException"} or as_xml, refused.value
    return code


def ci_roles_hold_under_enforced_iam(pipeline: Pipeline, outputs: dict, admin: Credentials, step) -> None:
    """The roles make bootstrap creates, used as CI uses them while the emulator enforces IAM: the plan role
    plans and checks drift but reads no secret, writes no state and creates nothing; the deploy role applies
    and is kept to its own environment's state; the workers' task role reaches its own stream and queue, and
    nothing of the master's secret. What the emulator cannot judge (resource scopes outside S3, SQS, IAM and
    STS; conditions; OIDC trust; boundaries: shared/emulator_quirks.py EMULATOR_IAM) is checked on the documents by
    tests/shared/access/."""
    pipeline.enforce_iam(True)
    try:
        step("enforced IAM: the test keys are refused; bootstrap as the administrator, the CI roles now trust it")
        with pytest.raises(ClientError) as nobody:
            pipeline.aws("sts").get_caller_identity()
        assert nobody.value.response["Error"]["Code"] == "InvalidClientTokenId", nobody.value
        pipeline.make("bootstrap", "ENV=local", credentials=admin)
        as_admin = {s: pipeline.aws(s, admin) for s in ("s3", "sqs", "iam", "sns")}
        admin_arn = as_admin["iam"].get_user(UserName=ADMIN)["User"]["Arn"]
        ci = json.loads((pipeline.repo / "outputs" / "local.json").read_text())["ci"]
        for arn in (ci["plan_role_arn"], ci["deploy_role_arn"]):  # the emulator's stand-in for OIDC trust
            trust = as_admin["iam"].get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
            trust = json.loads(trust) if isinstance(trust, str) else trust
            callers = [s["Principal"]["AWS"] for s in trust["Statement"] if s["Sid"] == "EmulatorCaller"]
            assert callers == [admin_arn], trust
        plan = pipeline.assume(ci["plan_role_arn"], admin)
        deploy = pipeline.assume(ci["deploy_role_arn"], admin)

        step("the plan role plans every stack and checks drift; no secret value, no state write, no create")
        pipeline.make("plan", "ENV=local", credentials=plan)
        assert pipeline.planned_changes("plan") == set()
        drift = pipeline.make("drift", "ENV=local", credentials=plan)
        assert "no drift in local" in drift.stdout, drift.stdout[-3000:]
        secret_arn = outputs["data"]["db_secret_arn"]
        denied(pipeline.aws("secretsmanager", plan).get_secret_value, SecretId=secret_arn)
        key = f"{LOCAL.state.key_prefix}/local/data.tfstate"
        s3_plan = pipeline.aws("s3", plan)
        s3_plan.get_object(Bucket=LOCAL.state.bucket, Key=key)  # reads its state: the plan needs it
        denied(s3_plan.put_object, Bucket=LOCAL.state.bucket, Key=key, Body=b"{}")
        denied(s3_plan.put_object, Bucket=LOCAL.state.bucket, Key=f"{key}.tflock", Body=b"{}")
        denied(s3_plan.delete_object, Bucket=LOCAL.state.bucket, Key=key)
        denied(pipeline.aws("sqs", plan).create_queue, QueueName="made-by-plan-local")
        denied(pipeline.aws("ec2", plan).create_vpc, CidrBlock="10.9.0.0/16")
        denied(pipeline.aws("iam", plan).create_role, RoleName="made-by-plan-local", AssumeRolePolicyDocument="{}")

        step("the deploy role puts back an out-of-band change (FORCE=1 plans every stack) and reads no other state")
        topic = outputs["monitoring"]["alarm_topic_arn"]
        as_admin["sns"].set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="changed")
        applied = pipeline.make("deploy", "ENV=local", "FORCE=1", credentials=deploy)
        assert re.search(r"monitoring-local +applied", applied.stdout), applied.stdout[-3000:]
        attributes = as_admin["sns"].get_topic_attributes(TopicArn=topic)["Attributes"]
        assert attributes.get("DisplayName") != "changed"
        s3_deploy = pipeline.aws("s3", deploy)
        for other in ("dev", "staging", "prod"):
            elsewhere = f"{LOCAL.state.key_prefix}/{other}/data.tfstate"
            as_admin["s3"].put_object(Bucket=LOCAL.state.bucket, Key=elsewhere, Body=b"{}")
            denied(s3_deploy.get_object, Bucket=LOCAL.state.bucket, Key=elsewhere)
            denied(s3_deploy.put_object, Bucket=LOCAL.state.bucket, Key=elsewhere, Body=b"{}")
            denied(s3_deploy.delete_object, Bucket=LOCAL.state.bucket, Key=elsewhere)
            as_admin["s3"].delete_object(Bucket=LOCAL.state.bucket, Key=elsewhere)

        step("the workers' task role (its policy on a role the administrator may assume): its own queue only")
        task_role = outputs["compute"]["task_role_arn"].rsplit("/", 1)[1]
        document = as_admin["iam"].get_role_policy(RoleName=task_role, PolicyName="video-worker")["PolicyDocument"]
        document = json.loads(document) if isinstance(document, str) else document
        statements = {s["Sid"]: s for s in document["Statement"]}
        # Scopes the emulator cannot judge (kinesis, rds-db): the document names only this environment's.
        assert statements["ReadIngestStream"]["Resource"] == [outputs["data"]["kinesis_stream_arn"]]
        resource_id = pipeline.aws("rds", admin).describe_db_clusters(
            DBClusterIdentifier=outputs["data"]["rds_cluster_identifier"]
        )["DBClusters"][0]["DbClusterResourceId"]
        assert statements["ConnectAsOwnDatabaseUser"]["Resource"] == [
            f"arn:aws:rds-db:{LOCAL.aws.region}:{admin_arn.split(':')[4]}:dbuser:{resource_id}/"
            + LOCAL.data.aurora.app_user
        ]
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": admin_arn},
            "Action": "sts:AssumeRole",
        }]}  # fmt: skip
        probe = as_admin["iam"].create_role(RoleName=PROBE, AssumeRolePolicyDocument=json.dumps(trust))
        as_admin["iam"].put_role_policy(
            RoleName=PROBE,
            PolicyName="video-worker",
            PolicyDocument=json.dumps(EMULATOR_IAM.widen(document)),  # as an emulated CI role is widened
        )
        worker = pipeline.assume(probe["Role"]["Arn"], admin)
        # A role that is not the environment's is out of the deploy role's reach (the emulator judges CreateRole
        # on `*`, EMULATOR_IAM: the documents' tests show that a create outside its names is refused too).
        denied(pipeline.aws("iam", deploy).delete_role_policy, RoleName=PROBE, PolicyName="video-worker")
        denied(pipeline.aws("iam", deploy).put_role_policy, RoleName=PROBE, PolicyName="escape", PolicyDocument="{}")
        sqs = pipeline.aws("sqs", worker)
        own = outputs["data"]["dlq_url"]
        sqs.send_message(QueueUrl=own, MessageBody="a failed job")
        sqs.get_queue_attributes(QueueUrl=own, AttributeNames=["QueueArn"])
        pipeline.aws("kinesis", worker).describe_stream_summary(StreamName=outputs["data"]["kinesis_stream_name"])
        # The master's secret is no worker's business: they log in as their own user by IAM token.
        denied(pipeline.aws("secretsmanager", worker).get_secret_value, SecretId=secret_arn)
        elsewhere = as_admin["sqs"].create_queue(QueueName="video-jobs-dlq-dev")["QueueUrl"]
        denied(sqs.send_message, QueueUrl=elsewhere, MessageBody="a failed job")
        denied(sqs.purge_queue, QueueUrl=own)  # not a worker's business
        as_admin["sqs"].delete_queue(QueueUrl=elsewhere)
        as_admin["iam"].delete_role_policy(RoleName=PROBE, PolicyName="video-worker")
        as_admin["iam"].delete_role(RoleName=PROBE)
    finally:
        pipeline.enforce_iam(False)


def faults_are_survived(pipeline: Pipeline, outputs: dict, step) -> None:
    """Real faults on the real engine: a lock a crashed run left behind, and the tool killed mid-apply while
    a second checkout tries the same stack. The apply killed is the password's rotation (a raised
    data.aurora.password_version): the engine finishes it, so one apply puts the new password in the secret and
    the cluster, and the next deploy goes on from there. (One cluster change, not two: each costs the
    provider's RDS waits, 30 s before each poll.)"""
    s3 = pipeline.aws("s3")
    bucket = LOCAL.state.bucket

    def lock_objects() -> list[str]:
        return [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []) if o["Key"].endswith(".tflock")]

    step("a state lock left behind by a crashed run: a plan reads past it, a deploy names it, make unlock releases it")
    key = f"{LOCAL.state.key_prefix}/local/compute.tfstate"
    left = {
        "ID": "5b8f2c1e-77d0-4e5a-a0c4-crashedrun01",
        "Operation": "OperationTypeApply",
        "Info": "",
        "Who": "ci@crashed-runner",
        "Version": "1.11.4",
        "Created": "2026-11-30T23:00:00.000000Z",
        "Path": f"{bucket}/{key}",
    }
    s3.put_object(Bucket=bucket, Key=f"{key}.tflock", Body=json.dumps(left).encode())
    pipeline.make("plan", "ENV=local", "STACK=compute", "STATE_LOCK_TIMEOUT=0")  # never applied: takes no lock
    locked = pipeline.make("deploy", "ENV=local", "STACK=compute", "FORCE=1", "STATE_LOCK_TIMEOUT=0", ok=False)
    assert locked.returncode == 2 and "Error 1" in locked.stderr, locked.stderr[-3000:]
    assert "compute-local: its state is locked, held by ci@crashed-runner for OperationTypeApply since" in (
        locked.stderr
    ), locked.stderr[-3000:]
    assert f"make unlock ENV=local STACK=compute LOCK_ID={left['ID']}" in locked.stderr
    wrong = pipeline.make("unlock", "ENV=local", "STACK=compute", "LOCK_ID=not-that-one", ok=False)
    assert wrong.returncode == 2 and f"its ID is {left['ID']}" in wrong.stderr and lock_objects() == [f"{key}.tflock"]
    released = pipeline.make("unlock", "ENV=local", "STACK=compute", f"LOCK_ID={left['ID']}")
    assert f"released the state lock {left['ID']} of compute-local" in released.stdout
    assert lock_objects() == []
    pipeline.make("plan", "ENV=local", "STACK=compute")

    step(
        "the tool killed during the password's rotation: its engine finishes and saves; a second checkout "
        "meanwhile is refused; the next deploy goes on"
    )
    first = database_password(pipeline, outputs)
    second = pipeline.repo.parent / "second-checkout"  # a colleague's clone: its own cdktf.out, the same state
    shutil.copytree(
        pipeline.repo,
        second,
        symlinks=True,
        ignore=shutil.ignore_patterns(".locks", "outputs", "reports", ".emulator", "*.tfplan"),
    )
    config = pipeline.repo / "environments" / "local.yaml"
    config.write_text(config.read_text().replace("  aurora:\n", "  aurora:\n    password_version: 2\n", 1))
    # And a recovery window (a plain update of the secret): the upgrade to RDS's password deletes it later.
    config.write_text(config.read_text().replace("data:\n", f"data:\n  secret_recovery_window_days: {WINDOW}\n", 1))
    (second / "environments" / "local.yaml").write_text(config.read_text())
    lock_file = pipeline.repo / "cdktf.out" / ".locks" / "local.lock"
    proc = pipeline.start("make", "deploy", "ENV=local")
    lines, engine_pid = [], None
    assert proc.stdout is not None
    for line in proc.stdout:
        lines.append(line)
        if engine_pid is None and "aws_rds_cluster.cluster: Modifying..." in line:
            holder = json.loads(lock_file.read_text())
            (running,) = holder["engines"]
            assert running["stack"] == "data-local" and running["step"] == "apply", holder
            engine_pid = running["pid"]
            os.kill(holder["pid"], signal.SIGKILL)  # the tool, as the out-of-memory killer would
            refused = pipeline.make("deploy", "ENV=local", "STACK=data", "STATE_LOCK_TIMEOUT=0", ok=False, cwd=second)
    proc.wait(timeout=120)
    pipeline.transcript += lines
    assert engine_pid is not None, "never saw the cluster being modified:\n" + "".join(lines)[-3000:]
    deadline = time.monotonic() + 300
    while Path(f"/proc/{engine_pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not Path(f"/proc/{engine_pid}").exists(), "the engine never finished"
    assert refused.returncode == 2 and "Error 1" in refused.stderr, refused.stdout[-2000:] + refused.stderr[-2000:]
    assert "data-local: its state is locked, held by" in refused.stderr and "OperationTypeApply" in refused.stderr
    assert "Apply complete" not in refused.stdout  # the second checkout changed nothing
    output = (pipeline.workdir("data-local") / "engine-output.log").read_text(errors="replace")
    assert "Apply complete!" in output, output[-3000:]  # the engine finished the apply the killed tool started
    assert lock_objects() == [], "the engine left its state lock behind"
    data_state = pipeline.state("data-local")[1]["resources"]
    (cluster,) = [r for r in data_state if r["type"] == "aws_rds_cluster" and r["mode"] == "managed"]
    assert cluster["instances"][0]["attributes"]["master_password_wo_version"] == 2  # saved, as applied
    second_password = database_password(pipeline, outputs)
    assert second_password != first and len(second_password) == 40  # the secret and the cluster, in that apply
    went_on = pipeline.make("deploy", "ENV=local")
    # The rotation is one apply: the one the engine finished leaves the next deploy nothing to do in data-local.
    assert re.search(r"data-local +no changes", went_on.stdout), went_on.stdout[-3000:]
    assert f"data-local: database user {LOCAL.data.aurora.app_user}:" in went_on.stdout, went_on.stdout[-3000:]
    # The master's password is not the workers': they log in as their own user by IAM token, and stay as they are.
    assert not re.search(r"compute-local +applied", went_on.stdout), went_on.stdout[-3000:]
    family = outputs["compute"]["task_definition_family"]
    task = pipeline.aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    (container,) = task["containerDefinitions"]
    assert "secrets" not in container, "a credential reaches the workers"
    assert {"name": "DB_USER", "value": LOCAL.data.aurora.app_user} in container["environment"]
    assert found_anywhere(pipeline, second_password) == [] and found_anywhere(pipeline, first) == []
    pipeline.make("plan", "ENV=local")
    changes = pipeline.planned_changes("plan")
    assert changes == set(), f"after the kill and the rotation the state and the emulator differ: {changes}"


def the_workers_can_do_their_job(pipeline: Pipeline, outputs: dict) -> None:
    """What issue-10's workers need, read back from the emulator after a real apply."""
    data = outputs["data"]
    app = data["consumer_app_name"]
    dynamodb = pipeline.aws("dynamodb")
    key_arn = data["kms_key_arn"]
    keys = {app: ["leaseKey"], f"{app}-WorkerMetricStats": ["wid"], f"{app}-CoordinatorState": ["key"]}
    for table_name, hash_key in keys.items():
        table = dynamodb.describe_table(TableName=table_name)["Table"]
        assert [k["AttributeName"] for k in table["KeySchema"]] == hash_key, table_name
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        assert table["SSEDescription"]["KMSMasterKeyArn"] == key_arn
        backups = dynamodb.describe_continuous_backups(TableName=table_name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
    (index,) = dynamodb.describe_table(TableName=app)["Table"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "LeaseOwnerToLeaseKeyIndex"
    consumer = pipeline.aws("kinesis").describe_stream_consumer(ConsumerARN=data["stream_consumer_arn"])
    assert consumer["ConsumerDescription"]["ConsumerName"] == app

    compute = outputs["compute"]
    iam = pipeline.aws("iam")
    role = compute["task_role_arn"].rsplit("/", 1)[1]
    doc = iam.get_role_policy(RoleName=role, PolicyName="video-worker")["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    stmts = {s["Sid"]: s for s in doc["Statement"]}
    assert stmts["KeepLeasesAndCheckpoints"]["Resource"] == [data["lease_table_arn"]]
    assert stmts["FindOwnLeases"]["Resource"] == [f"{data['lease_table_arn']}/index/LeaseOwnerToLeaseKeyIndex"]
    assert stmts["CoordinateWorkers"]["Resource"] == data["coordination_table_arns"]
    assert stmts["SubscribeAsFanOutConsumer"]["Resource"] == [data["stream_consumer_arn"]]
    assert "kinesis:GetRecords" not in stmts["ReadIngestStream"]["Action"]

    family = compute["task_definition_family"]
    task = pipeline.aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
    assert task["ephemeralStorage"] == {"sizeInGiB": LOCAL.compute.ephemeral_storage_gib}
    (container,) = task["containerDefinitions"]
    assert container["readonlyRootFilesystem"] is True
    assert {m["containerPath"] for m in container["mountPoints"]} == {"/tmp", "/work"}
    variables = {e["name"]: e["value"] for e in container["environment"]}
    assert (variables["LEASE_TABLE_NAME"], variables["CONSUMER_APP_NAME"]) == (app, app)
    assert variables["STREAM_CONSUMER_ARN"] == data["stream_consumer_arn"]


def a_production_day_is_in_place(pipeline: Pipeline, outputs: dict) -> None:
    """What issue 31 built, read back from the emulator after a real apply (local turns interface endpoints on)."""
    from stacks.network import GATEWAY_SERVICES, INTERFACE_SERVICES

    ec2 = pipeline.aws("ec2")
    vpc = outputs["network"]["vpc_id"]
    found = ec2.describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["VpcEndpoints"]
    by_service = {e["ServiceName"].split(".", 3)[3]: e for e in found}
    assert sorted(by_service) == sorted([*GATEWAY_SERVICES, *INTERFACE_SERVICES])
    assert all(e["State"] == "available" for e in found)
    assert sorted(outputs["network"]["vpc_endpoint_ids"].values()) == sorted(e["VpcEndpointId"] for e in found)
    for service in INTERFACE_SERVICES:
        endpoint = by_service[service]
        assert endpoint["VpcEndpointType"] == "Interface" and endpoint["PrivateDnsEnabled"] is True
        assert sorted(endpoint["SubnetIds"]) == sorted(outputs["network"]["private_subnet_ids"])
    tasks = outputs["network"]["task_security_group_id"]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [tasks]}])["SecurityGroupRules"]
    https = [r for r in rules if r["IsEgress"] and r.get("FromPort") == 443]
    lists = {pl["PrefixListId"]: pl["PrefixListName"] for pl in ec2.describe_prefix_lists()["PrefixLists"]}
    assert sorted(lists[r["PrefixListId"]] for r in https if r.get("PrefixListId")) == sorted(
        f"com.amazonaws.{LOCAL.aws.region}.{s}" for s in GATEWAY_SERVICES
    ), https
    internet = [r for r in https if r.get("CidrIpv4") == "0.0.0.0/0"]
    assert [r["Description"] for r in internet] == [f"HTTPS to {LOCAL.network.internet_https}"], https

    compute = outputs["compute"]
    family = compute["task_definition_family"]
    (container,) = pipeline.aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"][
        "containerDefinitions"
    ]
    assert container["stopTimeout"] == 120
    assert container["healthCheck"]["command"] == list(LOCAL.compute.health_check_command)
    events = pipeline.aws("events")
    topic = outputs["monitoring"]["alarm_topic_arn"]
    for rule in outputs["monitoring"]["event_rule_names"]:
        assert [t["Arn"] for t in events.list_targets_by_rule(Rule=rule)["Targets"]] == [topic]
    policy = json.loads(pipeline.aws("sns").get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert sorted(s["Sid"] for s in policy["Statement"]) == [
        "AccountAdministers",
        "CloudWatchAlarmsPublish",
        "EcsEventsPublish",
    ]


def backups_are_in_place(pipeline: Pipeline, outputs: dict) -> None:
    """Issue 31.5, read back from the emulator after a real apply: the plan, its copy to the other region's vault,
    both vaults locked under their keys (the emulator makes no selection: emulator_quirks.IMITATIONS)."""
    data, backup = outputs["data"], LOCAL.data.backup
    (rule,) = pipeline.aws("backup").get_backup_plan(BackupPlanId=data["backup_plan_id"])["BackupPlan"]["Rules"]
    assert rule["TargetBackupVaultName"] == data["backup_vault_name"] and rule["ScheduleExpression"] == backup.schedule
    assert [c["DestinationBackupVaultArn"] for c in rule["CopyActions"]] == [data["backup_copy_vault_arn"]]
    assert data["backup_copy_vault_arn"].split(":")[3] == backup.copy_region != LOCAL.aws.region
    copy_key = pipeline.aws("kms", region=backup.copy_region).describe_key(KeyId="alias/streamflix-backup-copy-local")
    assert copy_key["KeyMetadata"]["Arn"].split(":")[3] == backup.copy_region
    for region, name, key in (
        (LOCAL.aws.region, data["backup_vault_name"], data["kms_key_arn"]),
        (backup.copy_region, data["backup_copy_vault_arn"].rsplit(":", 1)[1], copy_key["KeyMetadata"]["Arn"]),
    ):
        vault = pipeline.aws("backup", region=region).describe_backup_vault(BackupVaultName=name)
        assert vault["Locked"] is True and vault["MinRetentionDays"] == backup.lock_min_retention_days, vault
        assert vault["EncryptionKeyArn"] == key, vault


def test_the_local_pipeline_end_to_end_with_the_real_engine(pipeline, capsys, record_property):
    started = time.monotonic()
    log: list[str] = []  # shown at the end of the run (tests/conftest.py), also from a test worker

    def note(text: str) -> None:
        log.append(text)
        record_property("e2e", "\n".join(log))
        if not os.environ.get("PYTEST_XDIST_WORKER"):  # a worker's lines are shown at the end instead
            with capsys.disabled():
                print(f"\n  {text}", end="", flush=True)

    def step(text: str) -> None:
        note(f"e2e {time.monotonic() - started:6.1f} s  {text}")

    step("bootstrap; the environment deploys with today's generated password first (the upgrade comes later)")
    config = pipeline.repo / "environments" / "local.yaml"
    config.write_text(config.read_text().replace("  aurora:\n", f"  aurora:\n    password_generator: {GENERATED}\n", 1))
    pipeline.make("bootstrap", "ENV=local")

    step("one stack before its producers exist: refused, nothing changed")
    early = pipeline.make("deploy", "ENV=local", "STACK=compute", ok=False)
    assert early.returncode == 2 and "network-local has never been deployed in local" in early.stderr, early.stderr
    assert "Apply complete" not in early.stdout

    step("plan the never-deployed environment: its later stacks speculatively")
    planned = pipeline.make("plan", "ENV=local")
    summary = planned.stdout.split("plan local: summary", 1)[1]
    # Everything is new, so the network's roles, keys, endpoints and rules widen access (shown, not asked: local).
    # Then what it adds to the bill a month and the resources that add most (shared/cost/), then its seconds.
    assert re.search(
        r"network-local +planned +\+\d+ ~0 -0 +WIDENS: \d+ +\+\$[\d,.]+/month \([^)]+\) +\(\d+\.\d s\)\n", summary
    ), summary
    assert "network: aws_vpc_security_group_egress_rule.tasks_https sends tcp 443 to 0.0.0.0/0" in summary
    for stack in STACKS[1:]:
        line = next(line for line in summary.splitlines() if stack in line)
        assert "planned" in line and "speculative:" in line and "not deployed" in line, line
    assert not list(pipeline.repo.glob("cdktf.out/stacks/*/.speculative/*.tfplan"))  # never saved

    step("deploy, Ctrl-C while the network stack is being applied: that apply finishes, nothing more starts")
    code, output = pipeline.make_interrupted("deploy", "ENV=local", when="aws_vpc.vpc: Creating...")
    # make, signalled too, waits for the command, then ends by the same signal (or names code 130).
    assert code == -signal.SIGINT or (code == 2 and "Error 130" in output), output[-3000:]
    assert "network-local            applied" in output and "data-local               not run" in output
    assert "interrupted after network-local finished and saved its state; no further stack was started." in output
    # No partial outputs: only the CI roles make bootstrap wrote, not even the network stack's.
    assert set(json.loads((pipeline.repo / "outputs" / "local.json").read_text())) == {"ci"}
    state_keys = [o["Key"] for o in pipeline.aws("s3").list_objects_v2(Bucket=LOCAL.state.bucket)["Contents"]]
    assert [k for k in state_keys if k.endswith(".tflock")] == [], "the interrupted engine left its lock behind"
    providers = pipeline.workdir("network-local") / ".terraform" / "providers"
    installed = providers.stat().st_ino

    step("make local: the emulator already runs, the bucket is in place, the deploy goes on from there, smoke")
    deployed = pipeline.make("local")
    assert "emulator for local already runs" in deployed.stdout and "state bucket" in deployed.stdout
    assert "10 passed, 0 failed" in deployed.stdout, deployed.stdout[-3000:]
    assert "local runs the whole pipeline" in deployed.stdout and "Take it down:     make local-down" in (
        deployed.stdout
    )
    assert "<html" not in deployed.stderr.lower() and "has no ECR Public API, a known gap" in deployed.stderr
    assert re.search(r"network-local +(no changes|applied +\+0 ~\d+ -0)", deployed.stdout), "network was complete"
    assert providers.stat().st_ino == installed, "the kept working directory's providers were installed again"
    after_summary = deployed.stdout.split("deploy local: summary", 1)[1]
    assert "Terraform has been successfully initialized" not in after_summary  # reading outputs stays quiet
    assert f"providers: hashicorp/aws {LOCAL.aws.provider_version}" in deployed.stdout
    for stack in STACKS[1:]:
        assert f"{stack:<24} applied" in deployed.stdout
    # The workers' own database user, made through the Data API right after the data stack (the emulator answers
    # the call and runs no SQL: tests/shared/database/ runs it on a real PostgreSQL server).
    assert f"data-local: database user {LOCAL.data.aurora.app_user}: " in deployed.stdout
    # What the real engine's plans widen is shown (shared/ops/runner/widening.py); an emulator's IAM grants nothing
    # real, so local applies it without asking. Read from the engine's plan JSON: new trust, grants, endpoints' rules.
    widened = deployed.stdout.split("access these plans widen", 1)[1]
    assert "compute: aws_iam_role.task_role trusts sts:AssumeRole to Service:ecs-tasks.amazonaws.com" in widened
    assert re.search(r"compute: aws_iam_role_policy\.task_policy allows kinesis:\S+", widened), widened[:3000]
    assert "data: aws_sqs_queue.dlq " not in widened  # its own policy is the provider's to compute, not a grant
    assert re.search(r"compute-local +applied +\+\d+ ~\d+ -\d+ +WIDENS: \d+", deployed.stdout)

    step("deploy right after a deploy: every stack unchanged, skipped, no engine started")
    logs = {stack: pipeline.workdir(stack) / "engine-output.log" for stack in STACKS}
    written = {stack: log.stat().st_mtime_ns for stack, log in logs.items()}
    started_again = time.monotonic()
    again = pipeline.make("deploy", "ENV=local")
    note(f"e2e: make deploy ENV=local with nothing changed: {time.monotonic() - started_again:.1f} s")
    for stack in STACKS:
        assert re.search(rf"{stack} +unchanged +unchanged since [0-9a-f]{{12}} \S+ \(skipped\)", again.stdout), (
            again.stdout
        )
    assert {stack: log.stat().st_mtime_ns for stack, log in logs.items()} == written, "an engine ran"
    assert "recorded release" in again.stdout

    step("make local again: nothing changes, and it says so in a few seconds")
    started_local = time.monotonic()
    unchanged = pipeline.make("local")
    note(f"e2e: make local with nothing changed: {time.monotonic() - started_local:.1f} s")
    assert re.search(r"nothing changed: local already ran this code \(\d+\.\d s\)", unchanged.stdout), unchanged.stdout[
        -3000:
    ]
    assert {stack: log.stat().st_mtime_ns for stack, log in logs.items()} == written, "make local ran an engine"

    step("re-plan every stack, four at once: nothing to change")
    # Serially, every other plan of this run (deploys plan one stack at a time) says the same of its stacks.
    started_plan = time.monotonic()
    plan = pipeline.make("plan", "ENV=local", "PARALLELISM=4")
    note(f"e2e: make plan ENV=local PARALLELISM=4: {time.monotonic() - started_plan:.1f} s")
    summary = plan.stdout.split("plan local: summary", 1)[1].split("\nreport:", 1)[0]
    changes = pipeline.planned_changes("plan")
    assert changes == set(), f"a plan right after a deploy changes {sorted(changes)}"
    assert all(re.search(rf"{s} +no changes", summary) for s in STACKS), summary

    step("the emulator's quirks, no longer ignored: each listed one shows, and nothing else")
    shown = {(address.split(".", 1)[0], attribute) for _, address, attribute in pipeline.plan_without_quirks_ignored()}
    listed = {(q.resource_type, q.attribute) for q in QUIRKS}
    assert shown == listed, f"not listed: {sorted(shown - listed)}; listed, no longer shown: {sorted(listed - shown)}"

    outputs = json.loads((pipeline.repo / "outputs" / "local.json").read_text())
    for stack, names in CONTRACT_OUTPUTS.items():
        for name in names:
            assert isinstance(outputs[stack][name], str) and outputs[stack][name], f"{stack}.{name}"

    step("the workers' lease tables, fan-out consumer, grants and scratch volume, as AWS holds them")
    the_workers_can_do_their_job(pipeline, outputs)

    step("smoke")
    smoke = pipeline.make("smoke", "ENV=local")
    assert "10 passed, 0 failed" in smoke.stdout

    step("a production day's parts, as AWS holds them: endpoints, the narrowed egress, a clean stop, alarms, backups")
    a_production_day_is_in_place(pipeline, outputs)
    backups_are_in_place(pipeline, outputs)

    step("the precious addresses the engine holds in state are the committed contract")
    committed = precious.committed_addresses()["local"]
    # The contract is RDS's password; until the upgrade the data stack also holds the generated one's.
    generated = ["aws_secretsmanager_secret.db_secret", "aws_secretsmanager_secret_version.db_secret_value"]
    for stack in STACKS:
        held = sorted(
            f"{r['type']}.{r['name']}"
            for r in pipeline.state(stack)[1]["resources"]
            if r["mode"] == "managed" and precious.is_precious(r["type"])
        )
        expected = sorted(committed[stack.split("-")[0]] + (generated if stack == "data-local" else []))
        assert held == expected, f"{stack}: state holds {held}"

    data_is_safe_from_routine_changes(pipeline, outputs, step)
    the_password_rests_only_in_secrets_manager(pipeline, outputs, step)
    no_password_in_debug_logs(pipeline, outputs, step)
    faults_are_survived(pipeline, outputs, step)
    outputs = rds_takes_over_the_password(pipeline, outputs, step)
    admin = administrator(pipeline)
    ci_roles_hold_under_enforced_iam(pipeline, outputs, admin, step)

    step("an ECR image: resolved to its digest, compute alone applied; the same tag pushed again rolls out")
    ecr = pipeline.aws("ecr")
    repository = ecr.create_repository(repositoryName="video/worker")["repository"]["repositoryUri"]
    media = "application/vnd.docker.distribution.manifest.v2+json"

    def push(layer: str) -> str:
        manifest = json.dumps({"schemaVersion": 2, "mediaType": media, "layers": [{"digest": "sha256:" + layer * 64}]})
        ecr.put_image(
            repositoryName="video/worker", imageManifest=manifest, imageTag="2.0.0", imageManifestMediaType=media
        )
        return ecr.describe_images(repositoryName="video/worker", imageIds=[{"imageTag": "2.0.0"}])["imageDetails"][0][
            "imageDigest"
        ]

    def running_image() -> str:
        family = outputs["compute"]["task_definition_family"]
        task = pipeline.aws("ecs").describe_task_definition(taskDefinition=family)["taskDefinition"]
        return task["containerDefinitions"][0]["image"]

    first = push("1")
    config = pipeline.repo / "environments" / "local.yaml"
    config.write_text(config.read_text().replace("compute:\n", f"compute:\n  image: {repository}:2.0.0\n", 1))
    changed = pipeline.make("deploy", "ENV=local")
    assert re.search(r"compute-local +applied", changed.stdout), changed.stdout[-3000:]
    for stack in ("network-local", "data-local", "monitoring-local"):
        assert re.search(rf"{stack} +unchanged", changed.stdout), changed.stdout[-3000:]
    assert running_image() == f"{repository}@{first}"
    shown = pipeline.make("releases", "ENV=local")
    assert f"{repository}:2.0.0" in shown.stdout and first[:19] in shown.stdout
    second = push("2")
    assert second != first
    rolled = pipeline.make("deploy", "ENV=local")
    assert re.search(r"compute-local +applied", rolled.stdout), rolled.stdout[-3000:]
    assert running_image() == f"{repository}@{second}"

    step("redeploy compute alone")
    others = {s: pipeline.state(s)[0] for s in STACKS if s != "compute-local"}
    one = pipeline.make("deploy", "ENV=local", "STACK=compute")
    summary = one.stdout.split("deploy local: summary", 1)[1]
    in_summary = [s for s in STACKS if re.search(rf"^\s*{s}\s", summary, re.MULTILINE)]
    assert in_summary == ["compute-local"], summary  # unchanged since the image rolled out, so skipped
    assert not [s for s in STACKS if f"=== deploy {s}" in one.stdout], "an engine ran on a stack"
    assert {s: pipeline.state(s)[0] for s in others} == others, "STACK=compute wrote another stack's state"

    step("AWS upgrades the database's minor version: no downgrade planned, no drift")
    rds = pipeline.aws("rds")
    cluster_id = outputs["data"]["rds_cluster_identifier"]
    floor = LOCAL.data.aurora.engine_version
    newer = f"{floor.split('.')[0]}.{int(floor.split('.')[1]) + 2}"
    rds.modify_db_cluster(DBClusterIdentifier=cluster_id, EngineVersion=newer, ApplyImmediately=True)
    assert rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]["EngineVersion"] == newer

    step("drift: an out-of-band change is named")
    before = pipeline.make("drift", "ENV=local")  # exit 0: the emulator's quirks are not drift
    assert "no drift in local" in before.stdout, before.stdout[-3000:]
    # With the version pinned, drift's plan was newer -> floor, which ModifyDBCluster refuses.
    assert pipeline.planned_changes("drift") == set()
    topic = outputs["monitoring"]["alarm_topic_arn"]
    pipeline.aws("sns").set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="changed")
    after = pipeline.make("drift", "ENV=local", ok=False)
    assert after.returncode == 2 and "Error 1" in after.stderr  # the command's own code is 1: drift
    assert "monitoring-local         drifted" in after.stdout
    # The real engine's plan, read back as the reader sees it: one line per resource, the attribute by name, in the
    # summary and folded in the Markdown report a pull request would show.
    assert "~ aws_sns_topic.alarms: display_name" in after.stdout, after.stdout[-3000:]
    markdown = (pipeline.repo / "reports" / "local-drift.md").read_text()
    folded = markdown.split("<details><summary>monitoring-local: ", 1)[1].split("</details>", 1)[0]
    assert "~ aws_sns_topic.alarms: display_name" in folded, markdown
    engine_said = markdown.split("<details><summary>monitoring-local: the engine's plan</summary>", 1)[1]
    assert "# aws_sns_topic.alarms will be updated in-place" in engine_said.split("</details>", 1)[0], markdown
    assert "monitoring-local" in after.stdout.split("drift in ", 1)[1].splitlines()[0]

    step("a deploy skips what drifted (its code did not change); FORCE=1 plans every stack and puts it back")
    skipped = pipeline.make("deploy", "ENV=local")
    assert re.search(r"monitoring-local +unchanged", skipped.stdout), skipped.stdout[-3000:]
    forced = pipeline.make("deploy", "ENV=local", "FORCE=1")
    assert re.search(r"monitoring-local +applied", forced.stdout), forced.stdout[-3000:]
    assert not re.search(r" unchanged ", forced.stdout.split("deploy local: summary", 1)[1])
    pipeline.make("drift", "ENV=local")  # exit 0 again

    step("destroy, as the deploy role under enforced IAM")
    pipeline.enforce_iam(True)
    try:
        ci = json.loads((pipeline.repo / "outputs" / "local.json").read_text())["ci"]
        deployer = pipeline.assume(ci["deploy_role_arn"], admin)
        gone = pipeline.make("destroy", "ENV=local", "CONFIRM=local", credentials=deployer)
    finally:
        pipeline.enforce_iam(False)
    order = [gone.stdout.index(f"=== destroy {s}") for s in reversed(STACKS)]
    assert order == sorted(order), "destroy runs in reverse dependency order"
    for stack in STACKS:
        managed = [r for r in pipeline.state(stack)[1].get("resources", []) if r["mode"] == "managed"]
        assert managed == [], f"{stack} state still holds {[r['type'] + '.' + r['name'] for r in managed]}"
    assert pipeline.leftovers() == []

    step("make local-down: nothing left to destroy (the states say so, no engine runs), and the emulator stops")
    down = pipeline.make("local-down")
    assert "nothing is deployed in local: no stack's state holds anything" in down.stdout, down.stdout[-3000:]
    assert "stopped the emulator for local" in down.stdout
    assert not (pipeline.repo / ".emulator" / "local.pid").exists()
    with pytest.raises(OSError):
        urllib.request.urlopen(pipeline.endpoint, timeout=2)
    step(f"done: wall time {time.monotonic() - started:.0f} s")
