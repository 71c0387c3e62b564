"""M7 bank-account linking through the use cases: the four conditions in order, each with its own code; OTP to the
common phone; one link at a time; unlink; and the payment flow with and without a link."""
from __future__ import annotations

import pytest

from chalicelib.accounts.services import bank_links, citizens
from chalicelib.accounts.services import citizen_accounts as accounts
from chalicelib.core.errors import AppError
from chalicelib.otp.domain import OtpPurpose
from tests.fakes_accounts import (
    CITIZEN_ID,
    CITIZEN_PHONE,
    account_body,
    caller_for,
    first_sign_in,
    make_account_services,
    officer,
    otp_token,
    seed_officer,
    seed_units,
)

USERNAME = "nguyenvanan"


@pytest.fixture()
def svc():
    s = make_account_services()
    seed_units(s)
    seed_officer(s, "off-a")
    return s


@pytest.fixture()
def me(svc):
    accounts.create_account(svc, officer("off-a"), account_body(svc, "off-a"))
    who = caller_for(svc, first_sign_in(svc)["access_token"])
    citizens.update_profile(svc, who, {"tax_code": "0100109106"})
    svc.banks.add("VCB", USERNAME, id_number=CITIZEN_ID, otp_phone="0912 345 678")
    svc.clock.advance(seconds=61)
    return who


def refused(fn, *args) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args)
    return exc.value


def link(svc, me, username=USERNAME, bank="VCB"):
    started = bank_links.start_link(svc, me, {"bank_code": bank, "banking_username": username})
    code = svc.sms.sent[-1][1][:6]
    otp = started["otp"]
    from chalicelib.otp import services as otp_cases

    token = otp_cases.verify_otp(svc, CITIZEN_PHONE, OtpPurpose.BANK_LINK, otp["subject"], code)["verification_token"]
    return bank_links.confirm_link(svc, me, {"bank_code": bank, "banking_username": username,
                                             "verification_token": token})


def test_link_happy_path_sends_the_otp_to_the_common_phone(svc, me):
    started = bank_links.start_link(svc, me, {"bank_code": "vcb", "banking_username": USERNAME})
    assert started["status"] == "PENDING_OTP" and started["otp"]["subject"].endswith(":VCB:nguyenvanan")
    assert svc.sms.sent[-1][0] == CITIZEN_PHONE and "liên kết tài khoản ngân hàng" in svc.sms.sent[-1][1]
    svc.clock.advance(seconds=61)
    out = link(svc, me)
    assert out["bank_code"] == "VCB" and out["account_number_masked"] == "*********4567"
    assert citizens.profile(svc, me)["bank_link"]["bank_code"] == "VCB"


def test_condition_1_tax_code_required(svc, me):
    citizens.update_profile(svc, me, {"tax_code": None})
    err = refused(bank_links.start_link, svc, me, {"bank_code": "VCB", "banking_username": USERNAME})
    assert (err.code, err.status) == ("TAX_CODE_REQUIRED", 422) and "mã số thuế" in err.detail
    assert svc.banks.lookups == 0  # checked first, without asking the bank


def test_condition_2_internet_banking_account_must_exist(svc, me):
    err = refused(bank_links.start_link, svc, me, {"bank_code": "VCB", "banking_username": "nobody"})
    assert (err.code, err.status) == ("BANK_ACCOUNT_NOT_FOUND", 422)


def test_condition_3_same_id_number_tells_to_update_at_the_bank(svc, me):
    svc.banks.add("VCB", "other", id_number="001090009999", otp_phone=CITIZEN_PHONE)
    err = refused(bank_links.start_link, svc, me, {"bank_code": "VCB", "banking_username": "other"})
    assert err.code == "BANK_ID_NUMBER_MISMATCH" and "liên hệ ngân hàng để cập nhật" in err.detail


def test_condition_4_same_phone_tells_to_update_the_portal_phone(svc, me):
    svc.banks.add("VCB", "otherphone", id_number=CITIZEN_ID, otp_phone="0900000001")
    err = refused(bank_links.start_link, svc, me, {"bank_code": "VCB", "banking_username": "otherphone"})
    assert err.code == "BANK_PHONE_MISMATCH" and "cập nhật số điện thoại trên Cổng Dịch vụ công" in err.detail


def test_conditions_are_checked_in_order(svc, me):
    svc.banks.add("VCB", "allwrong", id_number="001090009999", otp_phone="0900000001")
    assert refused(bank_links.start_link, svc, me,
                   {"bank_code": "VCB", "banking_username": "allwrong"}).code == "BANK_ID_NUMBER_MISMATCH"
    citizens.update_profile(svc, me, {"tax_code": None})
    assert refused(bank_links.start_link, svc, me,
                   {"bank_code": "VCB", "banking_username": "allwrong"}).code == "TAX_CODE_REQUIRED"


