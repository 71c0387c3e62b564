"""The six integration steps of a province (ONBOARDING.md), derived from what happened, never typed.

A province's record keeps the events reported for each step and the operators' overrides; everything shown (the
step it is at, since when, the evidence of each step, whether it is live) is ``derive``d from them, in order:

1. an API check of each required API type answered correctly (any time);
2. a configuration request was filed; 3. a configuration request was applied;
4. after step 3, deliveries (payments or the self-test) reached every API the province has configured;
5. after step 4, a confirmation request with evidence was filed; 6. after step 5, an operator confirmed.

A step passes no earlier than the one before it, so none is skipped; the only way past a step without its evidence
is an operator's override, which carries who, when and why.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

_DATA = Path(__file__).resolve().parents[2] / "data" / "onboarding_steps.json"
STEPS = (1, 2, 3, 4, 5, 6)
MAX_EVENTS_PER_STEP = 30  # an onboarding has a handful per step; the cap keeps the record one small item
KINDS = {1: "api_check_passed", 2: "configuration_requested", 3: "configuration_applied", 4: "delivery_reached",
         5: "confirmation_requested", 6: "integration_confirmed"}


@cache
def steps_data() -> dict[str, Any]:
    return json.loads(_DATA.read_text(encoding="utf-8"))


def required_api_types() -> frozenset[str]:
    return frozenset(steps_data()["required_api_types"])


def step_info(step: int) -> dict[str, Any]:
    return next(s for s in steps_data()["steps"] if s["step"] == step)


class StepEvent(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: int = Field(ge=1, le=6)
    at: str
    details: dict[str, Any] = Field(default_factory=dict)

    @property
    def moment(self) -> datetime:
        return datetime.fromisoformat(self.at)


class Override(BaseModel):
    model_config = ConfigDict(extra="forbid")
    step: int = Field(ge=1, le=6)
    at: str
    by: str
    reason: str


@dataclass
class StepState:
    step: int
    passed_at: datetime | None = None
    evidence: list[StepEvent] = field(default_factory=list)
    override: Override | None = None


def _first_per_type(events: list[StepEvent], required: frozenset[str]) -> tuple[datetime | None, list[StepEvent]]:
    first: dict[str, StepEvent] = {}
    for event in sorted(events, key=lambda e: e.moment):
        first.setdefault(str(event.details.get("api_type")), event)
    if not required or not required <= first.keys():
        return None, []
    chosen = [first[t] for t in sorted(required)]
    return max(e.moment for e in chosen), chosen


def _first_after(events: list[StepEvent], after: datetime | None) -> tuple[datetime | None, list[StepEvent]]:
    for event in sorted(events, key=lambda e: e.moment):
        if after is None or event.moment >= after:
            return event.moment, [event]
    return None, []


def _all_apis_reached(events: list[StepEvent], after: datetime | None) -> tuple[datetime | None, list[StepEvent]]:
    reached: dict[str, StepEvent] = {}
    for event in sorted(events, key=lambda e: e.moment):
        if after is not None and event.moment < after:
            continue
        for api_type in event.details.get("api_types", []):
            reached.setdefault(str(api_type), event)
        configured = set(event.details.get("configured") or [])
        if configured and configured <= reached.keys():
            chosen: list[StepEvent] = []
            for api_type in sorted(configured):
                if all(reached[api_type] is not e for e in chosen):
                    chosen.append(reached[api_type])
            return event.moment, chosen
    return None, []


def derive(events: list[StepEvent], overrides: list[Override]) -> list[StepState]:
    """The state of each of the six steps, from the events and overrides (pure)."""
    by_step = {n: [e for e in events if e.step == n] for n in STEPS}
    states, previous = [], None
    for n in STEPS:
        state = StepState(n)
        if n == 1:
            at, evidence = _first_per_type(by_step[n], required_api_types())
        elif n in (2, 3):
            at, evidence = _first_after(by_step[n], None)
        elif n == 4:
            at, evidence = _all_apis_reached(by_step[n], previous)
        else:
            at, evidence = _first_after(by_step[n], previous)
        if at is not None and previous is not None:
            at = max(at, previous)  # never before the step it follows
        override = next((o for o in overrides if o.step == n), None)
        if override is not None and (at is None or datetime.fromisoformat(override.at) < at):
            forced = datetime.fromisoformat(override.at)
            at, state.override = (forced if previous is None else max(forced, previous)), override
        state.passed_at, state.evidence = at, evidence if state.override is None else []
        states.append(state)
        if at is None:
            states += [StepState(m) for m in STEPS[n:]]
            break
        previous = at
    return states


def summary(states: list[StepState]) -> dict[str, Any]:
    """Step the province is at (None once live), completed steps, live, and since when it is where it is."""
    completed = sum(1 for s in states if s.passed_at is not None)
    live = completed == len(STEPS)
    since = states[completed - 1].passed_at if completed else None
    return {"step": None if live else completed + 1, "completed_steps": completed, "live": live,
            "since": since.isoformat() if since else None}


def step_views(states: list[StepState]) -> list[dict[str, Any]]:
    out = []
    for s in states:
        info = step_info(s.step)
        out.append({"step": s.step, "name": info["name"], "who": info["who"], "done_when": info["done_when"],
                    "passed": s.passed_at is not None,
                    "passed_at": s.passed_at.isoformat() if s.passed_at else None,
                    "evidence": [{"at": e.at, **e.details} for e in s.evidence],
                    "override": s.override.model_dump() if s.override else None})
    return out


def keep_event(events: list[StepEvent], event: StepEvent) -> list[StepEvent]:
    """The events with ``event`` added, the step's oldest dropped beyond the cap."""
    same = [e for e in events if e.step == event.step]
    if len(same) >= MAX_EVENTS_PER_STEP:
        oldest = min(same, key=lambda e: e.moment)
        events = [e for e in events if e is not oldest]
    return [*events, event]
