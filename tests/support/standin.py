"""The handle on the engine stand-in that the `engine` fixture gives a test (tests/support/fake_engine.py
is the stand-in itself)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from shared.paths import ROOT


class FakeEngine:
    """Handle on the stand-in engine: what it was asked to do, and knobs to make it misbehave.

    `terraform` on PATH is the native client of the session's engine server when a C compiler was
    there to build it, else a script running the Python stand-in per call (the same behaviour)."""

    def __init__(self, root: Path, monkeypatch, served: tuple[Path, str] | None):
        self.root = root
        self.served = served is not None  # in the test process: it can write state objects to moto
        self.bin = root / "bin"
        self.log = root / "engine.log"
        self.state = root / "state"
        self.bin.mkdir(parents=True)
        self.state.mkdir()
        self.log.touch()
        wrapper = self.bin / "terraform"
        if served:
            client, socket_path = served
            wrapper.symlink_to(client)
            monkeypatch.setenv("FAKE_TF_SOCKET", socket_path)
        else:
            script = ROOT / "tests/support/fake_engine.py"
            wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "{script}" "$@"\n')
            wrapper.chmod(0o755)
            monkeypatch.delenv("FAKE_TF_SOCKET", raising=False)
        self._mp = monkeypatch
        monkeypatch.setenv("PATH", f"{self.bin}{os.pathsep}{os.environ['PATH']}")
        monkeypatch.delenv("TF_BIN", raising=False)
        monkeypatch.delenv("CONFIRM", raising=False)
        for name in (
            "FAKE_TF_FAIL",
            "FAKE_TF_DRIFT",
            "FAKE_TF_CHANGES",
            "FAKE_TF_OUTPUTS",
            "FAKE_TF_VERSION",
            "FAKE_TF_SLOW",
            "FAKE_TF_SHOW",
            "FAKE_TF_ERRORED",
            "FAKE_TF_LOCKED",
            "FAKE_TF_SECRET",
        ):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("FAKE_TF_LOG", str(self.log))
        monkeypatch.setenv("FAKE_TF_STATE", str(self.state))

    def set(self, name: str, value: str | None) -> None:
        if value is None:
            self._mp.delenv(f"FAKE_TF_{name}", raising=False)
        else:
            self._mp.setenv(f"FAKE_TF_{name}", value)

    def entries(self) -> list[dict]:
        """Every invocation as the stand-in logged it (args, cwd, and for an apply the plan file's modes)."""
        return [json.loads(line) for line in self.log.read_text().splitlines()]

    def calls(self) -> list[tuple[str, str, list[str]]]:
        """(command, stack id, arguments) of every invocation but `version`, in order."""
        found = []
        for line in self.log.read_text().splitlines():
            entry = json.loads(line)
            if entry["args"][0] != "version":
                found.append((entry["args"][0], Path(entry["cwd"]).name, entry["args"]))
        return found

    def commands(self, command: str) -> list[str]:
        """Stack ids that `command` ran in, in order."""
        return [stack for cmd, stack, _ in self.calls() if cmd == command]

    def clear(self) -> None:
        self.log.write_text("")