def test_only_single_sign_on_banks_link(svc, me):
    err = refused(bank_links.start_link, svc, me, {"bank_code": "BIDV", "banking_username": USERNAME})
    assert err.code == "BANK_LINK_NOT_SUPPORTED"


def test_one_link_at_a_time_then_unlink_to_link_another(svc, me):
    link(svc, me)
    err = refused(bank_links.start_link, svc, me, {"bank_code": "VCB", "banking_username": USERNAME})
    assert (err.code, err.status) == ("BANK_LINK_EXISTS", 409)
    bank_links.unlink(svc, me)
    assert bank_links.current_link(svc, me) == {"link": None}
    assert refused(bank_links.unlink, svc, me).code == "BANK_LINK_NOT_FOUND"
    svc.clock.advance(seconds=61)
    assert link(svc, me)["bank_code"] == "VCB"


def test_confirm_needs_a_token_for_this_bank_account(svc, me):
    svc.banks.add("VCB", "second", id_number=CITIZEN_ID, otp_phone=CITIZEN_PHONE, account_number="0011009999999")
    account_id = me.subject
    token = otp_token(svc, CITIZEN_PHONE, OtpPurpose.BANK_LINK, f"{account_id}:VCB:second")
    err = refused(bank_links.confirm_link, svc, me,
                  {"bank_code": "VCB", "banking_username": USERNAME, "verification_token": token})
    assert err.code == "VERIFICATION_TOKEN_INVALID"
    assert bank_links.confirm_link(svc, me, {"bank_code": "VCB", "banking_username": "second",
                                             "verification_token": token})["account_number_masked"].endswith("9999")


def test_a_link_confirmed_twice_concurrently_is_one_link(svc, me):
    """Two confirmations racing (two tokens): the link's key lets one in."""
    from chalicelib.accounts.ports import BankLink
    from chalicelib.core.ports import AlreadyExistsError
    from chalicelib.otp.ports import TokenClaim

    account_id = me.subject
    t1 = otp_token(svc, CITIZEN_PHONE, OtpPurpose.BANK_LINK, f"{account_id}:VCB:{USERNAME}")
    svc.clock.advance(seconds=61)
    t2 = otp_token(svc, "+84900000001", OtpPurpose.BANK_LINK, f"{account_id}:VCB:{USERNAME}")
    from chalicelib.otp import services as otp_cases

    c1 = otp_cases.token_claim(svc, CITIZEN_PHONE, OtpPurpose.BANK_LINK, f"{account_id}:VCB:{USERNAME}", t1)
    c2 = otp_cases.token_claim(svc, "+84900000001", OtpPurpose.BANK_LINK, f"{account_id}:VCB:{USERNAME}", t2)
    link_ = BankLink(account_id, "VCB", "***", "***", "X", "t")
    svc.links.create_link(link_, c1)
    with pytest.raises(AlreadyExistsError):
        svc.links.create_link(link_, c2)
    assert isinstance(c2, TokenClaim) and svc.otp._claim_ok(c2)  # the refused write consumed nothing


# --- the payment flow --------------------------------------------------------------------------------------------

def test_payment_without_a_link_is_refused_and_with_one_goes_straight_to_the_bank(svc, me):
    from chalicelib.payments.services.intake import ingest_notices
    from chalicelib.payments.services.payment_requests import initiate_payment
    from tests.fakes import make_services, payment_body, sample_batch

    pay = make_services(bank_links=bank_links.StoredBankLinks(svc.links))
    ingest_notices(pay, sample_batch())
    with pytest.raises(AppError) as exc:
        initiate_payment(pay, payment_body(bank_code="VCB"), None, me.subject)
    assert (exc.value.code, exc.value.status) == ("BANK_ACCOUNT_NOT_LINKED", 403)
    link(svc, me)
    status, body = initiate_payment(pay, payment_body(bank_code="VCB"), None, me.subject)
    assert status == 201 and "/pay?" in body["redirect_url"] and "/ib/login" not in body["redirect_url"]


def test_a_link_at_one_bank_is_not_a_link_at_another(svc, me):
    link(svc, me)
    links = bank_links.StoredBankLinks(svc.links)
    assert links.is_linked(me.subject, "VCB") and not links.is_linked(me.subject, "BIDV")
    assert not links.is_linked("someone-else", "VCB")

