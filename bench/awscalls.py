"""Count (and capture, for the bare replay) the AWS API calls the app makes, with botocore event hooks.

Hooks are registered on the event system of every client the app uses: the boto3 clients of
`chalicelib.aws.clients.client` (SQS, SNS, Secrets Manager) and the botocore client under each pynamodb model.
As a safety net, `hook_new_clients()` also hooks any other botocore client created afterwards (a new model, a new
service), so a call can't slip by uncounted. `provide-client-params` fires once per API call (retries included);
`before-send` once per HTTP attempt.
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

REGION = "ap-southeast-1"
BOTO3_SERVICES = ("sqs", "sns", "secretsmanager")


@dataclass
class Call:
    service: str
    operation: str
    params: dict[str, Any]


@dataclass
class CallRecorder:
    calls: list[Call] = field(default_factory=list)
    http_attempts: Counter = field(default_factory=Counter)
    _hooked: list[Any] = field(default_factory=list)
    paused: bool = False  # while True, clients created are not hooked (the bench's own clients)

    # -- hooks ---------------------------------------------------------------------------------------------
    def _on_params(self, params, model, **_):
        # Keep a reference only (no copy inside the timed region); `snapshot()` copies after the handler returns.
        self.calls.append(Call(model.service_model.endpoint_prefix, model.name, params))

    def _on_send(self, request, **kwargs):
        self.http_attempts[kwargs.get("event_name", "before-send").split(".")[1]] += 1

    def attach(self, client) -> None:
        if any(c is client for c in self._hooked):
            return
        client.meta.events.register("provide-client-params", self._on_params, unique_id=f"bench-params-{id(self)}")
        client.meta.events.register("before-send", self._on_send, unique_id=f"bench-send-{id(self)}")
        self._hooked.append(client)

    def hook_new_clients(self) -> None:
        """Hook every botocore client created from now on, in this process (until `stop_hooking_new_clients`)."""
        import botocore.session

        if getattr(self, "_original_create_client", None) is not None:
            return
        original = botocore.session.Session.create_client
        recorder = self

        def create_client(session, *args, **kwargs):
            made = original(session, *args, **kwargs)
            if not recorder.paused:
                recorder.attach(made)
            return made

        self._original_create_client = original
        botocore.session.Session.create_client = create_client

    def stop_hooking_new_clients(self) -> None:
        import botocore.session

        if getattr(self, "_original_create_client", None) is not None:
            botocore.session.Session.create_client = self._original_create_client
            self._original_create_client = None

    def hooked_services(self) -> list[str]:
        return sorted(c.meta.service_model.endpoint_prefix for c in self._hooked)

    def attach_app_clients(self) -> None:
        """Hook every client the app will use (creating the cached ones now, so the app gets the same objects)."""
        from chalicelib.aws.clients import client
        from chalicelib.aws.tables import models
        from chalicelib.config import get_settings

        for service in BOTO3_SERVICES:
            self.attach(client(service, get_settings().region))
        for model in models(get_settings()):
            self.attach(model._get_connection().connection.client)

    def check_still_hooked(self) -> None:
        """Fail loudly if a client the app uses is not hooked (the counts would silently miss its calls): pynamodb
        re-creates its client when credentials go missing, for instance, and the app may grow new clients."""
        from chalicelib.aws.clients import client
        from chalicelib.aws.tables import models
        from chalicelib.config import get_settings

        current = [client(s, get_settings().region) for s in BOTO3_SERVICES]
        current += [m._get_connection().connection.client for m in models(get_settings())]
        missing = [c for c in current if not any(c is h for h in self._hooked)]
        if missing:
            raise RuntimeError(f"the app uses clients the bench does not count: {missing}")

    # -- per invocation ------------------------------------------------------------------------------------
    def reset(self) -> None:
        self.calls = []
        self.http_attempts = Counter()

    def snapshot(self) -> list[Call]:
        """The calls since `reset()`, with their parameters deep-copied (safe to replay and to keep)."""
        out = [Call(c.service, c.operation, copy.deepcopy(c.params)) for c in self.calls]
        self.reset()
        return out


def tally(calls: list[Call]) -> tuple[Counter, Counter]:
    by_service = Counter(c.service for c in calls)
    by_api = Counter(f"{c.service}.{c.operation}" for c in calls)
    return by_service, by_api
