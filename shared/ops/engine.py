"""The deploy engine: `terraform` (1.11+) or OpenTofu's `tofu` (1.11+), found through TF_BIN or on PATH.

Providers come from what the machine has: the user's own CLI configuration, or a filesystem mirror
named by TF_PROVIDER_MIRROR (for which a CLI configuration is written per run). Downloaded providers
are shared through a plugin cache: TF_PLUGIN_CACHE_DIR, else a per-user default.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path

from shared.contract import ENGINE_FLOOR
from shared.errors import UsageError
from shared.files import write_atomically
from shared.ops import engine_log, environment_lock

MINIMUM = ENGINE_FLOOR
INSTALL_HINT = (
    "install Terraform 1.11 or newer (https://developer.hashicorp.com/terraform/install) or "
    "OpenTofu 1.11 or newer (https://opentofu.org/docs/intro/install/), or set TF_BIN to its path"
)


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

    @property
    def exit_code(self) -> int:
        return 130 if self.signum == signal.SIGINT else 143  # a hangup is handled as SIGTERM


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
                    pass_fds=environment_lock.descriptors(),
                )
            INTERRUPTS.register(proc, applying=applying)
            environment_lock.engine_started(proc.pid, stack=cwd.name, step=args[0] if args else "")
            tail: deque[str] = deque(maxlen=40)

            def show(line: str) -> None:
                tail.append(line)
                if block is not None:
                    block.append(line)
                else:
                    _write(line)

            try:
                code = _follow(log, proc, show)
            finally:
                INTERRUPTS.unregister(proc)
                environment_lock.engine_ended(proc.pid)
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


def _write(text: str, stream=None) -> None:
    """Our output, which may be gone (a closed terminal, a dropped SSH session): the engine must go on
    regardless, and what it says is in its output file."""
    stream = stream or sys.stdout
    with contextlib.suppress(OSError, ValueError):
        stream.write(text)
        stream.flush()


class _Interrupts:
    """SIGINT, SIGTERM and SIGHUP (handled as SIGTERM) for every engine this process runs.

    The engine's graceful stop cancels the provider's operations in flight, and the AWS provider
    records some resources only when their creation has finished waiting (an IAM role, a Kinesis
    stream, an Aurora instance): stopped then, they exist in AWS but not in the state. So a first
    Ctrl-C during an apply lets that apply finish and starts nothing more; the second passes on the
    one graceful stop; a third only says the engine is still saving; a fourth forces it (a second
    SIGINT makes Terraform stop at once, "data loss may have occurred"). Other steps, and SIGTERM
    (a CI cancel, which comes with a deadline) and SIGHUP (the terminal or SSH session is gone: nobody
    is left to interrupt again) get the graceful stop at once.
    """

    def __init__(self) -> None:
        self._received: list[int] = []
        self._procs: dict[subprocess.Popen, bool] = {}  # running engine -> applying (let it finish)
        # Re-entrant: a signal's handler runs in the main thread between any two bytecodes, also while
        # that thread holds this lock (registering an engine, or handling the signal before), and a
        # plain Lock would then wait for itself forever.
        self._lock = threading.RLock()
        self._depth = 0
        self._forwarded = 0
        self._said = set()

    def first(self) -> int | None:
        return self._received[0] if self._received else None

    def register(self, proc: subprocess.Popen, *, applying: bool = False) -> None:
        with self._lock:
            self._procs[proc] = applying

    def unregister(self, proc: subprocess.Popen) -> None:
        with self._lock:
            self._procs.pop(proc, None)

    def _stop_all(self) -> None:
        # Counted before it is sent: a Ctrl-C that lands while this runs must see it as sent already
        # (and only warn), not send a second stop that would make the engine quit unsaved.
        self._forwarded += 1
        with self._lock:
            for proc in list(self._procs):
                _stop(proc)

    def _once(self, key: str, text: str) -> bool:
        if key in self._said:
            return False
        self._said.add(key)
        say(text)
        return True

    def _on_signal(self, signum: int, _frame) -> None:
        self._received.append(signum)
        with self._lock:
            applying = any(self._procs.values())
        if self._forwarded == 0:
            if (
                signum == signal.SIGINT
                and applying
                and self._once(
                    "finish",
                    "interrupted: letting the engine finish this apply, so that nothing it is creating is left "
                    "outside the state; no further stack will start. Interrupt again to stop it now (what it "
                    "is creating may then exist in AWS without being in the state).",
                )
            ):
                return
            say("interrupted: the engine is stopping gracefully and saving its state; please wait")
            self._stop_all()
        elif self._forwarded == 1 and not self._once(
            "saving", "the engine is still saving state; interrupt once more to stop it at once (data loss may occur)"
        ):
            say("forcing the engine to stop now")
            self._stop_all()

    @contextlib.contextmanager
    def handling(self):
        """Catch the signals while engines run. Only the main thread can; the outermost use installs
        the handlers and, when it ends, forgets what was received (the next command starts afresh)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        self._depth += 1
        previous = {}
        if self._depth == 1:
            previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                for s, handler in previous.items():
                    signal.signal(s, handler)
                self._received.clear()
                self._forwarded = 0
                self._said.clear()


