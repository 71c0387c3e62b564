"""The OpenAPI document states each format the server enforces (issue 8 §6): every value the documented pattern of a
field type admits is accepted by that type's validator, or refused only by a rule JSON Schema cannot state, which
answers with its own code, and every route taking the type declares that code. Found by the fuzzer: before, ID
numbers, dossier codes, phones, tax codes and agency codes were plain strings in the document."""
from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, TypeAdapter

from chalicelib.core import codes, fields
from chalicelib.core.errors import validation_error
from chalicelib.core.parsing import _field_error
from chalicelib.core.validation import InvalidValueError, RuleError

TYPES = {
    "MobilePhone": fields.MobilePhone, "Email": fields.Email, "IdNumber": fields.IdNumber,
    "IdNumberText": fields.IdNumberText, "IdNumberLookup": fields.IdNumberLookup, "TaxCode": fields.TaxCode,
    "AgencyCode": fields.AgencyCode, "DossierCode": fields.DossierCode,
    "ProvincialDossierCode": fields.ProvincialDossierCode, "PersonName": fields.PersonName,
    "UnitName": fields.UnitName, "BankCode": fields.BankCode, "SubItemCode": fields.SubItemCode,
}


def _schema(annotation) -> dict:
    return TypeAdapter(annotation).json_schema()


def _values(schema: dict):
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    pattern = schema["pattern"]
    strategy = st.from_regex(re.compile(pattern), fullmatch=pattern.startswith("^"))
    if "maxLength" in schema:
        strategy = strategy.filter(lambda v: len(v) <= schema["maxLength"])
    return strategy


@pytest.mark.parametrize("name", TYPES)
def test_every_documented_value_is_accepted_or_refused_by_a_declared_rule(name):
    annotation, schema = TYPES[name], _schema(TYPES[name])
    rules = fields.rule_codes(type("M", (BaseModel,), {"__annotations__": {"v": annotation}}))
    adapter = TypeAdapter(annotation)

    @settings(max_examples=300, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(_values(schema))
    def check(value):
        try:
            adapter.validate_python(value)
        except Exception as exc:  # noqa: BLE001 - the pydantic error wraps the domain's
            cause = getattr(exc, "errors", lambda: [{}])()[0].get("ctx", {}).get("error")
            assert isinstance(cause, RuleError) and cause.code in rules, f"{value!r} refused: {exc}"

    check()


def test_a_refusal_by_rules_only_answers_the_rules_code_and_any_schema_error_is_validation_failed():
    rule = _field_error({"loc": ("tax_code",), "type": "value_error",
                         "ctx": {"error": RuleError("TAX_CODE_CHECK_DIGIT", "Sai chữ số kiểm tra.")}})
    schema = _field_error({"loc": ("phone",), "type": "value_error",
                           "ctx": {"error": InvalidValueError("PHONE_INVALID", "Sai số điện thoại.")}})
    assert validation_error([rule]).code == "TAX_CODE_CHECK_DIGIT"
    assert validation_error([rule, schema]).code == "VALIDATION_FAILED"
    assert validation_error([rule]).errors[0].code == "TAX_CODE_CHECK_DIGIT"


def test_rules_of_a_request_model_are_declared_by_each_route_taking_it():
    import app as app_module
    from chalicelib.api.routing import spec_of

    checked = 0
    for methods in app_module.app.routes.values():
        for entry in methods.values():
            spec = spec_of(entry.view_function)
            if spec is None or spec.request is None:
                continue
            declared = spec.all_problems().get(422, ())
            assert set(fields.rule_codes(spec.request)) <= set(declared), (spec.method, spec.path)
            checked += bool(fields.rule_codes(spec.request))
    assert checked >= 5  # notices, payments' tax code... at least these carry rules


def test_id_numbers_of_a_century_not_begun_or_an_unknown_province_are_outside_the_pattern():
    pattern = re.compile(_schema(fields.IdNumber)["pattern"])
    assert pattern.fullmatch("035095001234") and pattern.fullmatch("123456789")
    assert not pattern.fullmatch("035495001234")  # digit 4 = 4: the 2100s
    assert not pattern.fullmatch("999095001234")  # no such province of birth
    assert not pattern.fullmatch("٠٣٥٠٩٥٠٠١٢٣٤")  # other scripts' digits: [0-9], never \d


def test_dossier_codes_need_a_real_receiving_date():
    pattern = re.compile(codes.dossier_code_pattern())
    assert pattern.fullmatch("000.00.32.H19-210708-0032")
    assert pattern.fullmatch("000.00.32.H19-240229-0032")
    for impossible in ("230229", "210230", "211340", "210431", "210700"):
        assert not pattern.fullmatch(f"000.00.32.H19-{impossible}-0032"), impossible
        with pytest.raises(InvalidValueError):
            codes.validate_dossier_code(f"000.00.32.H19-{impossible}-0032")
