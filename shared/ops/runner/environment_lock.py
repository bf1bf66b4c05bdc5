"""One command per environment per checkout: an advisory lock per environment suffix, beside its
working directories (`<outdir>/.locks/<suffix>.lock`).

A second command on the same environment refuses at once, naming the holder, or waits up to
LOCK_TIMEOUT seconds. Different environments run side by side. The operating system releases a lock
when the last process holding it ends, however it ends, so a crash never leaves one behind. Every engine
a command starts inherits its locks (shared/ops/engine/process.py): an engine still applying after its command
was killed keeps the environment locked, and the lock names it (pid, stack, step) until it is done.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from shared.errors import UsageError
from shared.ops.engine import process
from shared.options import current
from shared.workdirs import check_outdir, process_alive

LOCK_DIR = ".locks"
_held: dict[Path, int] = {}  # lock path -> open descriptor, kept until the process exits
_info: dict[Path, dict] = {}  # lock path -> what it says of its holder
_engines: dict[int, dict] = {}  # pid -> {"pid", "stack", "step", "since"} of the engines running now
_writing = threading.Lock()  # engines start and end in several threads at once (parallel plans)


def lock_timeout() -> float:
    return current().checked("lock_timeout")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _engine_words(engine: dict) -> str:
    return f"engine pid {engine['pid']} in the {engine['step']} of {engine['stack']} since {engine['since']}"


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text())
        engines = [e for e in info.get("engines", []) if process_alive(e["pid"])]
        if engines and not process_alive(info["pid"]):
            return (
                f"{'; '.join(_engine_words(e) for e in engines)}, left running by `{info['command']}` "
                f"(pid {info['pid']}, which has ended): it finishes and saves its state on its own"
            )
        running = f"; its {', '.join(_engine_words(e) for e in engines)}" if engines else ""
        return f"pid {info['pid']}, `{info['command']}`, since {info['since']}{running}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a command that is still starting"


def _rewrite() -> None:
    """Every held lock says who holds it now: this command and the engines it is running."""
    for path, fd in _held.items():
        doc = {**_info[path], "engines": list(_engines.values())}
        data = json.dumps(doc).encode()
        os.pwrite(fd, data, 0)
        os.ftruncate(fd, len(data))


def descriptors() -> tuple[int, ...]:
    """The descriptors of the held locks: an engine given them holds the locks for as long as it runs."""
    return tuple(_held.values())


def engine_started(pid: int, *, stack: str, step: str) -> None:
    with _writing:
        _engines[pid] = {"pid": pid, "stack": stack, "step": step, "since": _now()}
        _rewrite()


def engine_ended(pid: int) -> None:
    with _writing:
        if _engines.pop(pid, None) is not None:
            _rewrite()


def hold(outdir: Path, suffixes: Iterable[str], command: str | None = None, timeout: float | None = None) -> None:
    """Take the locks of these environments (sorted, so two commands never wait on each other), in the
    output folder, once that is known to be one (check_outdir: an earlier synthesis or nothing)."""
    check_outdir(Path(outdir).resolve())
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
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout
        said = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if timeout and not said:  # a wait of minutes must not look like a hang
                    print(
                        f"waiting up to {timeout:g} s (LOCK_TIMEOUT) for {suffix}, in use by {_holder(path)}",
                        file=sys.stderr,
                        flush=True,
                    )
                    said = True
                if time.monotonic() >= deadline:
                    os.close(fd)
                    waited = f" after waiting {timeout:g} s" if timeout else ""
                    raise UsageError(
                        f"{suffix} is in use by another command in this checkout ({_holder(path)}){waited}; "
                        "let it finish, or set LOCK_TIMEOUT=<seconds> to wait for it; nothing was done"
                    ) from None
                time.sleep(0.2)
        _held[path] = fd
        _info[path] = {"pid": os.getpid(), "command": command, "since": _now()}
        with _writing:
            _rewrite()


def release_all() -> None:
    """Release every lock this process holds (tests; a process that exits releases them anyway)."""
    for fd in _held.values():
        os.close(fd)
    _held.clear()
    _info.clear()
    _engines.clear()


class _EngineRuns:
    """This lock as the engine's process sees it (shared/ops/engine/process.py: the engine imports nothing of
    the runner, so the lock registers itself)."""

    descriptors = staticmethod(descriptors)
    engine_started = staticmethod(engine_started)
    engine_ended = staticmethod(engine_ended)


process.watch(_EngineRuns())
