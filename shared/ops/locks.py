"""One command per environment per checkout: an advisory lock per environment suffix, beside its
working directories (`<outdir>/.locks/<suffix>.lock`).

A second command on the same environment refuses at once, naming the holder, or waits up to
LOCK_TIMEOUT seconds. Different environments run side by side. The operating system releases a lock
when its process ends, however it ends, so a crash never leaves one behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from shared.errors import UsageError

LOCK_DIR = ".locks"
_held: dict[Path, int] = {}  # lock path -> open descriptor, kept until the process exits


def lock_timeout() -> float:
    value = os.environ.get("LOCK_TIMEOUT", "0").strip() or "0"
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 86_400:
        raise UsageError(f"LOCK_TIMEOUT={value!r}: give the seconds to wait for another command, 0 to 86400")
    return seconds


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        return f"pid {info['pid']}, `{info['command']}`, since {info['since']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a command that is still starting"


def hold(outdir: Path, suffixes: Iterable[str], command: str | None = None, timeout: float | None = None) -> None:
    """Take the locks of these environments (sorted, so two commands never wait on each other)."""
    timeout = lock_timeout() if timeout is None else timeout
    command = command or " ".join(["shared.cli", *sys.argv[1:]])
    directory = Path(outdir) / LOCK_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the environment locks in {directory}: {exc.strerror}") from None
    for suffix in sorted(set(suffixes)):
        path = (directory / f"{suffix}.lock").resolve()
        if path in _held:
            continue
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    os.close(fd)
                    waited = f" after waiting {timeout:g} s" if timeout else ""
                    raise UsageError(
                        f"{suffix} is in use by another command in this checkout ({_holder(path)}){waited}; "
                        "let it finish, or set LOCK_TIMEOUT=<seconds> to wait for it; nothing was done"
                    ) from None
                time.sleep(0.2)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "command": command, "since": since}).encode(), 0)
        _held[path] = fd


def release_all() -> None:
    """Release every lock this process holds (tests; a process that exits releases them anyway)."""
    for fd in _held.values():
        os.close(fd)
    _held.clear()
