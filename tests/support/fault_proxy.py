"""A TCP proxy on 127.0.0.1 between the engine and the emulator that lets the network drop on command.

`drop()` refuses every new connection, and cuts an open one when its client sends a new request (before
a byte of it is forwarded), as a network that goes away between requests does; `restore()` brings it back.
A request already forwarded is left to finish, its whole answer included: cutting one would make the SDK
retry a create that the emulator already did, which tests the provider's idempotency, not this tool. (Cutting
every idle-looking connection at once at the drop did that now and then: an answer sent in two writes, its
headers then its body, looked idle between them, and the security group it created was orphaned.) Only
loopback, bounded by its owner: `close()` ends every thread.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class _Link:
    """One client connection and its upstream; whether a request is waiting for its answer."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client, self.upstream = client, upstream
        self.asked = self.answered = 0.0  # when the client last sent, the emulator last answered

    @property
    def idle(self) -> bool:
        return self.answered >= self.asked

    def cut(self) -> None:
        for sock in (self.client, self.upstream):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class FaultProxy:
    def __init__(self, target_port: int):
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.dropped = threading.Event()
        self.closed = threading.Event()
        self.links: list[_Link] = []
        self.refused = 0  # connections refused while dropped
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def drop(self) -> None:
        self.dropped.set()  # each open connection is cut at its next request (_pump)

    def restore(self) -> None:
        self.dropped.clear()

    def close(self) -> None:
        self.closed.set()
        self.listener.close()
        with self._lock:
            links, self.links = self.links, []
        for link in links:
            link.cut()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dropped.is_set():
                self.refused += 1
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # a reset, as a host that has gone away answers
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            link = _Link(client, upstream)
            with self._lock:
                self.links.append(link)
            threading.Thread(target=self._pump, args=(link, client, upstream, "asked"), daemon=True).start()
            threading.Thread(target=self._pump, args=(link, upstream, client, "answered"), daemon=True).start()

    def _pump(self, link: _Link, source: socket.socket, sink: socket.socket, mark: str) -> None:
        try:
            while chunk := source.recv(65536):
                if mark == "asked" and link.idle and self.dropped.is_set():
                    break  # a new request while the network is gone: it never arrives (finally cuts the link)
                setattr(link, mark, time.monotonic())
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                if link in self.links:
                    self.links.remove(link)
            link.cut()
