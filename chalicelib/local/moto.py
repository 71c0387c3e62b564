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


class _BucketCors:
    """WSGI middleware: a browser's request to a bucket (an Origin header, a path under an existing bucket) is
    answered by that bucket's own CORS rules, as S3 does, and by nothing else.

    moto's server adds flask-cors's ``Access-Control-Allow-Origin: *`` to every answer, and its S3 applies the
    bucket's rules to preflights and object reads but not to a POST upload. So locally a browser upload would work
    with no CORS rule at all, or with a wrong one, and fail only in AWS. Here the bucket's rules (applied from the
    template by chalicelib.local.fixups) decide: a preflight is answered 200 with the rule's headers or 403 as S3
    does; any other answer loses moto's CORS headers and gets the matching rule's (none when no rule matches, so the
    browser refuses to let the page read it). Requests without an Origin (boto3, the API) are untouched."""

    def __init__(self, app) -> None:
        self._app = app

    @staticmethod
    def _rules(path: str) -> list | None:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.s3.models import s3_backends

        name = path.lstrip("/").split("/", 1)[0]
        bucket = s3_backends[DEFAULT_ACCOUNT_ID]["aws"].buckets.get(name) if name else None
        return None if bucket is None else list(bucket.cors)

    @staticmethod
    def _matching(rules: list, origin: str, method: str, headers: list[str]):
        from fnmatch import fnmatchcase

        for rule in rules:
            allowed = [h.lower() for h in rule.allowed_headers or []]
            if any(fnmatchcase(origin, o) for o in rule.allowed_origins or []) \
                    and method in (rule.allowed_methods or []) \
                    and all(h in allowed or "*" in allowed for h in headers):
                return rule
        return None

    @staticmethod
    def _headers(rule, origin: str, method_list: bool) -> list[tuple[str, str]]:
        out = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if method_list:
            out.append(("Access-Control-Allow-Methods", ", ".join(rule.allowed_methods)))
            if rule.max_age_seconds is not None:
                out.append(("Access-Control-Max-Age", str(rule.max_age_seconds)))
        if rule.exposed_headers:
            out.append(("Access-Control-Expose-Headers", ", ".join(rule.exposed_headers)))
        return out

    def __call__(self, environ, start_response):
        origin = environ.get("HTTP_ORIGIN")
        rules = self._rules(environ.get("PATH_INFO", "")) if origin and not environ.get("HTTP_X_AMZ_TARGET") else None
        if rules is None:
            return self._app(environ, start_response)
        method = environ["REQUEST_METHOD"]
        if method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ:
            asked = [h.strip().lower() for h in environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").split(",")
                     if h.strip()]
            rule = self._matching(rules, origin, environ["HTTP_ACCESS_CONTROL_REQUEST_METHOD"], asked)
            if rule is None:
                body = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessForbidden</Code>"
                        b"<Message>CORSResponse: This CORS request is not allowed.</Message></Error>")
                start_response("403 Forbidden", [("Content-Type", "application/xml"),
                                                 ("Content-Length", str(len(body)))])
                return [body]
            headers = self._headers(rule, origin, method_list=True)
            if asked:
                headers.append(("Access-Control-Allow-Headers", ", ".join(asked)))
            start_response("200 OK", [*headers, ("Content-Length", "0")])
            return [b""]
        rule = self._matching(rules, origin, method, [])

        def with_bucket_cors(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if not k.lower().startswith("access-control-")]
            ours = self._headers(rule, origin, False) if rule else []
            if any(k.lower() == "vary" for k, _ in kept):
                ours = [(k, v) for k, v in ours if k != "Vary"]
            return start_response(status, kept + ours, exc_info)

        return self._app(environ, with_bucket_cors)


class MotoServer:
    """moto's server app on a werkzeug threaded server bound to 127.0.0.1, DynamoDB serialised, browsers' requests
    to buckets answered by the buckets' CORS rules."""

    def __init__(self, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = _BucketCors(_SerialisedDynamoDB(DomainDispatcherApplication(create_backend_app)))
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
