"""Serve the stand-in engine (fake_engine.run) to fake_engine_client.c from inside the test process.

A suite makes about a thousand engine calls; as a Python process each, they were a third of its CPU.
The client is still a process of its own for the tool under test (pid, pipes, exit status, process
group); only the engine's logic runs here, one thread per call, with the call's own working directory
and environment. Runs that must trap signals (FAKE_TF_SLOW) never come here: the client becomes the
Python stand-in for them.
"""

from __future__ import annotations

import os
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from tests.support import fake_engine

HERE = Path(__file__).resolve().parent


def build_client(folder: Path) -> Path | None:
    """The client compiled into `folder`, or None where no C compiler works (callers then run the
    Python stand-in as a process per call: slower, the same behaviour)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    binary = folder / "fake-engine-client"
    proc = subprocess.run(
        [
            compiler,
            "-O2",
            "-o",
            str(binary),
            str(HERE / "fake_engine_client.c"),
            f'-DPYTHON="{sys.executable}"',
            f'-DSCRIPT="{HERE / "fake_engine.py"}"',
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    return binary if proc.returncode == 0 else None


class _Handler(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        conn: socket.socket = self.request
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
        cwd, count, *rest = b"".join(chunks).split(b"\0")[:-1]
        argv = [os.fsdecode(a) for a in rest[: int(count)]]
        env = dict(os.fsdecode(e).partition("=")[::2] for e in rest[int(count) :])

        def frame(tag: bytes, text: str) -> None:
            data = text.encode("utf-8", errors="surrogateescape")
            conn.sendall(tag + struct.pack(">I", len(data)) + data)

        with suppress(BrokenPipeError, ConnectionResetError):  # the client was stopped: nobody reads
            try:
                code = fake_engine.run(
                    argv,
                    Path(os.fsdecode(cwd)),
                    env,
                    lambda t: frame(b"1", t),
                    lambda t: frame(b"2", t),
                    in_process=True,
                )
            except Exception as exc:  # the stand-in's own bug: show it as an engine crash would be
                frame(b"2", f"fake engine crashed: {exc!r}\n")
                code = 70
            conn.sendall(b"x" + struct.pack(">I", code))


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


@contextmanager
def serving() -> Iterator[str]:
    """A server for this process's lifetime in a short temporary folder (a socket path holds at most
    107 bytes); yields the socket's path for FAKE_TF_SOCKET."""
    folder = tempfile.mkdtemp(prefix="fake-tf-")
    path = os.path.join(folder, "engine.sock")
    server = _Server(path, _Handler)
    thread = threading.Thread(target=server.serve_forever, name="fake-engine", daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(folder, ignore_errors=True)
