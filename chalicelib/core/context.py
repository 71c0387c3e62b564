"""The one service context every use case runs with: the settings, the clock, the id generator, metrics and every
port (repositories, queues, notifiers, partners' clients), each built on first use.

The composition root (``chalicelib.bootstrap``) gives it one factory per port; a port is built the first time a use
case reads it and kept for the life of the container, so a Lambda that only ever serves lookups never imports, say,
the PDF renderer or the Cognito client. Tests give it the in-memory fakes directly (``Context(settings, ledger=...)``)
and no factories: reading a port nobody wired is an error naming the port, never a silent call to AWS.

Use cases never import this module's users (bootstrap, adapters): they read the ports by name, and each capability
describes the part it reads as a Protocol in its ``ports`` module.
"""
from __future__ import annotations

import threading
from typing import Any, Callable, Mapping

from chalicelib.core.clock import SystemClock, new_ulid

Factory = Callable[["Context"], Any]

_DEFAULTS: dict[str, Callable[[], Any]] = {
    "clock": SystemClock,
    "new_id": lambda: new_ulid,
    "new_code": lambda: None,  # None: the OTP domain's own generator (tests inject a known code)
    "metrics": lambda: None,
    "caches": dict,  # per-container caches of the use cases (province configuration, session tokens, ...)
}


class PortNotWiredError(AttributeError):
    """A use case read a port that neither a factory nor the test provided."""


class Context:
    def __init__(self, settings: Any, factories: Mapping[str, Factory] | None = None, **ports: Any) -> None:
        self.settings = settings
        self._factories: dict[str, Factory] = dict(factories or {})
        self._lock = threading.RLock()  # re-entrant: building one port may read another
        for name, make in _DEFAULTS.items():
            if name not in ports and name not in self._factories:
                ports[name] = make()
        self.__dict__.update(ports)

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes not set yet: build the port once, under the lock.
        if name.startswith("_"):
            raise AttributeError(name)
        factory = self._factories.get(name)
        if factory is None:
            raise PortNotWiredError(f"port {name!r} is not wired in this context")
        with self._lock:
            if name not in self.__dict__:
                self.__dict__[name] = factory(self)
        return self.__dict__[name]

    def replace(self, **changes: Any) -> "Context":
        """A context with some ports or the settings replaced; the ports already built are shared."""
        built = {k: v for k, v in self.__dict__.items() if not k.startswith("_") and k != "settings"}
        return Context(changes.pop("settings", self.settings), self._factories, **{**built, **changes})

    def wired(self, name: str) -> bool:
        """Whether the port is built already (the composition root's reset and the benchmarks ask)."""
        return name in self.__dict__

    def count(self, name: str, value: int = 1) -> None:
        """Add to a business metric (Powertools Metrics in Lambda; nothing when metrics are off)."""
        if self.metrics is not None:
            self.metrics.add(name, value)
