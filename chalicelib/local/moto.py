"""The embedded AWS: moto's server app on a local threaded HTTP server, DynamoDB calls serialised."""
from __future__ import annotations

import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time inside moto.

    Real DynamoDB applies each conditional write and transaction atomically; moto's in-memory tables are not
    thread-safe (two concurrent transactions can both pass their conditions, and a cancelled one rolls back a
    snapshot over a concurrent write). Serialising DynamoDB calls restores the guarantee our code relies on, while
    SQS long polls and the other services stay concurrent.
    """

    def __init__(self, app) -> None:
        self._app, self._lock = app, threading.Lock()

    def __call__(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB"):
            with self._lock:
                return list(self._app(environ, start_response))
        return self._app(environ, start_response)


class MotoServer:
    """moto's server app on a werkzeug threaded server bound to 127.0.0.1, DynamoDB serialised."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = _SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app))
        self._server = make_server("127.0.0.1", port, app, threaded=True, request_handler=MotoRequestHandler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="moto")

    def start(self) -> "MotoServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)


def start_moto(port: int = 0):
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
    port = port or free_port()
    return MotoServer(port).start(), f"http://127.0.0.1:{port}"
