"""The HTTP side: a threaded server on one host, the ``Sandbox`` handle, and ``serve``.

``http.server`` answers HTTP/1.1 with keep-alive, one thread per connection
(daemon threads), Nagle off so a page is not held back waiting for an ACK.
Faults that break the connection are done here, where the socket is:
``reset`` closes it with SO_LINGER 0 (the peer gets a TCP RST, no response at
all) and ``truncate`` announces the full Content-Length, writes half the
body and closes. A trickled answer (``Hostile.trickle``) sends its headers at
once and its body one byte at a time. Closing a sandbox stops accepting, shuts every open
connection and ends any sleep in progress, so no thread outlives it for long.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

from ..entities import Entity
from .app import ERROR_BODY, JSON, Api, MutationEvent, Request, Response, Stats
from .config import SandboxConfig


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, host: str, port: int) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.api: Api | None = None
        self._connections: set[socket.socket] = set()
        self._aborted: set[socket.socket] = set()
        self._guard = threading.Lock()
        super().__init__((host, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host name up (getfqdn), which can stall on a
        # machine without DNS; the sandbox has no use for the name.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._guard:
            self._connections.add(request)
        super().process_request(request, client_address)

    def abort(self, connection: socket.socket) -> None:
        """Have ``connection`` closed with a reset once its handler returns."""
        with self._guard:
            self._aborted.add(connection)

    def shutdown_request(self, request: Any) -> None:
        with self._guard:
            self._connections.discard(request)
            aborted = request in self._aborted
            self._aborted.discard(request)
        if not aborted:
            super().shutdown_request(request)
            return
        with contextlib.suppress(OSError):
            # Linger 0: close() sends RST instead of FIN, as a crashed server would.
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that goes away mid-answer (resets, timeouts in tests) is not an error
        # of the sandbox; tracebacks on stderr would only bury the test output.
        pass

    def close_connections(self) -> None:
        with self._guard:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "recon-sandbox"
    sys_version = ""
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass  # serve() prints nothing; stats counts every request instead

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, method: str) -> None:
        api = self.server.api
        assert api is not None
        body = self._read_body()
        try:
            response = api.handle(Request(method, self.path, self.headers, body))
        except Exception:
            response = Response(500, ERROR_BODY, JSON)
        self._write(response)
        api.record(api.path_key(self.path), response.status)

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _write(self, response: Response) -> None:
        if response.action == "reset":
            self.server.abort(self.connection)
            self.close_connection = True
            return
        self.send_response(response.status)
        if response.content_type is not None:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers:
            self.send_header(name, value)
        self.end_headers()
        if response.action == "truncate":
            self.wfile.write(response.body[: len(response.body) // 2])
            self.close_connection = True
        elif response.trickle > 0:
            api = self.server.api
            assert api is not None
            for index in range(len(response.body)):
                self.wfile.write(response.body[index : index + 1])
                api.sleep(response.trickle)  # cut short when the sandbox closes
        else:
            self.wfile.write(response.body)


class Sandbox:
    """A Nexudus API simulator serving ``config.snapshot`` over HTTP on ``config.host``.

    Use as a context manager (or ``start()`` / ``close()``)::

        with Sandbox(SandboxConfig(snapshot=Path("sample_data"))) as sandbox:
            httpx.get(sandbox.base_url + "/api/billing/coworkerbookingcredits", ...)
    """

    def __init__(self, config: SandboxConfig | None = None) -> None:
        self.config = config or SandboxConfig()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._api: Api | None = None
        self._closing = threading.Event()

    def start(self) -> Sandbox:
        """Bind the port, load the snapshot, serve in a daemon thread.

        ``OSError`` when the port cannot be bound (checked first, before a long
        load); ``SnapshotError`` when the snapshot cannot be read.
        """
        if self._server is not None:
            raise RuntimeError("this sandbox is already started")
        server = _Server(self.config.host, self.config.port)
        self._closing = threading.Event()
        try:
            server.api = self._api = Api(self.config, self._closing)
        except BaseException:
            server.server_close()
            raise
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"recon-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, close every connection and the listening socket."""
        server, self._server = self._server, None
        if server is None:
            return
        self._closing.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def wait(self) -> None:
        """Block until the sandbox is closed (Ctrl-C raises KeyboardInterrupt here)."""
        while not self._closing.wait(0.5):
            pass

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the sandbox is not started")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT``, what a client passes as ``--base-url``."""
        host = self.config.host
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    def _require(self) -> Api:
        if self._api is None:
            raise RuntimeError("the sandbox is not started")
        return self._api

    def records(self, entity: Entity | str) -> list[dict[str, Any]]:
        """The records of ``entity`` served now (after mutations and creates), in Id order."""
        return self._require().records(entity)

    @property
    def issued_tokens(self) -> list[str]:
        """Every access and refresh token the sandbox issued, to check none leaked."""
        return self._require().accounts.issued_tokens()

    @property
    def mutations_log(self) -> list[MutationEvent]:
        """Every change made while serving: configured mutations and created records."""
        return self._require().mutations_log()

    @property
    def stats(self) -> Stats:
        """A copy of the counters: requests by path and status, 409s, faults, tokens."""
        return self._require().stats()


def serve(config: SandboxConfig, ready: Callable[[Sandbox], None] | None = None) -> None:
    """Serve until interrupted (KeyboardInterrupt propagates); print nothing.

    ``ready`` is called with the started sandbox once it answers requests, for
    a caller that wants to say where it is.
    """
    with Sandbox(config) as sandbox:
        if ready is not None:
            ready(sandbox)
        sandbox.wait()
