"""The emulator's HTTP server: a stdlib ThreadingHTTPServer speaking HTTP/1.1 on loopback.

This module owns the socket side: reading bodies, bearer auth, routing to `Service` / `Admin`,
and applying the transport faults decided by `Controls` (latency, resets, 429, 5xx, dropped,
truncated, malformed, mislabelled or slow responses). `serve` blocks until SIGINT/SIGTERM;
`start_background` runs the same server on a thread for in-process tests.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit

from reconciler.emulator.admin import Admin
from reconciler.emulator.config import EmulatorConfig, Knobs
from reconciler.emulator.faults import Controls
from reconciler.emulator.media import MEDIA_PREFIX
from reconciler.emulator.service import (
    AUDIT_PATH,
    AUDIT_STATUS_PATH,
    AUTH_FAILED,
    BAD_REQUEST,
    CATALOG_PATH,
    CREATE_PATH,
    KEY_BALANCE_PATH,
    QUERY_PREFIX,
    SERVER_ERROR,
    UPLOAD_PATH,
    USER_BALANCE_PATH,
    Reply,
    Service,
    envelope,
    json_reply,
)
from reconciler.emulator.store import Store
from reconciler.emulator.upload import UploadError, receive_upload

log = logging.getLogger(__name__)

MAX_JSON_BODY = 10 * 1024 * 1024
_GATEWAY_HTML = b"<html><head><title>502 Bad Gateway</title></head><body>bad gateway</body></html>"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks open 32+ keep-alive connections at once.
    request_queue_size = 128

    def __init__(self, config: EmulatorConfig) -> None:
        if ":" in config.host:
            self.address_family = socket.AF_INET6
        super().__init__((config.host, config.port), _Handler)
        self.config = config
        self.store = Store(config.data_path, config.balance)
        self.controls = Controls(config.knobs, config.seed)
        self.service = Service(config, self.store, self.controls, lambda: self.url)
        self.admin = Admin(self.store, self.controls, self.service)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    @property
    def url(self) -> str:
        host = self.config.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.server_address[1]}"

    def track(self, connection: socket.socket, alive: bool) -> None:
        with self._connections_lock:
            if alive:
                self._connections.add(connection)
            else:
                self._connections.discard(connection)
        self.controls.connection(opened=alive)

    def server_close(self) -> None:
        super().server_close()
        # Like a process exit: hang up keep-alive clients instead of serving them from a
        # server whose state file is closed.
        with self._connections_lock:
            open_connections = list(self._connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        self.store.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; with Nagle on, delayed ACKs add ~40 ms each.
    disable_nagle_algorithm = True
    # Idle keep-alive connections give their thread back after this many seconds.
    timeout = 120
    server: _Server

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, alive=True)

    def finish(self) -> None:
        self.server.track(self.connection, alive=False)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_HEAD(self) -> None:
        # Download clients probe result URLs with HEAD; same reply without the body.
        self._dispatch("GET")

    # -- plumbing -------------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        try:
            size = int(length)
        except ValueError:
            return None
        if size < 0 or size > MAX_JSON_BODY:
            return None
        return self.rfile.read(size)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def _authorised(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        expected = self.server.config.api_key
        return scheme.lower() == "bearer" and hmac.compare_digest(
            token.strip().encode(), expected.encode()
        )

    def _dispatch(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        query = parse_qs(split.query)
        controls = self.server.controls
        prefix = controls.knobs.fault_path_prefix
        # Result downloads get faults too, but only when fault_path_prefix names them.
        media_faults = (
            prefix is not None and path.startswith(MEDIA_PREFIX) and path.startswith(prefix)
        )
        if path.startswith("/_emulator/") and not media_faults:
            body = self._read_body()
            self._send(self.server.admin.handle(method, path, query, body))
            return
        pre = controls.before(path)
        if pre.delay_s > 0:
            time.sleep(pre.delay_s)
        is_upload = method == "POST" and path == UPLOAD_PATH
        if pre.reset:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        body = b"" if is_upload else self._read_body()
        if is_upload and (pre.status_429 or pre.status_5xx or pre.code_minus1):
            self.close_connection = True  # the multipart body stays unread
        if pre.status_429:
            retry = str(controls.knobs.retry_after)
            payload = {"code": 429, "msg": "too many requests", "data": None}
            self._send(_with_headers(json_reply(payload, 429), ("Retry-After", retry)))
            return
        if pre.status_5xx is not None:
            payload = {"code": SERVER_ERROR, "msg": "upstream error", "data": None}
            self._send(json_reply(payload, pre.status_5xx))
            return
        if pre.code_minus1:
            self._send(envelope(SERVER_ERROR, "server error, please retry later"))
            return
        try:
            if media_faults:
                reply = self.server.admin.handle(method, path, query, body)
            else:
                reply = self._route(method, path, query, body, is_upload)
        except Exception:
            # An emulator bug must show up as a loud 500, not as a silently dropped connection.
            log.exception("emulator bug while handling %s %s", method, path)
            self.close_connection = True
            reply = json_reply({"code": SERVER_ERROR, "msg": "emulator internal error"}, 500)
        self._respond(path, reply)

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes | None,
        is_upload: bool,
    ) -> Reply:
        service = self.server.service
        if method == "GET" and path == CATALOG_PATH:
            return service.catalog(query.get("search", [None])[0])
        if not path.startswith("/api/open-api/v1/"):
            return json_reply({"code": 404, "msg": "not found", "data": None}, 404)
        if not self._authorised():
            if is_upload:
                self.close_connection = True
            return envelope(AUTH_FAILED, "authentication failed: invalid or missing API key")
        if is_upload:
            return self._upload()
        if body is None:
            self.close_connection = True
            return envelope(BAD_REQUEST, "request body missing or too large")
        return route_vendor(service, method, path, body, self.headers.get)

    def _upload(self) -> Reply:
        try:
            data = receive_upload(
                self.rfile,
                self.headers.get("Content-Type", ""),
                self.headers.get("Content-Length"),
                self.server.config.data_path.parent / "uploads",
            )
        except UploadError as err:
            self.close_connection = True
            return envelope(BAD_REQUEST, err.message)
        self.server.store.add_upload(data.sha256, data.filename, data.size, data.mime_type)
        return envelope(20000, "ok", data.as_json())

    def _respond(self, path: str, reply: Reply) -> None:
        post = self.server.controls.after(path, reply.created)
        if post.drop:
            # The create is committed; the client never hears about it.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if post.malformed_json:
            reply = Reply(reply.status, reply.body[: max(1, len(reply.body) // 2)] + b"\x00{")
        elif post.wrong_content_type:
            reply = Reply(502 if reply.status >= 500 else 200, _GATEWAY_HTML, "text/html")
        if post.truncate:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if post.bytes_per_second > 0:
            self._send_slowly(reply, post.bytes_per_second)
            return
        self._send(reply)

    def _send_slowly(self, reply: Reply, rate: int) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.flush()
        step = max(1, rate // 10)
        for start in range(0, len(reply.body), step):
            piece = reply.body[start : start + step]
            # Pay for each piece before sending it, so the last byte arrives on schedule.
            time.sleep(len(piece) / rate)
            self.wfile.write(piece)
            self.wfile.flush()


def _with_headers(reply: Reply, *headers: tuple[str, str]) -> Reply:
    return Reply(reply.status, reply.body, reply.content_type, reply.headers + headers)


def route_vendor(
    service: Service,
    method: str,
    path: str,
    raw: bytes,
    header: Callable[[str], str | None],
) -> Reply:
    """Dispatch one authenticated vendor JSON request."""
    if method == "GET":
        if path.startswith(QUERY_PREFIX) and len(path) > len(QUERY_PREFIX):
            return service.query(path[len(QUERY_PREFIX) :])
        if path == USER_BALANCE_PATH:
            return service.user_balance()
        if path == KEY_BALANCE_PATH:
            return service.key_balance()
        return json_reply({"code": 404, "msg": "not found", "data": None}, 404)
    if path not in (CREATE_PATH, AUDIT_PATH, AUDIT_STATUS_PATH):
        return json_reply({"code": 404, "msg": "not found", "data": None}, 404)
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        return envelope(BAD_REQUEST, "request body is not valid JSON")
    if not isinstance(body, dict):
        return envelope(BAD_REQUEST, "request body must be a JSON object")
    if path == CREATE_PATH:
        return service.create(body, header("X-Reconciler-Fingerprint"))
    if path == AUDIT_PATH:
        return service.audit(body)
    return service.audit_status(body)


class RunningEmulator:
    """An emulator serving on a background thread; use as a context manager."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._server = _Server(config)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="seedance-emulator",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def url(self) -> str:
        return self._server.url

    @property
    def config(self) -> EmulatorConfig:
        return self._server.config

    def set_knobs(self, **changes: object) -> Knobs:
        """In-process twin of POST /_emulator/admin; raises KnobError on a bad knob."""
        return self._server.controls.update(changes)

    def stats(self) -> dict[str, object]:
        """In-process twin of GET /_emulator/stats."""
        stats = self._server.store.stats()
        stats["faults_injected"] = self._server.controls.injected()
        stats["peak_connections"] = self._server.controls.peak_connections()
        return stats

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def start_background(config: EmulatorConfig) -> RunningEmulator:
    return RunningEmulator(config)


def serve(config: EmulatorConfig, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until SIGINT or SIGTERM; ``on_ready(url)`` is called once the socket listens."""
    stop = threading.Event()
    previous: dict[signal.Signals, object] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda _s, _f: stop.set())
    running = RunningEmulator(config)
    try:
        log.info("emulator listening on %s", running.url)
        if on_ready is not None:
            on_ready(running.url)
        while not stop.wait(0.5):
            pass
    finally:
        running.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
