"""The pure rules of province onboarding (M11): the working calendar and the 8-working-hour clock, support
requests and their statuses, attachment checks, the six integration steps, and the self-test evidence.

``from chalicelib.onboarding.domain import EvidenceReport, record_step`` keeps working (the evidence module was this
package's single module before): those names are loaded on first use, so importing the calendar alone does not
load the evidence models.
"""
from __future__ import annotations

from typing import Any

_EVIDENCE = ("RESULT_LABELS", "MAX_STEPS", "BODY_EXCERPT_CHARS", "EvidenceReport", "EvidenceStep", "StepResult",
             "record_step", "redact", "redacted_step")


def __getattr__(name: str) -> Any:
    if name in _EVIDENCE:
        from chalicelib.onboarding.domain import evidence

        return getattr(evidence, name)
    raise AttributeError(name)
