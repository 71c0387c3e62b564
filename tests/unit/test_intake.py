"""M1 intake through in-memory fakes: versioning, idempotency, locking, validation and the citizen's SMS."""
from __future__ import annotations

import json

import pytest

from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import initiate_payment
from tests.fakes import (
    AMOUNT,
    DOSSIER_CODE,
    ID_NUMBER,
    NOTICE_NUMBER,
    OTHER_ID_NUMBER,
    FakeHasher,
    FakeSms,
    make_services,
    payment_body,
    sample_batch,
    sample_notice,
)


@pytest.fixture
def svc():
    return make_services()


def refused(svc, body) -> AppError:
    with pytest.raises(AppError) as exc:
        ingest_notices(svc, body)
    return exc.value


def field_errors(err: AppError) -> set[tuple[str, str]]:
    return {(e.field, e.code) for e in err.errors}


def start_payment(svc, notice_number: str = NOTICE_NUMBER) -> dict:
    status, answer = initiate_payment(svc, payment_body(notice_number), None, None)
    assert status == 201
    return answer


def pay(svc, notice_number: str = NOTICE_NUMBER) -> dict:
    answer = start_payment(svc, notice_number)
    apply_bank_result(svc, BankResult("BIDV", answer["payment_id"], "FT21140123456", answer["amount_vnd"], "VND", True))
    return answer


# -- accepted --------------------------------------------------------------------------------------------------
def test_valid_batch_is_accepted_and_stored(svc):
    result = ingest_notices(svc, sample_batch())

    assert result.as_dict() == {"accepted": 1, "unchanged": 0}
    dossier = svc.dossiers.get(DOSSIER_CODE)
    notice = dossier.notices[NOTICE_NUMBER]
    assert (notice.version, notice.total_vnd, notice.payer_name) == (1, AMOUNT, "Nguyễn Thị Trang")
    assert notice.items == [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": AMOUNT}]
    assert dossier.property["parcel_number"] == "12"


def test_citizen_gets_an_sms_in_vietnamese_with_notice_number_and_grouped_amount(svc):
    ingest_notices(svc, sample_batch())

    assert len(svc.sms.sent) == 1
    phone, message = svc.sms.sent[0]
    assert phone == "+84912345678"
    assert NOTICE_NUMBER in message
    assert "1.378.500 đồng" in message
    assert "thông báo thuế" in message
    assert DOSSIER_CODE in message


def test_phone_is_used_for_the_sms_and_never_stored(svc):
    ingest_notices(svc, sample_batch())

    raw = svc.dossiers.raw(DOSSIER_CODE)
    assert svc.sms.sent  # the phone was used...
    for form in ("0912345678", "912345678", "+84912345678"):
        assert form not in raw  # ...and not kept
    assert '"payer_phone":' not in raw  # kept sealed only (payer_phone_sealed), for the paid SMS


def test_stored_dossier_holds_only_the_keyed_hash_of_the_id_number(svc):
    ingest_notices(svc, sample_batch())

    dossier = svc.dossiers.get(DOSSIER_CODE)
    assert dossier.id_hash == FakeHasher().hash_id(ID_NUMBER)
    assert ID_NUMBER not in json.dumps(dossier.model_dump(), ensure_ascii=False)
    assert ID_NUMBER not in svc.dossiers.raw(DOSSIER_CODE)


def test_nine_digit_cmnd_is_accepted(svc):
    assert ingest_notices(svc, sample_batch(id_number="123456789")).accepted == 1
    assert svc.dossiers.get(DOSSIER_CODE).id_hash == FakeHasher().hash_id("123456789")


def test_sms_failure_does_not_refuse_the_intake():
    svc = make_services(sms=FakeSms(fail=True))

    assert ingest_notices(svc, sample_batch()).as_dict() == {"accepted": 1, "unchanged": 0}
    assert NOTICE_NUMBER in svc.dossiers.get(DOSSIER_CODE).notices
    assert svc.outbox.states("sms") == ["PENDING"]  # the SMS waits for the retry, it is not dropped


# -- versioning --------------------------------------------------------------------------------------------------
def test_same_version_twice_is_unchanged_and_nothing_is_rewritten(svc):
    ingest_notices(svc, sample_batch())
    before, saves = svc.dossiers.raw(DOSSIER_CODE), svc.dossiers.saves

    result = ingest_notices(svc, sample_batch())

    assert result.as_dict() == {"accepted": 0, "unchanged": 1}
    assert svc.dossiers.saves == saves
    assert svc.dossiers.raw(DOSSIER_CODE) == before
    assert len(svc.sms.sent) == 1  # no second SMS for a resend


def test_same_version_with_other_content_is_a_version_conflict(svc):
    ingest_notices(svc, sample_batch())
    before = svc.dossiers.raw(DOSSIER_CODE)

    err = refused(svc, sample_batch(sample_notice(amount=2_000_000)))

    assert (err.status, err.code) == (409, "NOTICE_VERSION_CONFLICT")
    assert err.extra["notice_number"] == NOTICE_NUMBER
    assert svc.dossiers.raw(DOSSIER_CODE) == before


def test_higher_version_replaces_an_unpaid_notice(svc):
    ingest_notices(svc, sample_batch())

    result = ingest_notices(svc, sample_batch(sample_notice(version=2, amount=2_000_000)))

    assert result.as_dict() == {"accepted": 1, "unchanged": 0}
    notice = svc.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER]
    assert (notice.version, notice.total_vnd) == (2, 2_000_000)
    assert "2.000.000 đồng" in svc.sms.sent[-1][1]


