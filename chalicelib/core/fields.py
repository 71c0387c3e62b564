"""Validated field types for input models: one definition of each Vietnamese format rule, reused by every model.

Each type is a `str` checked (and normalised) by the domain function named in it, which raises InvalidValueError
with a stable code and a Vietnamese message. Use `Type | None` for optional fields.

Each type also carries its rule into the OpenAPI document (`Documented`: pattern, length), built from the same data
the validator reads (province codes, libphonenumber's mobile pattern), so a client generated from the document sends
what the server accepts; and it names the rules beyond any JSON Schema that its validator may still refuse a
schema-valid value for (`Rules`: a check digit, a year not yet come), which answer with their own 422 code and which
every route taking the type declares through `rule_codes` (issue 8 §6).
"""
from __future__ import annotations

import datetime as dt
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Callable, Iterator

from pydantic import AfterValidator, BaseModel, BeforeValidator

from chalicelib.core import codes, identity, phones, taxcode
from chalicelib.core.names import LATIN_LETTER_PATTERN, clean_name
from chalicelib.core.validation import InvalidValueError


@dataclass(frozen=True)
class Documented:
    """JSON Schema keywords added to a type's generated schema (the field's own constraints are kept)."""

    keywords: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, **keywords: Any) -> "Documented":
        return cls(tuple(keywords.items()))

    @classmethod
    def lazy(cls, **keywords: Any) -> Callable[[dict[str, Any]], None]:
        """The same keywords as a Field's ``json_schema_extra`` (callables evaluated when the schema is built)."""
        return lambda schema: schema.update({k: v() if callable(v) else v for k, v in keywords.items()})

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema.update({k: v() if callable(v) else v for k, v in self.keywords})
        return schema


@dataclass(frozen=True)
class Rules:
    """Problem codes (422) of rules beyond the schema that a type's validator may refuse a schema-valid value for."""

    codes: tuple[str, ...]


def name_pattern() -> str:
    """A name holds at least one Latin letter (`names.clean_name`; unanchored: JSON Schema patterns search)."""
    return LATIN_LETTER_PATTERN


MobilePhone = Annotated[str, AfterValidator(phones.normalise_mobile), Documented.of(pattern=phones.mobile_pattern)]
Email = Annotated[str, AfterValidator(phones.validate_email), Documented.of(pattern=phones.email_pattern,
                                                                          maxLength=254)]
# CCCD structure or CMND
IdNumber = Annotated[str, AfterValidator(identity.validate_id_number), Documented.of(pattern=identity.id_number_pattern),
                     Rules(("ID_NUMBER_BIRTH_YEAR",))]
# normalised only: for look-ups
IdNumberText = Annotated[str, AfterValidator(identity.normalise_id_number), Documented.of(pattern=r"^[0-9]+$")]
TaxCode = Annotated[str, AfterValidator(taxcode.validate_tax_code), Documented.of(pattern=taxcode.tax_code_pattern),
                    Rules(("TAX_CODE_CHECK_DIGIT", "ID_NUMBER_BIRTH_YEAR"))]
AgencyCode = Annotated[str, AfterValidator(codes.validate_agency_code),
                       Documented.of(pattern=codes.AGENCY_CODE_PATTERN, maxLength=codes.AGENCY_CODE_MAX_LENGTH)]
DossierCode = Annotated[str, AfterValidator(codes.validate_dossier_code),
                        Documented.of(pattern=codes.dossier_code_pattern)]
PersonName = Annotated[str, AfterValidator(clean_name), Documented.of(pattern=name_pattern)]
UnitName = Annotated[str, AfterValidator(lambda v: clean_name(v, "UNIT_NAME")), Documented.of(pattern=name_pattern)]


def _or_blank(pattern) -> Any:
    """A pattern that also admits the empty string, for optional fields where "" means "not given"."""
    return lambda: f"^(?:{pattern()[1:-1]})?$"


