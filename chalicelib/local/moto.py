"""The embedded AWS: moto's server app on a local threaded HTTP server, DynamoDB calls serialised."""
from __future__ import annotations

import socket
import threading


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# One DynamoDB request at a time inside moto (see _SerialisedDynamoDB); also taken to tidy moto's state in-process.
DYNAMODB_LOCK = threading.Lock()


class _SerialisedDynamoDB:
    """WSGI middleware: one DynamoDB request at a time inside moto.

    Real DynamoDB applies each conditional write and transaction atomically; moto's in-memory tables are not
    thread-safe (two concurrent transactions can both pass their conditions, and a cancelled one rolls back a
    snapshot over a concurrent write). Serialising DynamoDB calls restores the guarantee our code relies on, while
    SQS long polls and the other services stay concurrent.
    """

    def __init__(self, app) -> None:
        self._app, self._lock = app, DYNAMODB_LOCK

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


def trim_stream(stream_arn: str, upto_sequence: int, region: str = "ap-southeast-1") -> int:
    """Drop a table's stream records up to ``upto_sequence``, once its consumer has handled them; returns how many.

    DynamoDB Streams keeps records 24 hours; moto keeps every one and deep-copies them with the table before every
    transaction, so without this each transaction of a long test session gets slower than the one before. Done
    under the DynamoDB lock (no write is appending meanwhile) and keeping moto's sequence numbers as they were."""
    try:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        table_name = stream_arn.split(":table/", 1)[1].split("/", 1)[0]
        with DYNAMODB_LOCK:
            table = dynamodb_backends[DEFAULT_ACCOUNT_ID][region].tables.get(table_name)
            shard = getattr(table, "stream_shard", None)
            if shard is None:
                return 0
            count = max(0, min(len(shard.items), upto_sequence - shard.starting_sequence_number + 1))
            del shard.items[:count]
            shard.starting_sequence_number += count
            return count
    except (ImportError, KeyError, IndexError, AttributeError):
        return 0  # another moto layout, or moto not in this process: leave it
