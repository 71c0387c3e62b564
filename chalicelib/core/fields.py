"""Validated field types for input models: one definition of each Vietnamese format rule, reused by every model.

Each type is a `str` checked (and normalised) by the domain function named in it, which raises InvalidValueError
with a stable code and a Vietnamese message. Use `Type | None` for optional fields.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from chalicelib.core import codes, identity, phones, taxcode
from chalicelib.core.names import clean_name

MobilePhone = Annotated[str, AfterValidator(phones.normalise_mobile)]  # stored as E.164
Email = Annotated[str, AfterValidator(phones.validate_email)]
IdNumber = Annotated[str, AfterValidator(identity.validate_id_number)]  # CCCD structure or CMND
IdNumberText = Annotated[str, AfterValidator(identity.normalise_id_number)]  # normalised only: for look-ups
TaxCode = Annotated[str, AfterValidator(taxcode.validate_tax_code)]
AgencyCode = Annotated[str, AfterValidator(codes.validate_agency_code)]
PersonName = Annotated[str, AfterValidator(clean_name)]
UnitName = Annotated[str, AfterValidator(lambda v: clean_name(v, "UNIT_NAME"))]
