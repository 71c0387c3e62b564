"""Where the HTTP shell and the jobs get the service context from: the composition root installs its provider here
(app.py calls ``bootstrap.install()``), so no route module imports the composition root or any adapter."""
from __future__ import annotations

from typing import Any, Callable

_provider: list[Callable[[], Any]] = []


def install(provider: Callable[[], Any]) -> None:
    _provider[:] = [provider]


def context() -> Any:
    """The service context of this container (``chalicelib.core.context.Context``)."""
    if not _provider:
        raise RuntimeError("no service context installed: app.py calls chalicelib.bootstrap.install()")
    return _provider[0]()
