"""The engine's process: one run of `terraform` or `tofu` in a stack's working directory, its output followed
from a file, its environment made safe (no debug log of the user's), and its interrupts let finish."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from shared.ops.engine import log as engine_log
from shared.ops.engine.console import OUTPUT, write
from shared.ops.engine.interrupts import INTERRUPTS
from shared.ops.engine.providers import plugin_cache_dir, provider_mirror, write_cli_config
from shared.options import current


class Watcher(Protocol):
    """Who must know of every engine run. The runner's environment lock is one: an engine given its
    descriptors holds the locks for as long as it runs, and the lock names the engine meanwhile. The engine
    knows nothing of the runner: the lock registers itself (`watch`)."""

    def descriptors(self) -> tuple[int, ...]: ...

    def engine_started(self, pid: int, *, stack: str, step: str) -> None: ...

    def engine_ended(self, pid: int) -> None: ...


_WATCHERS: list[Watcher] = []


def watch(watcher: Watcher) -> None:
    if watcher not in _WATCHERS:
        _WATCHERS.append(watcher)


# Where an engine run writes its output, in the stack's working directory. A file, not a pipe: an engine
# whose output were a pipe to the tool would die of SIGPIPE at its next line once the tool is gone (killed,
# out of memory, a dropped SSH session), in the middle of an apply, before it saved its state.
ENGINE_OUTPUT = "engine-output.log"


class EngineInterrupted(Exception):
    """The user (SIGINT) or the system (SIGTERM, SIGHUP) stopped a run; the engine was let finish saving state."""

    def __init__(self, signum: int, result: Result):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.result = signum, result
        self.step = ""  # set by the caller that knows which step it was


@dataclass(frozen=True)
class Result:
    returncode: int
    output: str  # the whole output when captured, else its last lines (what an error summary needs)


@dataclass(frozen=True)
class Engine:
    binary: str
    version: str
    # Variables for this environment's runs (None removes one), and the CLI configuration to use.
    extra_env: dict[str, str | None] = field(default_factory=dict)
    cli_config: Path | None = None

    @property
    def name(self) -> str:
        return Path(self.binary).name

    def configured(self, extra_env: dict[str, str | None], workspace: Path) -> Engine:
        """This engine with an environment's variables, and the mirror's CLI configuration (if any)
        written into `workspace`."""
        mirror = provider_mirror()
        cli_config = write_cli_config(mirror, workspace / "terraform.rc") if mirror else None
        return replace(self, extra_env=extra_env, cli_config=cli_config)

    def _variables(self) -> dict[str, str]:
        # Non-interactive, machine-readable behaviour; the engine's own output is still shown.
        variables = dict(os.environ, TF_IN_AUTOMATION="1", TF_INPUT="0")
        variables.setdefault("TF_PLUGIN_CACHE_DIR", str(plugin_cache_dir()))
        if self.cli_config is not None:
            variables["TF_CLI_CONFIG_FILE"] = str(self.cli_config)
        for key, value in self.extra_env.items():
            if value is None:
                variables.pop(key, None)
            else:
                variables[key] = value
        return engine_log.CURRENT.environment(variables)  # no TF_LOG* of the user's: its debug log holds secrets

    def run(self, args: list[str], cwd: Path, *, applying: bool = False) -> Result:
        """Run the engine and show its output as it comes, or collect it into this thread's OUTPUT.buffer
        when one is set (several engines at once: each stack's output is printed as one block). The Result
        keeps the tail, what an error summary needs.

        The engine outlives the tool, however the tool ends: it runs in a session of its own (a terminal's
        Ctrl-C or hangup reaches only us), writes to ENGINE_OUTPUT in its working directory (which this
        follows), reads nothing, and inherits this command's environment locks, so no other command on
        the environment starts until the engine is done; the lock names it meanwhile. INTERRUPTS passes
        on exactly one graceful stop, and this keeps following until the engine has saved its state and
        exited, then raises EngineInterrupted.
        """
        block = getattr(OUTPUT, "buffer", None)  # this thread's output is collected as one block
        log = cwd / ENGINE_OUTPUT
        with INTERRUPTS.handling():
            if INTERRUPTS.first():  # interrupted before this engine started: do not start it
                raise EngineInterrupted(INTERRUPTS.first(), Result(130, ""))
            with open(log, "wb") as sink:
                proc = subprocess.Popen(
                    [self.binary, *args],
                    cwd=cwd,
                    env=self._variables(),
                    stdin=subprocess.DEVNULL,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=tuple(fd for w in _WATCHERS for fd in w.descriptors()),
                )
            INTERRUPTS.register(proc, applying=applying)
            for watcher in _WATCHERS:
                watcher.engine_started(proc.pid, stack=cwd.name, step=args[0] if args else "")
            tail: deque[str] = deque(maxlen=40)

            quiet = current().quiet  # QUIET=1: the engine's lines stay in its output file (a failure shows its tail)

            def show(line: str) -> None:
                tail.append(line)
                if quiet:
                    return
                if block is not None:
                    block.append(line)
                else:
                    write(line)

            try:
                code = _follow(log, proc, show)
            finally:
                INTERRUPTS.unregister(proc)
                for watcher in _WATCHERS:
                    watcher.engine_ended(proc.pid)
            signum = INTERRUPTS.first()
        if signum:
            raise EngineInterrupted(signum, Result(code, "".join(tail)))
        return Result(code, "".join(tail))

    def capture(self, args: list[str], cwd: Path) -> Result:
        """Run the engine for its machine-readable stdout (show -json, output -json)."""
        variables = self._variables()
        proc = subprocess.run(
            [self.binary, *args], cwd=cwd, env=variables, capture_output=True, check=False, start_new_session=True
        )
        out, err = (b.decode("utf-8", errors="replace") for b in (proc.stdout, proc.stderr))
        return Result(proc.returncode, out if proc.returncode == 0 else err + out)


def _follow(log: Path, proc: subprocess.Popen, show) -> int:
    """Show each line the engine writes to `log` until it has exited and everything is shown; its exit code.
    Output can hold any byte (a resource name, a provider's message): never fatal."""
    pending = b""
    with open(log, "rb") as source:
        while True:
            chunk = source.read(65536)
            if chunk:
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    show(line.decode("utf-8", errors="replace") + "\n")
                continue
            if proc.poll() is not None:
                rest = source.read()
                if rest:  # written between the last read and the exit
                    pending += rest
                    continue
                break
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.05)  # returns at once when it exits: no latency for short runs
    if pending:
        show(pending.decode("utf-8", errors="replace") + "\n")
    return proc.wait()
