"""Reporting onboarding step events (M11) from the province use cases: best effort, so that tracking a province's
integration never fails a delivery or an API check (the event is logged as lost instead)."""
from __future__ import annotations

import logging
from typing import Any

from chalicelib.provinces.ports import ProvincesContext

log = logging.getLogger(__name__)


def report_step(psvc: ProvincesContext, province: str, step: int, evidence: dict[str, Any]) -> None:
    try:
        psvc.step_events.record(province, step, evidence)
    except Exception:  # noqa: BLE001 - onboarding bookkeeping must not undo the work it observes
        log.warning("onboarding step event not recorded", extra={"province": province, "step": step})