MobilePhoneOrBlank = Annotated[str, Documented.of(pattern=_or_blank(phones.mobile_pattern))]
EmailOrBlank = Annotated[str, Documented.of(pattern=_or_blank(phones.email_pattern), maxLength=254)]
AgencyCodeOrBlank = Annotated[str, Documented.of(pattern=_or_blank(lambda: codes.AGENCY_CODE_PATTERN),
                                                maxLength=codes.AGENCY_CODE_MAX_LENGTH)]
IdNumberForm = Annotated[str, Documented.of(pattern=identity.id_number_pattern)]  # checked by the model's validator

# An ID number as typed for a look-up (normalised only: an unknown one is simply not found), documented in its form.
IdNumberLookup = Annotated[str, AfterValidator(identity.normalise_id_number),
                           Documented.of(pattern=identity.id_number_pattern)]
ProvincialDossierCode = Annotated[str, AfterValidator(codes.validate_dossier_code),
                                  Documented.of(pattern=lambda: codes.dossier_code_pattern(provincial=True))]


# ID numbers a use case checks itself (look-ups that answer alike for every number): documented in their form; a
# birth year not yet come is a rule (its own code).
IdNumberTyped = Annotated[str, Documented.of(pattern=identity.id_number_pattern), Rules(("ID_NUMBER_BIRTH_YEAR",))]
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)
_ISO_DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}", re.ASCII)


def _written(form: re.Pattern, kind: type, code: str, message: str):
    """JSON dates are text in ISO 8601 (format date / date-time): pydantic alone would also read a number, or a
    numeric string, as seconds since 1970."""
    def check(value: Any) -> Any:
        if isinstance(value, kind) or (isinstance(value, str) and form.match(value.strip())):
            return value
        raise InvalidValueError(code, message)
    return check


IsoDate = Annotated[dt.date, BeforeValidator(_written(_ISO_DATE, dt.date, "DATE_FORMAT",
                                                      "Ngày phải viết dạng YYYY-MM-DD, ví dụ 2026-05-20."))]
IsoDateTime = Annotated[dt.datetime, BeforeValidator(_written(
    _ISO_DATE_TIME, dt.datetime, "DATE_TIME_FORMAT", "Thời điểm phải viết dạng ISO 8601, ví dụ 2026-05-20T09:30:00+07:00."))]


