"""The signals that reach the tool while engines run: SIGINT, SIGTERM and SIGHUP, passed on to each engine as
exactly one graceful stop, so that it saves its state before it ends."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading

from shared.ops.engine.console import say


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

    @contextlib.contextmanager
    def prompting(self):
        """A question to the user while the signals are caught: no engine runs then, so Ctrl-C is the user's
        answer, at once (KeyboardInterrupt), not a graceful stop for the next engine to meet."""
        if threading.current_thread() is not threading.main_thread() or self._depth == 0:
            yield
            return
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)


INTERRUPTS = _Interrupts()


def _stop(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):  # it has just exited
        os.killpg(proc.pid, signal.SIGINT)  # Terraform's and OpenTofu's graceful stop
