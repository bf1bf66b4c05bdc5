"""A real PostgreSQL server on 127.0.0.1 for the tests of the SQL the deploy runs (Debian's postgresql package:
`.ci/run` installs it where it is missing). Started once per test module that asks for it, stopped after; its
data directory is removed. Set up as Aurora is: a master user that is no superuser but may make roles and owns
the database, and RDS's `rds_iam` role."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from shared.database.app_user import IAM_LOGIN_ROLE
from tests.support.ports import free_port


def binaries() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's versioned directory (newest first)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(versions[-1]).parent if versions else None


def missing(reason: str) -> None:
    """No server here: CI must have one (its run installs it), a workstation may go without, saying how."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}: CI installs Debian's postgresql package in .ci/run; it did not", pytrace=False)
    pytest.skip(f"{reason}: install Debian's postgresql package (apt-get install postgresql) to run these tests")


@dataclass(frozen=True)
class Server:
    port: int
    superuser: str

    def psql(self, sql: str, *, user: str | None = None, database: str = "postgres") -> subprocess.CompletedProcess:
        """Run SQL as `user` (the superuser by default), stopping at the first error; output unaligned."""
        return subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-p", str(self.port),
             "-U", user or self.superuser, "-d", database, "-c", sql],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PGCONNECT_TIMEOUT": "10"},
        )  # fmt: skip

    def value(self, sql: str, **kwargs) -> str:
        result = self.psql(sql, **kwargs)
        assert result.returncode == 0, result.stderr
        return result.stdout.strip()


def start(master: str, database: str):
    """Yield a running Server with `master` (CREATEROLE, owner of `database`, member of rds_iam with admin) and
    rds_iam made; stop it and remove its files after."""
    bin_dir = binaries()
    if bin_dir is None or shutil.which("psql") is None:
        missing("no PostgreSQL server or psql on this machine")
    root = Path(tempfile.mkdtemp(prefix="streamflix-postgres-"))
    # PostgreSQL refuses to run as root: as root, the server runs as Debian's postgres user.
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", free_port()
    superuser = "postgres"
    run = lambda *args: subprocess.run([*as_user, *map(str, args)], capture_output=True, text=True, timeout=120)  # noqa: E731
    made = run(bin_dir / "initdb", "-D", data, "-U", superuser, "--auth=trust", "--no-sync", "-E", "UTF8")
    assert made.returncode == 0, made.stdout + made.stderr
    options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off"
    started = run(bin_dir / "pg_ctl", "-D", data, "-o", options, "-l", root / "server.log", "-w", "-t", "60", "start")
    try:
        assert started.returncode == 0, started.stdout + started.stderr + (root / "server.log").read_text()
        server = Server(port, superuser)
        server.value(f'CREATE ROLE "{IAM_LOGIN_ROLE}"')
        server.value(f'CREATE ROLE "{master}" LOGIN CREATEROLE')
        server.value(f'GRANT "{IAM_LOGIN_ROLE}" TO "{master}" WITH ADMIN OPTION')
        server.value(f'CREATE DATABASE "{database}" OWNER "{master}"')
        yield server
    finally:
        run(bin_dir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)