# An http(s) URL the portal will call, in the form the guard reads (provinces.domain.outbound_urls): a host name
# whose last label starts with a letter (no IP literals or numeric hosts), an optional port, then path/query in
# visible ASCII. Where it leads (resolved, private, http in production) is beyond any schema: rules with own codes.
_URL_PATTERN = (r"^[Hh][Tt][Tt][Pp][Ss]?://(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
                r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?::[0-9]{1,5})?(?:[/?#][!-~]*)?$")
OutboundUrl = Annotated[str, Documented.of(pattern=_URL_PATTERN), Rules(
    ("URL_SCHEME_NOT_ALLOWED", "URL_ADDRESS_NOT_ALLOWED", "URL_ADDRESS_INVALID", "URL_HOST_UNRESOLVED"))]


def _province_agency_codes() -> list[str]:
    from chalicelib.core.admin_units import provinces

    return sorted(f"000.00.00.{p.agency_code}" for p in provinces())


# A current province's level-1 agency code, documented as the enum of the administrative-unit table.
ProvinceAgencyCode = Annotated[str, Documented.of(enum=_province_agency_codes)]


def any_province_code_pattern() -> str:
    """What ``admin_units.current_province`` reads (from the same table): a level-1 code of either version (``H35``),
    any agency code under it (``000.00.43.H35``), or a 2-digit statistics code of either version."""
    from chalicelib.core.admin_units import LEGACY_VERSION, provinces

    old = provinces(LEGACY_VERSION)
    h_codes = "|".join(sorted({p.agency_code[1:] for p in old}))
    stats = "|".join(sorted({p.stats_code for p in old} | {p.stats_code for p in provinces()}))
    return rf"^(?:(?:[0-9A-Z]{{3}}\.[0-9A-Z]{{2}}\.[0-9A-Z]{{2}}\.)?H(?:{h_codes})|{stats})$"


class LazySchema(Mapping):
    """A path parameter's JSON Schema built from data on first use (the OpenAPI document), not at import."""

    def __init__(self, build: Callable[[], dict[str, Any]]) -> None:
        self._build = build

    @property
    def _schema(self) -> dict[str, Any]:
        return _built(self._build)

    def __getitem__(self, key: str) -> Any:
        return self._schema[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._schema)

    def __len__(self) -> int:
        return len(self._schema)


@cache
def _built(build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return build()


def province_agency_code_schema() -> dict[str, Any]:
    return {"type": "string", "enum": _province_agency_codes()}


def _province_stats_codes() -> list[str]:
    from chalicelib.core.admin_units import provinces

    return sorted(p.stats_code for p in provinces())


def province_stats_code_schema() -> dict[str, Any]:
    """A current province's 2-digit statistics code, as the enum of the administrative-unit table."""
    return {"type": "string", "enum": _province_stats_codes()}


def _any_province(raw: str) -> str:
    import re

    if not re.search(any_province_code_pattern(), raw):  # as JSON Schema reads a pattern: a search
        raise InvalidValueError("PROVINCE_UNKNOWN", "Không tìm thấy tỉnh, thành phố với mã đã cho.")
    return raw


# Any form of a province code the table reads (see any_province_code_pattern): reports, filters.
AnyProvinceCode = Annotated[str, AfterValidator(_any_province),
                            Documented.of(pattern=lambda: any_province_code_pattern(), maxLength=35)]


def any_province_code_schema() -> dict[str, Any]:
    return {"type": "string", "maxLength": 35, "pattern": any_province_code_pattern()}


def _bank_code(raw: str) -> str:
    from chalicelib.core.banks import get_bank

    return get_bank(raw).code


def bank_codes() -> list[str]:
    """The codes of data/banks.json (the BankCode enum)."""
    from chalicelib.core.banks import bank_registry

    return sorted(bank_registry())


def _sub_item(raw: str) -> str:
    from chalicelib.core import budget

    if not budget.is_known_sub_item(raw):
        raise InvalidValueError("SUB_ITEM_UNKNOWN", f"Mã tiểu mục {raw[:10]} không có trong danh mục.")
    return raw


def _sub_item_codes() -> list[str]:
    from chalicelib.core import budget

    return sorted(budget.sub_items())


# Codes of data tables (data/banks.json, data/sub_items.json), documented as the enum of that same table.
BankCode = Annotated[str, AfterValidator(_bank_code), Documented.of(enum=bank_codes)]
SubItemCode = Annotated[str, AfterValidator(_sub_item), Documented.of(enum=_sub_item_codes)]


@cache
def rule_codes(model: type[BaseModel] | None) -> tuple[str, ...]:
    """Every rule code a request model may answer: its fields' `Rules` (nested models included) and the model's own
    `__rules__` (rules of its validators that compare fields, e.g. an ID number against a date of birth)."""
    found: dict[str, None] = {}
    _collect(model, found, set())
    return tuple(found)


def _strict_int(field: Any) -> bool:
    from pydantic.types import Strict

    return any(a is int for a in (field.annotation, *typing.get_args(field.annotation))) and \
        any(isinstance(m, Strict) and m.strict for m in field.metadata)


def _collect(annotation: Any, found: dict[str, None], seen: set) -> None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation in seen:
            return
        seen.add(annotation)
        found.update(dict.fromkeys(getattr(annotation, "__rules__", ())))
        for field in annotation.model_fields.values():
            if _strict_int(field):
                found["INTEGER_REQUIRED"] = None  # 5.0 in a strict integer field (core.parsing)
            for item in field.metadata:
                _collect(item, found, seen)
            _collect(field.annotation, found, seen)
        return
    if isinstance(annotation, Rules):
        found.update(dict.fromkeys(annotation.codes))
        return
    for item in getattr(annotation, "__metadata__", ()):
        _collect(item, found, seen)
    for arg in typing.get_args(annotation):
        _collect(arg, found, seen)
