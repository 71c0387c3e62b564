"""M2 lookup through in-memory fakes: the pair must match, no enumeration, notice status, integer amounts."""
from __future__ import annotations

import pytest

from chalicelib.core.errors import AppError
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.lookup import lookup
from chalicelib.payments.services.payment_requests import initiate_payment
from tests.fakes import (
    AMOUNT,
    DOSSIER_CODE,
    ID_NUMBER,
    NOTICE_NUMBER,
    OTHER_ID_NUMBER,
    make_services,
    payment_body,
    sample_batch,
    sample_notice,
)

SECOND_NOTICE = "TB-2021-000124"


@pytest.fixture
def svc():
    services = make_services()
    ingest_notices(services, sample_batch(
        sample_notice(),
        sample_notice(SECOND_NOTICE, amount=250_000,
                      items=[{"sub_item_code": "1006", "description": "Thuế TNCN từ chuyển nhượng BĐS",
                              "amount_vnd": 200_000},
                             {"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất",
                              "amount_vnd": 50_000}]),
    ))
    return services


def look(svc, dossier_code=DOSSIER_CODE, id_number=ID_NUMBER) -> dict:
    return lookup(svc, {"dossier_code": dossier_code, "id_number": id_number})


def status_of(svc, notice_number: str = NOTICE_NUMBER) -> str:
    return {n["notice_number"]: n["status"] for n in look(svc)["notices"]}[notice_number]


def start_payment(svc) -> dict:
    status, answer = initiate_payment(svc, payment_body(), None, None)
    assert status == 201
    return answer


