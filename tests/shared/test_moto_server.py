"""The emulator the tools start: moto's server with the patches shared/emulator_quirks.py lists, each shown to be
still needed (the plain server fails where the patched one works) so that a moto release that fixes one says so."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from shared.emulator_quirks import PATCHED
from shared.moto_server import PATCHES
from shared.ops.commands.emulator import PATCHED_SERVER
from tests.support.ports import free_port

ADMIN_POLICY = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def serve(command: list[str]):
    port = free_port()
    # Three calls without IAM (the administrator's user, key and policy), then every request judged.
    env = {"INITIAL_NO_AUTH_ACTION_COUNT": "3", "PATH": "/usr/bin:/bin"}
    proc = subprocess.Popen([*command, "-H", "127.0.0.1", "-p", str(port)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"{url}/moto-api/", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    return proc, url


def backup_as_an_administrator(url: str):
    keys = dict(region_name="us-east-1", endpoint_url=url, aws_access_key_id="test", aws_secret_access_key="test")
    iam = boto3.client("iam", **keys)
    iam.create_user(UserName="admin")
    key = iam.create_access_key(UserName="admin")["AccessKey"]
    iam.put_user_policy(UserName="admin", PolicyName="all", PolicyDocument=json.dumps(ADMIN_POLICY))
    keys.update(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    backup = boto3.client("backup", **keys)
    backup.create_backup_vault(BackupVaultName="vault")  # a POST with a body: signed as sent either way
    return backup


@pytest.fixture(params=["patched", "plain"])
def emulator(request):
    plain = Path(sys.executable).with_name("moto_server")
    command = [sys.executable, str(PATCHED_SERVER)] if request.param == "patched" else [str(plain)]
    proc, url = serve(command)
    yield request.param, url
    proc.terminate()
    proc.wait(timeout=10)


def test_a_rest_get_is_authenticated_with_iam_enforced_only_with_the_patch(emulator):
    kind, url = emulator
    backup = backup_as_an_administrator(url)
    if kind == "patched":
        assert backup.describe_backup_vault(BackupVaultName="vault")["BackupVaultName"] == "vault"
    else:  # moto still has the defect: the patch is still needed
        with pytest.raises(ClientError) as refused:
            backup.describe_backup_vault(BackupVaultName="vault")
        assert "SignatureDoesNotMatch" in str(refused.value)


def test_every_listed_patch_is_applied_by_the_server():
    assert sorted(p.applied_by for p in PATCHED) == sorted(PATCHES)
    assert "moto_server" in PATCHED_SERVER.name and PATCHED_SERVER.is_file()
