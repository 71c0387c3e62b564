"""M3 payment initiation, reading and cancelling through in-memory fakes."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.core.clock import FixedClock
from chalicelib.core.errors import AppError
from chalicelib.payments.domain.notices import NoticeStatus
from chalicelib.payments.domain.payments import is_payment_id
from chalicelib.payments.services.bank_results import BankResult, apply_bank_result
from chalicelib.payments.services.intake import ingest_notices
from chalicelib.payments.services.payment_requests import cancel_payment, get_payment, initiate_payment
from tests.fakes import (
    AMOUNT,
    DOSSIER_CODE,
    NOTICE_NUMBER,
    START,
    WRONG_SECRET,
    FakeBankLinks,
    make_services,
    payment_body,
    sample_batch,
    secret,
)

CITIZEN_A, CITIZEN_B = "citizen-a-sub", "citizen-b-sub"


def services(**overrides):
    svc = make_services(**overrides)
    ingest_notices(svc, sample_batch())
    return svc


@pytest.fixture
def svc():
    return services()


def initiate(svc, body=None, key=None, citizen=None):
    return initiate_payment(svc, body or payment_body(), key, citizen)


def refused(fn, *args, **kwargs) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args, **kwargs)
    return exc.value


def notice_status(svc) -> NoticeStatus:
    notice = svc.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER]
    return notice.status(int(svc.clock.now().timestamp()))


def pay(svc, payment_id, bank="BIDV"):
    return apply_bank_result(svc, BankResult(bank, payment_id, "FT21140123456", AMOUNT, "VND", True))


# -- initiation ------------------------------------------------------------------------------------------------
def test_initiate_creates_a_pending_payment_for_the_notice_total(svc):
    status, answer = initiate(svc)

    assert status == 201
    assert answer["state"] == "PENDING_BANK"
    assert answer["amount_vnd"] == AMOUNT
    assert answer["bank_code"] == "BIDV"
    assert answer["notice_number"] == NOTICE_NUMBER
    assert is_payment_id(answer["payment_id"]) and answer["payment_id"].startswith("PAYH35")
    assert datetime.fromisoformat(answer["expires_at"]) == START + timedelta(minutes=svc.settings.payment_ttl_minutes)
    stored = svc.ledger.get_payment(answer["payment_id"])
    assert stored.state.value == "PENDING_BANK" and stored.amount_vnd == AMOUNT
    assert notice_status(svc) == NoticeStatus.IN_PAYMENT


def test_ttl_comes_from_settings():
    from chalicelib.config import Settings

    svc = services(settings=Settings(payment_ttl_minutes=30))
    _, answer = initiate(svc)
    assert datetime.fromisoformat(answer["expires_at"]) == START + timedelta(minutes=30)


# MB is the VNPay-style gateway: its signed payment URL is tested in test_payment_pages.py.
@pytest.mark.parametrize(("bank", "citizen"), [("VCB", None), ("BIDV", None), ("BIDV", CITIZEN_A), ("VBA", CITIZEN_A)])
def test_anonymous_payer_or_bank_without_sso_goes_to_the_internet_banking_login(bank, citizen):
    svc = services(bank_links=FakeBankLinks({(CITIZEN_A, "VCB")}))

    _, answer = initiate(svc, payment_body(bank_code=bank), citizen=citizen)

    url = urlsplit(answer["redirect_url"])
    assert url.path == "/ib/login"
    query = parse_qs(url.query)
    assert query["payment_id"] == [answer["payment_id"]]
    assert query["amount_vnd"] == [str(AMOUNT)]
    assert query["bank_code"] == [bank]


def test_signed_in_citizen_linked_to_an_sso_bank_goes_straight_to_the_payment_page():
    svc = services(bank_links=FakeBankLinks({(CITIZEN_A, "VCB")}))

    status, answer = initiate(svc, payment_body(bank_code="VCB"), citizen=CITIZEN_A)

    assert status == 201
    assert urlsplit(answer["redirect_url"]).path == "/pay"
    assert answer["redirect_url"].startswith(svc.settings.bank_gateway_url("VCB") + "/pay?")


def test_signed_in_citizen_without_a_link_to_the_sso_bank_is_sent_to_link_first():
    svc = services(bank_links=FakeBankLinks({(CITIZEN_B, "VCB"), (CITIZEN_A, "BIDV")}))

    err = refused(initiate, svc, payment_body(bank_code="VCB"), citizen=CITIZEN_A)

    assert (err.status, err.code) == (403, "BANK_ACCOUNT_NOT_LINKED")
    assert "chưa liên kết tài khoản thanh toán" in err.detail
    assert svc.ledger.payments == []
    assert notice_status(svc) == NoticeStatus.PAYABLE


def test_bank_code_is_case_insensitive(svc):
    _, answer = initiate(svc, payment_body(bank_code="bidv"))
    assert answer["bank_code"] == "BIDV"


# -- idempotency and one live payment per notice ------------------------------------------------------------------
def test_same_idempotency_key_and_body_returns_the_first_answer_without_a_second_payment(svc):
    first = initiate(svc, key="k-123")
    second = initiate(svc, key="k-123")

    assert second == first
    assert len(svc.ledger.payments) == 1


def test_same_idempotency_key_replays_even_after_the_clock_moved(svc):
    first = initiate(svc, key="k-123")
    svc.clock.advance(minutes=1)

    assert initiate(svc, key="k-123") == first
    assert len(svc.ledger.payments) == 1


@pytest.mark.parametrize("change", [{"bank_code": "VCB"}, {"return_url": "https://dichvucong.gov.vn/other"}])
def test_same_idempotency_key_with_another_body_is_refused(svc, change):
    initiate(svc, key="k-123")

    err = refused(initiate, svc, payment_body(**change), key="k-123")

    assert (err.status, err.code) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert len(svc.ledger.payments) == 1


def test_same_idempotency_key_for_another_payable_notice_is_refused():
    svc = make_services()
    ingest_notices(svc, sample_batch(
        {**sample_batch()["notices"][0]},
        {**sample_batch()["notices"][0], "notice_number": "TB-2021-000124"},
    ))
    initiate(svc, key="k-123")

    err = refused(initiate, svc, payment_body("TB-2021-000124"), key="k-123")

    assert (err.status, err.code) == (409, "IDEMPOTENCY_KEY_REUSED")
    assert len(svc.ledger.payments) == 1
    notice = svc.dossiers.get(DOSSIER_CODE).notices["TB-2021-000124"]
    assert notice.live_payment_id is None  # all or nothing: the claim was not written either


def test_idempotency_key_of_one_citizen_does_not_replay_for_another(svc):
    initiate(svc, key="k-123", citizen=CITIZEN_A)

    err = refused(initiate, svc, key="k-123", citizen=CITIZEN_B)

    assert (err.status, err.code) == (409, "PAYMENT_IN_PROGRESS")


def test_second_payment_without_key_while_one_is_live_is_refused(svc):
    initiate(svc)

    err = refused(initiate, svc)

    assert (err.status, err.code) == (409, "PAYMENT_IN_PROGRESS")
    assert len(svc.ledger.payments) == 1


def test_new_payment_is_allowed_once_the_first_expired(svc):
    _, first = initiate(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes - 1, seconds=59)
    assert refused(initiate, svc).code == "PAYMENT_IN_PROGRESS"

    svc.clock.advance(seconds=1)
    status, second = initiate(svc)

    assert status == 201
    assert second["payment_id"] != first["payment_id"]
    assert get_payment(svc, first["payment_id"], secret(svc, first["payment_id"]))["state"] == "EXPIRED"
    assert svc.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER].live_payment_id == second["payment_id"]


def test_paid_notice_cannot_be_paid_again(svc):
    _, answer = initiate(svc)
    pay(svc, answer["payment_id"])

    err = refused(initiate, svc)

    assert (err.status, err.code) == (409, "NOTICE_ALREADY_PAID")
    assert len(svc.ledger.payments) == 1


def test_unknown_notice_is_not_found(svc):
    err = refused(initiate, svc, payment_body("TB-2021-999999"))
    assert (err.status, err.code) == (404, "NOTICE_NOT_FOUND")


def test_unknown_dossier_or_wrong_id_is_not_found(svc):
    assert refused(initiate, svc, payment_body(id_number="001090005678")).code == "DOSSIER_NOT_FOUND"
    assert refused(initiate, svc, payment_body(dossier_code="000.00.43.H35-210520-0999")).code == "DOSSIER_NOT_FOUND"
    assert svc.ledger.payments == []


def test_unknown_bank_is_a_validation_error(svc):
    err = refused(initiate, svc, payment_body(bank_code="ZZBANK"))

    assert err.status == 422
    assert ("bank_code", "BANK_UNKNOWN") in {(e.field, e.code) for e in err.errors}
    assert svc.ledger.payments == []


@pytest.mark.parametrize("url", [
    "https://evil.example.com/return",
    "https://dichvucong.gov.vn.evil.example.com/return",
    "https://dichvucong.gov.vn:443@evil.example.com/return",
    "javascript:alert(document.cookie)",
    "javascript://dichvucong.gov.vn/%0aalert(1)",
    "ftp://dichvucong.gov.vn/return",
    "//evil.example.com/return",
    "/relative/path",
])
def test_return_url_must_point_to_an_allowed_host(svc, url):
    err = refused(initiate, svc, payment_body(return_url=url))

    assert (err.status, err.code) == (422, "RETURN_URL_NOT_ALLOWED")
    assert svc.ledger.payments == []


def test_return_url_with_a_backslash_before_the_at_sign_is_refused(svc):
    err = refused(initiate, svc, payment_body(return_url="https://evil.example.com\\@dichvucong.gov.vn/return"))

    assert (err.status, err.code) == (422, "RETURN_URL_NOT_ALLOWED")


def test_plain_http_return_url_is_refused_outside_local_stages():
    from chalicelib.config import Settings

    svc = services(settings=Settings(stage="prod", return_url_hosts=("dichvucong.gov.vn",)))

    err = refused(initiate, svc, payment_body(return_url="http://dichvucong.gov.vn/return"))

    assert (err.status, err.code) == (422, "RETURN_URL_NOT_ALLOWED")
    assert initiate(svc, payment_body(return_url="https://dichvucong.gov.vn/return"))[0] == 201


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_idempotency_key_must_be_1_to_255_characters(svc, key):
    err = refused(initiate, svc, key=key)

    assert (err.status, err.code) == (400, "IDEMPOTENCY_KEY_INVALID")
    assert svc.ledger.payments == []


def test_allowed_return_url_is_passed_to_the_bank(svc):
    _, answer = initiate(svc)
    query = parse_qs(urlsplit(answer["redirect_url"]).query)
    assert query["return_url"] == ["https://dichvucong.gov.vn/p/thanh-toan/ket-qua"]


def test_concurrent_initiations_for_one_notice_create_exactly_one_payment():
    threads_per_round = 8
    for round_no in range(20):
        svc = services(clock=FixedClock(START))
        barrier = threading.Barrier(threads_per_round)
        outcomes: list[object] = []
        lock = threading.Lock()

        def attempt(i: int) -> None:
            barrier.wait()
            try:
                result = initiate(svc, key=f"round-{round_no}-thread-{i}")[0]
            except AppError as exc:
                result = exc.code
            with lock:
                outcomes.append(result)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(threads_per_round)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert outcomes.count(201) == 1, (round_no, outcomes)
        assert sorted(o for o in outcomes if o != 201) == ["PAYMENT_IN_PROGRESS"] * (threads_per_round - 1)
        assert len(svc.ledger.payments) == 1
        live = svc.dossiers.get(DOSSIER_CODE).notices[NOTICE_NUMBER].live_payment_id
        assert live == svc.ledger.payments[0].payment_id


# -- reading -----------------------------------------------------------------------------------------------------
def test_get_payment_shows_its_state_and_after_success_its_receipt(svc):
    _, answer = initiate(svc)
    view = get_payment(svc, answer["payment_id"], secret(svc, answer["payment_id"]))
    assert (view["state"], view["amount_vnd"], view["notice_number"]) == ("PENDING_BANK", AMOUNT, NOTICE_NUMBER)
    assert "receipt_id" not in view

    pay(svc, answer["payment_id"])

    view = get_payment(svc, answer["payment_id"], secret(svc, answer["payment_id"]))
    assert view["state"] == "PAID"
    assert view["receipt_id"] == "RCP" + answer["payment_id"][3:]


@pytest.mark.parametrize("payment_id", [
    "PAYH35" + "01HZX4Y9Q2M7K8V3T6R5W0N1PQ",  # well formed, never issued
    "PAYH35" + "01HZX4Y9Q2M7K8V3T6R5W0N1P",  # one character short
    "PAYH35" + "I" * 26,  # I is not a Crockford base32 letter
    "RCPH35" + "01HZX4Y9Q2M7K8V3T6R5W0N1PQ",  # a receipt id
    "not-a-payment",
    "",
    "../PAYH3501HZX4Y9Q2M7K8V3T6R5W0N1PQ",
])
def test_unknown_or_malformed_payment_id_is_not_found(svc, payment_id):
    err = refused(get_payment, svc, payment_id, WRONG_SECRET)
    assert (err.status, err.code) == (404, "PAYMENT_NOT_FOUND")


def test_well_formed_but_unknown_payment_id_is_not_found(svc):
    _, answer = initiate(svc)
    unknown = answer["payment_id"][:-1] + ("0" if answer["payment_id"][-1] != "0" else "1")
    assert is_payment_id(unknown)

    err = refused(get_payment, svc, unknown, WRONG_SECRET)

    assert (err.status, err.code) == (404, "PAYMENT_NOT_FOUND")


# -- cancelling ----------------------------------------------------------------------------------------------------
def test_cancel_makes_the_notice_payable_again(svc):
    _, answer = initiate(svc)

    view = cancel_payment(svc, answer["payment_id"], None, secret(svc, answer["payment_id"]))

    assert view["state"] == "CANCELLED"
    assert svc.ledger.get_payment(answer["payment_id"]).state.value == "CANCELLED"
    assert notice_status(svc) == NoticeStatus.PAYABLE
    assert initiate(svc)[0] == 201


def test_cancel_twice_answers_the_same(svc):
    _, answer = initiate(svc)
    cancel_payment(svc, answer["payment_id"], None, secret(svc, answer["payment_id"]))

    assert cancel_payment(svc, answer["payment_id"], None, secret(svc, answer["payment_id"]))["state"] == "CANCELLED"


def test_paid_payment_cannot_be_cancelled(svc):
    _, answer = initiate(svc)
    pay(svc, answer["payment_id"])

    err = refused(cancel_payment, svc, answer["payment_id"], None, secret(svc, answer["payment_id"]))

    assert err.status == 409
    assert err.code == "PAYMENT_NOT_CANCELLABLE"
    assert svc.ledger.get_payment(answer["payment_id"]).state.value == "PAID"
    assert notice_status(svc) == NoticeStatus.PAID


def test_expired_payment_cannot_be_cancelled(svc):
    _, answer = initiate(svc)
    svc.clock.advance(minutes=svc.settings.payment_ttl_minutes)

    assert refused(cancel_payment, svc, answer["payment_id"], None, secret(svc, answer["payment_id"])).code == "PAYMENT_NOT_CANCELLABLE"


@pytest.mark.parametrize("who", [CITIZEN_B, None], ids=["other-citizen", "anonymous"])
def test_only_the_citizen_who_started_a_payment_can_cancel_it(svc, who):
    _, answer = initiate(svc, citizen=CITIZEN_A)

    err = refused(cancel_payment, svc, answer["payment_id"], who, secret(svc, answer["payment_id"]))

    assert (err.status, err.code) == (403, "PAYMENT_NOT_OWNED")
    assert svc.ledger.get_payment(answer["payment_id"]).state.value == "PENDING_BANK"
    assert notice_status(svc) == NoticeStatus.IN_PAYMENT
    assert cancel_payment(svc, answer["payment_id"], CITIZEN_A)["state"] == "CANCELLED"


def test_cancel_of_an_unknown_payment_is_not_found(svc):
    assert refused(cancel_payment, svc, "not-a-payment", None, WRONG_SECRET).code == "PAYMENT_NOT_FOUND"


# -- who may read and cancel a payment (the access secret) -------------------------------------------------------
def test_the_access_secret_is_answered_once_never_goes_to_the_bank_and_opens_the_payment(svc):
    _, answer = initiate(svc)
    pid, key = answer["payment_id"], answer["client_secret"]
    assert key == secret(svc, pid) and len(key) == 40
    assert key not in answer["redirect_url"]
    assert get_payment(svc, pid, key)["payment_id"] == pid


def test_without_the_secret_a_payment_cannot_be_read_or_cancelled(svc):
    _, answer = initiate(svc)
    pid = answer["payment_id"]
    assert (refused(get_payment, svc, pid).status, refused(get_payment, svc, pid).code) == (401,
                                                                                            "CLIENT_SECRET_REQUIRED")
    assert refused(cancel_payment, svc, pid).code == "CLIENT_SECRET_REQUIRED"
    # A wrong secret is answered as an unknown payment: the id from the bank's URL proves nothing.
    assert refused(get_payment, svc, pid, WRONG_SECRET).code == "PAYMENT_NOT_FOUND"
    assert refused(cancel_payment, svc, pid, None, WRONG_SECRET).code == "PAYMENT_NOT_FOUND"
    assert notice_status(svc) == NoticeStatus.IN_PAYMENT  # the stranger cancelled nothing


def test_the_signed_in_owner_needs_no_secret_and_another_citizen_sees_nothing(svc):
    _, answer = initiate(svc, citizen=CITIZEN_A)
    pid = answer["payment_id"]
    assert get_payment(svc, pid, None, CITIZEN_A)["payment_id"] == pid
    assert refused(get_payment, svc, pid, None, CITIZEN_B).code == "PAYMENT_NOT_FOUND"


def test_a_replayed_creation_answers_the_same_secret(svc):
    _, first = initiate(svc, key="k-1")
    _, second = initiate(svc, key="k-1")
    assert first["client_secret"] == second["client_secret"] == secret(svc, first["payment_id"])
    stored = str(vars(svc.ledger))  # payments, idempotency records...: the secret itself is stored nowhere
    assert first["payment_id"] in stored and first["client_secret"] not in stored
