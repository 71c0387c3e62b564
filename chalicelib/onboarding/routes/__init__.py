"""Onboarding routes (M11): support requests (routes/requests.py) and the six integration steps (routes/progress.py).
Province administrators work on their own province's requests and progress, operators on every province's."""
from __future__ import annotations

from chalicelib.api.routing import Call, Param
from chalicelib.core.fields import LazySchema, any_province_code_schema


def caller(call: Call):
    """The verified token as the use cases see it: an operator, or a requester with their current province."""
    from chalicelib.core import admin_units
    from chalicelib.core.validation import InvalidValueError
    from chalicelib.identity.domain import Role
    from chalicelib.onboarding.domain.requests import Caller, Party

    p = call.principal
    if p.has_role(Role.OPERATOR):
        return Caller(p.subject, Party.OPERATOR)
    try:
        province = admin_units.current_province(p.province_code).agency_id if p.province_code else None
    except InvalidValueError:
        province = None  # a claim naming no province: every scoped action is refused
    return Caller(p.subject, Party.REQUESTER, province)


AGENCY = Param("agency_code", description="A province's agency code (000.00.00.Hxx; H-code or statistics code "
               "also accepted, pre-2025 ones resolved to today's province).",
               schema=LazySchema(any_province_code_schema))