def test_lower_version_is_unchanged_and_never_overwrites_a_newer_notice(svc):
    ingest_notices(svc, sample_batch(sample_notice(version=3, amount=2_000_000)))
    before = svc.dossiers.raw(DOSSIER_CODE)

    result = ingest_notices(svc, sample_batch(sample_notice(version=2, amount=999_000)))

    assert result.as_dict() == {"accepted": 0, "unchanged": 1}
    assert svc.dossiers.raw(DOSSIER_CODE) == before
    assert svc.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER].version == 3


@pytest.mark.parametrize("lock", ["paid", "in_payment"])
@pytest.mark.parametrize("with_new_notice", [False, True], ids=["alone", "with-new-notice"])
def test_paid_or_in_payment_notice_is_locked_and_nothing_is_half_written(svc, lock, with_new_notice):
    ingest_notices(svc, sample_batch())
    (pay if lock == "paid" else start_payment)(svc)
    before, saves, sms = svc.dossiers.raw(DOSSIER_CODE), svc.dossiers.saves, len(svc.sms.sent)
    notices = [sample_notice(version=2, amount=2_000_000)]
    if with_new_notice:
        notices.insert(0, sample_notice("TB-2021-000999", amount=500_000))

    err = refused(svc, sample_batch(*notices))

    assert (err.status, err.code) == (409, "NOTICE_LOCKED")
    assert err.extra["notice_number"] == NOTICE_NUMBER
    assert svc.dossiers.raw(DOSSIER_CODE) == before
    assert svc.dossiers.saves == saves
    assert "TB-2021-000999" not in svc.dossiers.get(DOSSIER_CODE).notices
    assert len(svc.sms.sent) == sms


def test_in_payment_notice_unlocks_once_its_payment_expired(svc):
    ingest_notices(svc, sample_batch())
    start_payment(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes, seconds=1)

    assert ingest_notices(svc, sample_batch(sample_notice(version=2, amount=2_000_000))).accepted == 1
    assert svc.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER].version == 2


def test_other_id_number_for_an_existing_dossier_is_refused(svc):
    ingest_notices(svc, sample_batch())
    before = svc.dossiers.raw(DOSSIER_CODE)

    err = refused(svc, sample_batch(sample_notice("TB-2021-000999"), id_number=OTHER_ID_NUMBER))

    assert (err.status, err.code) == (409, "DOSSIER_ID_MISMATCH")
    assert svc.dossiers.raw(DOSSIER_CODE) == before


