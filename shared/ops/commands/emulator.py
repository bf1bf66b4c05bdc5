"""`make emulator` / `make emulator-stop`: moto_server for an emulator environment, at its aws.endpoint.

The pid file and log live in `.emulator/<env>.pid` and `.emulator/<env>.log`. Start waits until the
emulator answers; stop ends only the process its own pid file names, and only if that process is
still a moto_server (a pid can be reused after a reboot).
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

from shared.config import EnvironmentConfig
from shared.errors import OperationFailed, UsageError
from shared.files import write_atomically

STATE_DIR = Path(".emulator")
START_TIMEOUT = 30.0


def _paths(env: EnvironmentConfig, state_dir: Path) -> tuple[Path, Path]:
    return state_dir / f"{env.name}.pid", state_dir / f"{env.name}.log"


def _address(env: EnvironmentConfig) -> tuple[str, int]:
    if not env.emulated:
        raise UsageError(f"{env.name} is not an emulator environment (it sets no aws.endpoint)")
    parts = urlsplit(env.aws.endpoint)
    return parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)


def answers(endpoint: str, timeout: float = 1.0) -> bool:
    """Whether something that speaks HTTP listens at the endpoint (any HTTP status counts)."""
    try:
        urllib.request.urlopen(endpoint.rstrip("/") + "/moto-api/", timeout=timeout)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def _running_pid(pid_file: Path) -> int | None:
    """The pid in the file if that process is alive and is a moto_server."""
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes() if Path("/proc").is_dir() else b"moto_server"
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid if b"moto_server" in cmdline else None


PATCHED_SERVER = Path(__file__).resolve().parents[2] / "moto_server.py"


def moto_installed() -> None:
    """The project's own moto (installed with the dev dependencies), in this interpreter."""
    if importlib.util.find_spec("moto") is None:
        raise UsageError("moto_server is not installed: run make install (it comes with moto[server])")


def start(env: EnvironmentConfig, state_dir: Path = STATE_DIR) -> None:
    host, port = _address(env)
    pid_file, log_file = _paths(env, state_dir)
    if (pid := _running_pid(pid_file)) is not None:
        print(f"emulator for {env.name} already runs (pid {pid}) at {env.aws.endpoint}")
        return
    if answers(env.aws.endpoint):
        raise UsageError(
            f"something else already answers at {env.aws.endpoint}; stop it, or set another port in "
            f"aws.endpoint of environments/{env.name}.yaml"
        )
    moto_installed()
    state_dir.mkdir(parents=True, exist_ok=True)
    # moto runs no containers; it reports as many running tasks as this says, so that smoke's
    # "service runs desired count" check means what it means in AWS.
    variables = dict(os.environ, MOTO_ECS_SERVICE_RUNNING=str(env.compute.desired_count))
    with open(log_file, "ab") as log:
        proc = subprocess.Popen(
            # moto's server with the patches emulator_quirks.PATCHED lists (its path names moto_server).
            [sys.executable, str(PATCHED_SERVER), "-H", host, "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=variables,
            start_new_session=True,  # outlives this command
        )
    write_atomically(pid_file, f"{proc.pid}\n")
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pid_file.unlink(missing_ok=True)
            raise OperationFailed(f"moto_server exited with code {proc.returncode}; see {log_file}")
        if answers(env.aws.endpoint):
            print(f"emulator for {env.name} runs at {env.aws.endpoint} (pid {proc.pid}, log {log_file})")
            return
        time.sleep(0.2)
    proc.terminate()
    pid_file.unlink(missing_ok=True)
    raise OperationFailed(
        f"moto_server did not answer at {env.aws.endpoint} within {START_TIMEOUT:.0f} s; see {log_file}"
    )


def stop(env: EnvironmentConfig, state_dir: Path = STATE_DIR) -> None:
    _address(env)
    pid_file, _ = _paths(env, state_dir)
    pid = _running_pid(pid_file)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        print(f"no emulator of ours runs for {env.name}")
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running_pid(pid_file) is not None:
        time.sleep(0.1)
    if _running_pid(pid_file) is not None:
        os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    print(f"stopped the emulator for {env.name} (pid {pid}); everything it held is gone")
