"""A loopback TCP proxy that plays a power cut: when the agent's side dies, the broker's side stays open.

The broker then believes the old connection alive until its keepalive runs out (1.5 keepalives), as after a
real power cut or a dead NAT entry. Bounded: loopback only, daemon threads, everything closed by :meth:`close`.
"""

from __future__ import annotations

import socket
import threading


class HalfOpenProxy:
    """Listens on a free port of 127.0.0.1 and forwards each connection to ``127.0.0.1:target_port``."""

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._closed = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target), timeout=5)
            client.settimeout(None)  # blocking: an idle connection is not a closed one
            upstream.settimeout(None)
            self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        """Copy bytes until ``source`` ends; the other socket is left open (the half-open connection)."""
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    return
                sink.sendall(data)
        except OSError:
            return

    def close(self) -> None:
        self._closed.set()
        self._listener.close()
        for s in self._sockets:
            s.close()