def test_tax_commune_codes_are_refused_while_the_province_has_no_confirmed_map(svc):
    err = refused(svc, sample_batch(commune_code="1234567", commune_code_system="tax"))

    assert (err.status, err.code) == (422, "COMMUNE_CODE_UNKNOWN")
    assert ("commune_code", "COMMUNE_CODE_UNKNOWN") in field_errors(err)
    assert "1234567" in err.detail and "Lai Châu" in err.detail  # the code and the province are named
    assert svc.dossiers.get(DOSSIER_CODE) is None
    assert svc.sms.sent == []


# -- validation ------------------------------------------------------------------------------------------------
def _with_item(**item_changes):
    item = {"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": AMOUNT, **item_changes}
    return sample_batch(sample_notice(items=[item]))


def _notice_with(**changes):
    return sample_batch(sample_notice(**changes))


INVALID = {
    "total-not-sum": (_notice_with(total_vnd=AMOUNT + 1), "notices.0", "TOTAL_MISMATCH"),
    "amount-zero": (_with_item(amount_vnd=0), "notices.0.items.0.amount_vnd", "MUST_BE_POSITIVE"),
    "amount-negative": (_with_item(amount_vnd=-1378500), "notices.0.items.0.amount_vnd", "MUST_BE_POSITIVE"),
    "amount-float": (_with_item(amount_vnd=1378500.0), "notices.0.items.0.amount_vnd", "INTEGER_REQUIRED"),
    "amount-string": (_with_item(amount_vnd="1378500"), "notices.0.items.0.amount_vnd", "INTEGER_REQUIRED"),
    "amount-bool": (_with_item(amount_vnd=True), "notices.0.items.0.amount_vnd", "INTEGER_REQUIRED"),
    "total-float": (_notice_with(total_vnd=1378500.0), "notices.0.total_vnd", "INTEGER_REQUIRED"),
    "sub-item-unknown": (_with_item(sub_item_code="9999"), "notices.0.items.0.sub_item_code", "SUB_ITEM_UNKNOWN"),
    "dossier-code-bad": (sample_batch(dossier_code="H35-210520-0001"), "dossier_code", "DOSSIER_CODE_FORMAT"),
    "dossier-code-impossible-date": (sample_batch(dossier_code="000.00.43.H35-211340-0001"), "dossier_code",
                                     "DOSSIER_CODE_FORMAT"),
    "id-10-digits": (sample_batch(id_number="0350950012"), "id_number", "ID_NUMBER_FORMAT"),
    "id-letters": (sample_batch(id_number="03509500123A"), "id_number", "ID_NUMBER_FORMAT"),
    "cccd-bad-province": (sample_batch(id_number="999095001234"), "id_number", "ID_NUMBER_PROVINCE"),
    "phone-landline": (_notice_with(payer_phone="02438123456"), "notices.0.payer_phone", "PHONE_INVALID"),
    "phone-garbage": (_notice_with(payer_phone="09123abc78"), "notices.0.payer_phone", "PHONE_INVALID"),
    "duplicate-notices": (sample_batch(sample_notice(), sample_notice()), "body", "NOTICE_DUPLICATED"),
    "unknown-top-field": ({**sample_batch(), "ma_ho_so_cu": "x"}, "ma_ho_so_cu", "FIELD_NOT_ALLOWED"),
    "unknown-notice-field": (_notice_with(discount_vnd=1), "notices.0.discount_vnd", "FIELD_NOT_ALLOWED"),
    "no-notices": (sample_batch(notices=[]), "notices", "TOO_FEW"),
    "commune-system-unknown": (sample_batch(commune_code_system="vn2000"), "commune_code_system", "VALUE_NOT_ALLOWED"),
    "missing-id": ({k: v for k, v in sample_batch().items() if k != "id_number"}, "id_number", "FIELD_REQUIRED"),
}


def _integral_float(value) -> bool:
    if isinstance(value, dict):
        return any(_integral_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_integral_float(v) for v in value)
    return isinstance(value, float) and value.is_integer()


