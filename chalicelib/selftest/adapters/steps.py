"""The default StepEvents adapter, until the province step tracking (support requests, issue 11 part 2) is merged:
``record`` only logs (the step-4 event is also visible as the passed run itself), and a province counts as live when
the settings list it (``LIVE_PROVINCES``, agency codes or their H-codes). The lead replaces this factory in
bootstrap with the step-tracking use case."""
from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class ConfiguredStepEvents:
    def __init__(self, live_provinces: tuple[str, ...] = ()) -> None:
        self._live = {p.strip().upper() for p in live_provinces}

    def record(self, province: str, step: int, evidence: dict[str, Any]) -> None:
        log.info("integration step event (not tracked yet)", extra={"province": province, "step": step,
                                                                   "run_id": evidence.get("run_id")})

    def is_live(self, province: str) -> bool:
        return province.upper() in self._live or province.rsplit(".", 1)[-1].upper() in self._live