INTERRUPTS = _Interrupts()


OUTPUT = threading.local()  # .buffer: a list collecting this thread's output as one block, or None


def emit(text: str) -> None:
    """Print a line of ours, into this thread's block when one is being collected."""
    block = getattr(OUTPUT, "buffer", None)
    if block is None:
        _write(text + "\n")
    else:
        block.append(text + "\n")


def say(text: str) -> None:
    _write(f"\n{text}\n", sys.stderr)


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.killpg(proc.pid, signal.SIGINT)  # Terraform's and OpenTofu's graceful stop


def plugin_cache_dir() -> Path:
    """TF_PLUGIN_CACHE_DIR, else a per-user cache (created): each provider is unpacked once per machine."""
    explicit = os.environ.get("TF_PLUGIN_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    path = base / "streamflix" / "terraform-plugins"
    path.mkdir(parents=True, exist_ok=True)
    return path


def provider_mirror() -> Path | None:
    """The filesystem mirror named by TF_PROVIDER_MIRROR, checked; None when it is not set."""
    value = os.environ.get("TF_PROVIDER_MIRROR")
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    if not mirrored_providers(path):
        raise UsageError(
            f"TF_PROVIDER_MIRROR={value} holds no providers (expected <host>/<namespace>/<type>/<version>/"
            "<os>_<arch>/, as `terraform providers mirror` writes)"
        )
    return path


def mirrored_providers(mirror: Path) -> dict[str, list[str]]:
    """{"registry.terraform.io/hashicorp/aws": ["5.100.0"], ...}: what a filesystem mirror holds."""
    found: dict[str, list[str]] = {}
    if not mirror.is_dir():
        return found
    for version_dir in sorted(mirror.glob("*/*/*/*")):
        if version_dir.is_dir() and re.match(r"^\d+\.\d+\.\d+", version_dir.name):
            found.setdefault(str(version_dir.parent.relative_to(mirror)), []).append(version_dir.name)
    return found


def write_cli_config(mirror: Path, path: Path) -> Path:
    """A CLI configuration that installs the mirror's providers from it and only the others from
    their registry (a provider that both could serve would otherwise be looked up online)."""
    sources = sorted(mirrored_providers(mirror))
    listed = ", ".join(json.dumps(s) for s in sources)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(
        path,
        "# Written by shared/ops/engine.py for TF_PROVIDER_MIRROR; regenerated on every run.\n"
        "provider_installation {\n"
        f"  filesystem_mirror {{\n    path    = {json.dumps(str(mirror))}\n    include = [{listed}]\n  }}\n"
        f"  direct {{\n    exclude = [{listed}]\n  }}\n"
        "}\n",
    )
    return path


def _parse_version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"v?(\d+)\.(\d+)", text.strip())
    return (int(match[1]), int(match[2])) if match else None


def find_engine() -> Engine:
    """TF_BIN if set, else `terraform`, else `tofu` on PATH; refuse anything older than 1.11."""
    explicit = os.environ.get("TF_BIN")
    if explicit:
        binary = shutil.which(explicit)
        if not binary:
            raise UsageError(f"TF_BIN={explicit} is not an executable; {INSTALL_HINT}")
    else:
        binary = shutil.which("terraform") or shutil.which("tofu")
        if not binary:
            raise UsageError(f"no deploy engine found (neither terraform nor tofu is on PATH): {INSTALL_HINT}")
    proc = subprocess.run(
        [binary, "version", "-json"],
        env=engine_log.CURRENT.environment(os.environ),
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        version = json.loads(proc.stdout)["terraform_version"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(
            f"{binary} did not report its version (exit {proc.returncode}): {proc.stderr.strip()}"
        ) from None
    parsed = _parse_version(version)
    if parsed is None or parsed < MINIMUM:
        raise UsageError(
            f"{binary} is version {version}; 1.11 or newer is needed (write-only arguments keep the database "
            f"password out of state): {INSTALL_HINT}"
        )
    return Engine(binary, version)