@pytest.mark.parametrize(("body", "field", "code"), INVALID.values(), ids=INVALID.keys())
def test_invalid_batch_is_refused_with_its_field_error_and_nothing_is_stored(svc, body, field, code):
    from chalicelib.core.fields import rule_codes
    from chalicelib.payments.domain.notices import NoticeBatchIn

    err = refused(svc, body)

    # A schema-valid batch refused only by a rule JSON Schema cannot state answers that rule's own (declared) code.
    # INTEGER_REQUIRED is a rule only for an integral number written with a fraction (5.0 is an integer to JSON
    # Schema); a string or a boolean breaks the schema.
    rule = code in rule_codes(NoticeBatchIn) and (code != "INTEGER_REQUIRED" or _integral_float(body))
    assert (err.status, err.code) == (422, code if rule else "VALIDATION_FAILED")
    assert (field, code) in field_errors(err), field_errors(err)
    assert all(e.message for e in err.errors)  # every field error tells a person what is wrong
    assert svc.dossiers.all_raw() == {}
    assert svc.sms.sent == []


def test_invalid_batch_never_alters_an_existing_dossier(svc):
    ingest_notices(svc, sample_batch())
    before = svc.dossiers.raw(DOSSIER_CODE)

    refused(svc, sample_batch(sample_notice(version=2, total_vnd=1)))

    assert svc.dossiers.raw(DOSSIER_CODE) == before


@pytest.mark.parametrize("body", [[sample_batch()], "notices", None, 42], ids=["list", "string", "null", "number"])
def test_body_that_is_not_an_object_is_refused(svc, body):
    err = refused(svc, body)

    assert (err.status, err.code) == (400, "BODY_NOT_OBJECT")
    assert svc.dossiers.all_raw() == {}


def test_dossier_of_a_non_provincial_agency_is_refused_at_intake(svc):
    err = refused(svc, sample_batch(dossier_code="000.00.43.G12-210520-0001"))

    assert (err.status, err.code) == (422, "VALIDATION_FAILED")
    assert ("dossier_code", "DOSSIER_CODE_NOT_PROVINCIAL") in field_errors(err)
    assert svc.dossiers.all_raw() == {}


# -- forwarding to the province -----------------------------------------------------------------------------------
def test_accepted_notice_is_queued_for_the_province_without_id_or_phone(svc):
    ingest_notices(svc, sample_batch())

    [(province, notice)] = svc.forwarding.notices
    assert province == "000.00.00.H35" and notice["notice_number"] == NOTICE_NUMBER
    assert ID_NUMBER not in str(notice) and "912345678" not in str(notice)


def test_a_queue_that_is_down_delays_the_notice_for_the_province_and_loses_nothing():
    """The forwarding intent is written with the dossier: intake answers 200 whatever the queue does, and the
    notice reaches the province once the queue is back."""
    from tests.fakes import FakeForwarding

    forwarding = FakeForwarding(fail_notices=True)
    svc = make_services(forwarding=forwarding)
    assert ingest_notices(svc, sample_batch()).as_dict() == {"accepted": 1, "unchanged": 0}
    assert NOTICE_NUMBER in svc.dossiers.get(DOSSIER_CODE).notices
    assert svc.outbox.states("forward_notices") == ["PENDING"]

    forwarding.fail_notices = False
    assert ingest_notices(svc, sample_batch()).as_dict() == {"accepted": 0, "unchanged": 1}
    assert forwarding.notices == []  # a resend writes nothing and sends nothing
    assert svc.outbox.retry() == 1
    assert [n["notice_number"] for _, n in forwarding.notices] == [NOTICE_NUMBER]
    assert len(svc.sms.sent) == 1  # and the citizen was texted once


def test_a_stale_lower_version_resend_is_not_forwarded(svc):
    ingest_notices(svc, sample_batch(sample_notice(version=2)))
    ingest_notices(svc, sample_batch(sample_notice(version=1)))

    assert [n["version"] for _, n in svc.forwarding.notices] == [2]