def test_found_returns_property_and_every_notice(svc):
    out = look(svc)

    assert out["dossier_code"] == DOSSIER_CODE
    assert out["property"]["parcel_number"] == "12"
    assert [n["notice_number"] for n in out["notices"]] == [NOTICE_NUMBER, SECOND_NOTICE]
    first = out["notices"][0]
    assert first["payer_name"] == "Nguyễn Thị Trang"
    assert first["total_vnd"] == AMOUNT
    assert first["items"] == [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": AMOUNT}]
    assert first["status"] == "payable"


def test_lookup_answer_carries_no_personal_data_beyond_the_payer_name(svc):
    text = repr(look(svc))

    assert ID_NUMBER not in text
    assert "912345678" not in text


def test_wrong_id_and_unknown_dossier_give_identical_errors(svc):
    with pytest.raises(AppError) as wrong_id:
        look(svc, id_number=OTHER_ID_NUMBER)
    with pytest.raises(AppError) as unknown:
        look(svc, dossier_code="000.00.43.H35-210520-0999")

    assert (wrong_id.value.status, wrong_id.value.code) == (404, "DOSSIER_NOT_FOUND")
    assert wrong_id.value.to_problem() == unknown.value.to_problem()
    for attr in ("status", "code", "detail", "title", "errors", "headers", "extra"):
        assert getattr(wrong_id.value, attr) == getattr(unknown.value, attr)


def test_wrong_nine_digit_id_is_the_same_not_found(svc):
    with pytest.raises(AppError) as exc:
        look(svc, id_number="123456789")
    assert (exc.value.status, exc.value.code) == (404, "DOSSIER_NOT_FOUND")


@pytest.mark.parametrize("typed", ["035 095 001 234", " 035095001234 ", "035.095.001.234", "035-095-001-234"])
def test_id_number_with_separators_is_normalised(svc, typed):
    assert look(svc, id_number=typed)["dossier_code"] == DOSSIER_CODE


def test_dossier_code_is_case_insensitive(svc):
    assert look(svc, dossier_code=DOSSIER_CODE.lower())["dossier_code"] == DOSSIER_CODE


def test_amounts_are_integers(svc):
    for notice in look(svc)["notices"]:
        assert type(notice["total_vnd"]) is int
        for item in notice["items"]:
            assert type(item["amount_vnd"]) is int
        assert sum(i["amount_vnd"] for i in notice["items"]) == notice["total_vnd"]


def test_status_is_in_payment_while_a_payment_is_live(svc):
    start_payment(svc)

    assert status_of(svc) == "in_payment"
    assert status_of(svc, SECOND_NOTICE) == "payable"


def test_status_is_paid_after_a_successful_bank_result(svc):
    answer = start_payment(svc)
    apply_bank_result(svc, BankResult("BIDV", answer["payment_id"], "FT1", AMOUNT, "VND", True))

    assert status_of(svc) == "paid"


def test_expired_payment_shows_the_notice_payable_again(svc):
    start_payment(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes - 1)
    assert status_of(svc) == "in_payment"

    svc.clock.advance(minutes=1)

    assert status_of(svc) == "payable"


def test_malformed_dossier_code_is_a_validation_error(svc):
    with pytest.raises(AppError) as exc:
        look(svc, dossier_code="not-a-dossier")
    assert exc.value.status == 422
    assert ("dossier_code", "DOSSIER_CODE_FORMAT") in {(e.field, e.code) for e in exc.value.errors}


# -- wrong guesses are limited per dossier code ---------------------------------------------------------------------
UNKNOWN_DOSSIER = "000.00.43.H35-210520-0999"


def guess(svc, dossier_code: str) -> AppError:
    with pytest.raises(AppError) as exc:
        look(svc, dossier_code, OTHER_ID_NUMBER)
    return exc.value


@pytest.mark.parametrize("code", [DOSSIER_CODE, UNKNOWN_DOSSIER], ids=["known", "unknown"])
def test_after_five_wrong_guesses_a_code_is_closed_for_a_while_known_or_unknown_alike(svc, code):
    for _ in range(5):  # typing mistakes are free ...
        assert guess(svc, code).code == "DOSSIER_NOT_FOUND"
    closed = guess(svc, code)  # ... then the code waits, whatever is typed, even the right pair
    assert (closed.status, closed.code) == (429, "LOOKUP_TOO_MANY_ATTEMPTS")
    assert 0 < int(closed.headers["Retry-After"]) <= 30
    if code == DOSSIER_CODE:
        with pytest.raises(AppError) as exc:
            look(svc)
        assert exc.value.code == "LOOKUP_TOO_MANY_ATTEMPTS"


def test_the_wait_doubles_with_each_failure_and_a_quiet_day_forgets_them(svc):
    for _ in range(5):
        guess(svc, DOSSIER_CODE)
    svc.clock.advance(seconds=31)
    assert guess(svc, DOSSIER_CODE).code == "DOSSIER_NOT_FOUND"  # the 6th failure, once its wait is over ...
    assert 30 < int(guess(svc, DOSSIER_CODE).headers["Retry-After"]) <= 60  # ... makes the next wait 2 x 30 s
    svc.clock.advance(days=1, seconds=1)
    assert look(svc)["dossier_code"] == DOSSIER_CODE  # forgotten after a day without failures
    assert guess(svc, DOSSIER_CODE).code == "DOSSIER_NOT_FOUND"
    assert svc.dossiers.lookup_failures[DOSSIER_CODE][0] == 1  # and counting starts again


def test_a_right_pair_within_the_free_failures_is_answered_and_costs_no_write(svc):
    for _ in range(4):
        guess(svc, DOSSIER_CODE)
    assert look(svc)["dossier_code"] == DOSSIER_CODE
    assert svc.dossiers.lookup_failures[DOSSIER_CODE][0] == 4


def test_payment_initiation_counts_wrong_guesses_too(svc):
    for _ in range(5):
        with pytest.raises(AppError):
            initiate_payment(svc, payment_body(id_number=OTHER_ID_NUMBER), None, None)
    with pytest.raises(AppError) as exc:
        initiate_payment(svc, payment_body(), None, None)
    assert exc.value.code == "LOOKUP_TOO_MANY_ATTEMPTS"
