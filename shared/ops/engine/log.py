"""What the engine may log, and where: its debug log holds secrets, so it reaches no console, CI log or
file that CI uploads.

At a debug level a provider logs the responses it gets: the refresh of the database secret's version
calls GetSecretValue, and the password is then in the log (JSON-escaped, but whole). So the engine never
inherits a variable that turns logging on or says where it goes: every TF_LOG* (TF_LOG, TF_LOG_CORE,
TF_LOG_PROVIDER, TF_LOG_PROVIDER_<NAME>, TF_LOG_CLOUD, TF_LOG_SDK*, TF_LOG_SDK_PROTO_DATA_DIR, which writes
every protocol message to files, TF_LOG_PATH, TF_LOG_PATH_MASK; a prefix, so that one added later is
covered too) and TF_ACC_LOG* (the plugin SDK's test logs). The tool says so once per command.

Engine debugging is asked for by name: ENGINE_DEBUG=1 (or a level, TRACE by default). The log then goes
to one file, mode 0600, in a directory made fresh for the command that only the user can read, outside
cdktf.out/, reports/ and outputs/; the tool names it and warns that it may hold secrets. Never under CI,
whose log and files are read by others.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from shared.contract import DEFAULT_OUTDIR
from shared.errors import UsageError
from shared.options import under_ci
from shared.paths import OUTPUTS_DIR, REPORTS_DIR, ROOT

WITHHELD = ("TF_LOG", "TF_ACC_LOG")  # prefixes of the variables the engine never inherits
# Variables that would make the engine work somewhere or on something else than the tool checks and records
# (the state location its protection, fingerprints, locks and errored-state records describe; the arguments
# it gives): a TF_WORKSPACE left from another project moves every state key, TF_CLI_ARGS_plan=-destroy turns
# every plan into a destroy. Withheld like the logging ones, and named once.
RETARGETING = ("TF_WORKSPACE", "TF_CLI_ARGS", "TF_DATA_DIR", "TF_REATTACH_PROVIDERS")
LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "JSON")  # what TF_LOG takes (JSON: TRACE, as JSON)
DEBUG_VARIABLE = "ENGINE_DEBUG"


def withheld(environ: Mapping[str, str]) -> list[str]:
    """The logging variables set in `environ` (with a value) that the engine will not get."""
    return sorted(name for name, value in environ.items() if name.startswith(WITHHELD) and value)


def retargeting(environ: Mapping[str, str]) -> list[str]:
    """The variables set in `environ` that would move the engine off what the tool checks: not passed on."""
    return sorted(name for name, value in environ.items() if _retargets(name) and value)


def _retargets(name: str) -> bool:
    return name.startswith("TF_CLI_ARGS") or name in RETARGETING


class EngineLog:
    """How this command's engine runs log: never at the level the user's shell asks for; to a private file
    when ENGINE_DEBUG asks. Made once per command (shared/cli.py), shared by every engine run of it, the
    parallel ones included; what it has to say, it says once."""

    def __init__(self, debug_level: str | None = None, *, directory: Path | None = None):
        self.debug_level = debug_level
        self._directory = directory  # where the private folder is made (the system's temporary folder)
        self._file: Path | None = None
        self._said = False
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> EngineLog:
        """ENGINE_DEBUG and CI, read once. Refuses (exit 2) engine debugging under CI, or where the private
        folder would land inside what CI uploads."""
        value = environ.get(DEBUG_VARIABLE, "").strip()
        if value.lower() in ("", "0", "false", "no", "off"):
            return cls()
        if under_ci(environ):
            raise UsageError(
                f"{DEBUG_VARIABLE}={value} is refused under CI=true: the engine's debug log holds secrets (the "
                "database password among them), and a CI job's log and files are read by others. Debug the "
                "engine on your own machine; nothing was run"
            )
        directory = Path(tempfile.gettempdir()).resolve()
        for top in (DEFAULT_OUTDIR, REPORTS_DIR, OUTPUTS_DIR):
            for uploaded in {(ROOT / top).resolve(), top.resolve()}:
                if directory == uploaded or uploaded in directory.parents:
                    raise UsageError(
                        f"{DEBUG_VARIABLE}: the temporary folder {directory} is inside {top}/, which CI uploads "
                        "and the tools rewrite; point TMPDIR elsewhere; nothing was run"
                    )
        return cls(value.upper() if value.upper() in LEVELS else "TRACE", directory=directory)

    @property
    def debug_file(self) -> Path | None:
        return self._file

    def environment(self, variables: Mapping[str, str]) -> dict[str, str]:
        """`variables` as the engine gets them: without any logging variable, with the debug log's when
        asked for (its file made at the first engine run of the command)."""
        kept = {n: v for n, v in variables.items() if not n.startswith(WITHHELD) and not _retargets(n)}
        with self._lock:
            if self.debug_level and self._file is None:
                self._file = _private_file(self._directory)
            if not self._said:
                self._said = True
                self._say(withheld(variables))
                if moved := retargeting(variables):
                    _notice(
                        f"{', '.join(moved)} {'is' if len(moved) == 1 else 'are'} set in your shell: the engine does "
                        "not get it: it would move the engine off the state and arguments this tool checks and "
                        "records (unset it)"
                    )
        if self._file is not None:
            kept.update(TF_LOG=self.debug_level or "TRACE", TF_LOG_PATH=str(self._file))
        return kept

    def _say(self, names: list[str]) -> None:
        if names:
            them = "it" if len(names) == 1 else "them"
            verb = "is" if len(names) == 1 else "are"
            _notice(
                f"{', '.join(names)} {verb} set in your shell: the engine does not get {them} (its debug log would "
                f"hold secrets); for engine debugging use {DEBUG_VARIABLE}=1"
            )
        if self._file is not None:
            _notice(
                f"engine debug log ({DEBUG_VARIABLE}, TF_LOG={self.debug_level}): {self._file}; it may hold "
                "secrets (the database password): keep it to yourself and delete it when done"
            )


def _private_file(directory: Path | None) -> Path:
    """A new file, mode 0600, in a new folder only the user can enter (mkdtemp makes it 0700)."""
    folder = Path(tempfile.mkdtemp(prefix="streamflix-engine-debug-", dir=directory))
    path = folder / "engine-debug.log"
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    path.chmod(0o600)  # whatever the umask
    return path


def _notice(text: str) -> None:
    try:
        sys.stderr.write(text + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # the terminal is gone: the engine must go on regardless
        pass


CURRENT = EngineLog()  # replaced by shared/cli.py with the command's own, read from its environment


def use(log: EngineLog) -> EngineLog:
    """Make `log` the one every engine run of this command follows."""
    global CURRENT
    CURRENT = log
    return log
