"""Signing in through the user pool and the account hardening (issue 10, hardening section 3), through the use cases
with the in-memory directory and a fake pool: the guard's atomic step, progressive delays, per-client limits,
temporary passwords that expire, common passwords refused, a phone change that re-checks the password and tells the
old phone, tokens refused after a password change, a sign-out or a reset, a reset by OTP that answers the same for
every ID number, and staff tokens checked against the directory (locked, deleted, roles, province)."""
from __future__ import annotations

import threading

import pytest

from chalicelib.accounts.services import citizen_accounts as accounts
from chalicelib.accounts.services import citizens, officers, otp_requests, passwords, sign_in
from chalicelib.accounts.services.sessions import check_principal
from chalicelib.core.errors import AppError
from chalicelib.identity.domain import AuthError, Role, token_revoked
from chalicelib.otp.domain import OtpPurpose
from tests.fakes_accounts import (
    CITIZEN_ID,
    CITIZEN_PHONE,
    NEW_PASSWORD,
    ONE_STOP_UNIT,
    account_body,
    admin,
    anonymous,
    caller_for,
    first_sign_in,
    make_account_services,
    officer,
    otp_token,
    seed_officer,
    seed_units,
    staff_caller,
    temp_password,
)

WRONG = {"id_number": CITIZEN_ID, "password": "SaiMatKhau1"}


@pytest.fixture()
def svc():
    s = make_account_services()
    seed_units(s)
    seed_officer(s, "off-a", units=(ONE_STOP_UNIT,))
    return s


def refused(fn, *args, **kwargs) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args, **kwargs)
    return exc.value


def create(svc):
    svc.clock.advance(seconds=61)
    return accounts.create_account(svc, officer("off-a"), account_body(svc, "off-a"))["account_id"]


def right(svc) -> dict:
    return {"id_number": CITIZEN_ID, "password": NEW_PASSWORD}


@pytest.fixture()
def citizen(svc):
    create(svc)
    first_sign_in(svc)
    return svc


# --- the guard: one atomic step ----------------------------------------------------------------------------------

def test_parallel_wrong_guesses_are_counted_before_they_are_checked(citizen):
    svc = citizen
    svc.users.check_delay_s = 0.02  # every guess still in the pool while the others arrive
    barrier, codes = threading.Barrier(20), []
    checks_before = svc.users.password_checks

    def guess():
        barrier.wait()
        try:
            sign_in.sign_in(svc, anonymous(), WRONG)
        except AppError as err:
            codes.append(err.code)

    threads = [threading.Thread(target=guess) for _ in range(20)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    free = svc.settings.sign_in.free_failures
    assert codes.count("SIGN_IN_FAILED") == free and codes.count("SIGN_IN_DELAYED") == 20 - free, codes
    assert svc.users.password_checks - checks_before == free  # the pool never saw the others


def test_failures_delay_progressively_instead_of_locking_the_owner_out(citizen):
    svc, policy = citizen, citizen.settings.sign_in
    for _ in range(policy.free_failures):
        assert refused(sign_in.sign_in, svc, anonymous(), WRONG).code == "SIGN_IN_FAILED"
    err = refused(sign_in.sign_in, svc, anonymous(), right(svc))
    assert (err.status, err.code, err.headers["Retry-After"]) == (429, "SIGN_IN_DELAYED", "30")
    svc.clock.advance(seconds=30)
    assert refused(sign_in.sign_in, svc, anonymous(), WRONG).code == "SIGN_IN_FAILED"  # the 6th: 60 s next
    svc.clock.advance(seconds=59)
    assert refused(sign_in.sign_in, svc, anonymous(), right(svc)).headers["Retry-After"] == "1"
    svc.clock.advance(seconds=1)
    assert sign_in.sign_in(svc, anonymous(), right(svc))["access_token"]  # never a 15-minute lock
    for _ in range(policy.free_failures):  # and a right password starts the count again
        assert refused(sign_in.sign_in, svc, anonymous(), WRONG).code == "SIGN_IN_FAILED"


def test_the_delay_never_exceeds_the_cap(svc):
    from chalicelib.accounts.domain import SignInPolicy, delay_after

    policy = SignInPolicy()
    assert [delay_after(n, policy) for n in (0, 4, 5, 6, 7, 9, 30)] == [0, 0, 30, 60, 120, 480, 900]


def test_password_spraying_is_limited_per_client(svc):
    create(svc)
    cap = svc.settings.sign_in.client_failures_per_hour
    for i in range(cap):
        body = {"id_number": f"0350950{i:05d}", "password": "MatKhau123"}
        assert refused(sign_in.sign_in, svc, anonymous("203.0.113.9"), body).code == "SIGN_IN_FAILED"
    err = refused(sign_in.sign_in, svc, anonymous("203.0.113.9"), {"id_number": "035095099999", "password": "x"})
    assert (err.status, err.code) == (429, "SIGN_IN_CLIENT_LIMITED") and int(err.headers["Retry-After"]) > 0
    # another client is not held up, and the owner's own right password from it works
    assert sign_in.sign_in(svc, anonymous("203.0.113.10"), {"id_number": CITIZEN_ID,
                                                             "password": temp_password(svc)})["challenge"]


def test_right_passwords_do_not_count_against_the_client(citizen):
    svc = citizen
    for _ in range(svc.settings.sign_in.client_failures_per_hour + 5):
        assert sign_in.sign_in(svc, anonymous("203.0.113.20"), right(svc))["access_token"]


# --- temporary and new passwords ---------------------------------------------------------------------------------

def test_temporary_passwords_expire_after_72_hours(svc):
    create(svc)
    svc.clock.advance(hours=72, seconds=1)
    err = refused(sign_in.sign_in, svc, anonymous(), {"id_number": CITIZEN_ID, "password": temp_password(svc)})
    assert (err.status, err.code) == (401, "TEMPORARY_PASSWORD_EXPIRED") and "72 giờ" in err.detail


def test_a_temporary_password_works_until_72_hours(svc):
    create(svc)
    svc.clock.advance(hours=71, minutes=59)
    assert first_sign_in(svc)["access_token"]


@pytest.mark.parametrize("weak", ["password123", "MatKhau123", "123456a@", "qwerty123"])
def test_common_passwords_are_refused_on_change(citizen, weak):
    svc = citizen
    me = caller_for(svc, sign_in.sign_in(svc, anonymous(), right(svc))["access_token"])
    err = refused(citizens.change_password, svc, me, {"current_password": NEW_PASSWORD, "new_password": weak})
    assert err.errors[0].code == "PASSWORD_TOO_COMMON"


def test_common_passwords_are_refused_at_first_sign_in_and_reset(svc):
    create(svc)
    challenge = sign_in.sign_in(svc, anonymous(), {"id_number": CITIZEN_ID, "password": temp_password(svc)})
    err = refused(passwords.answer_new_password, svc, {"id_number": CITIZEN_ID, "session": challenge["session"],
                                                       "new_password": "iloveyou1"})
    assert err.errors[0].code == "PASSWORD_TOO_COMMON"


# --- tokens refused after a password change, a sign-out, a reset --------------------------------------------------

def test_a_password_change_refuses_every_earlier_token_and_keeps_the_new_one(citizen):
    svc = citizen
    earlier = sign_in.sign_in(svc, anonymous(), right(svc))
    current = sign_in.sign_in(svc, anonymous(), right(svc))
    me = caller_for(svc, current["access_token"])
    fresh = citizens.change_password(svc, me, {"current_password": NEW_PASSWORD, "new_password": "Kh0ngDoan!Duoc77"})
    for token in (earlier["access_token"], current["access_token"]):  # same second, other sessions: refused too
        with pytest.raises(AuthError) as exc:
            caller_for(svc, token)
        assert exc.value.code == "TOKEN_REVOKED"
    assert caller_for(svc, fresh["access_token"]).subject == me.subject
    assert refused(sign_in.refresh, svc, {"refresh_token": earlier["refresh_token"]}).code == "REFRESH_TOKEN_INVALID"
    svc.clock.advance(seconds=5)
    assert caller_for(svc, sign_in.refresh(svc, {"refresh_token": fresh["refresh_token"]})["access_token"])


def test_a_wrong_current_password_counts_as_a_wrong_guess(citizen):
    svc = citizen
    me = caller_for(svc, sign_in.sign_in(svc, anonymous(), right(svc))["access_token"])
    for _ in range(svc.settings.sign_in.free_failures):
        err = refused(citizens.change_password, svc, me, {"current_password": "SaiMatKhau1",
                                                          "new_password": "Kh0ngDoan!Duoc77"})
        assert err.code == "CURRENT_PASSWORD_WRONG"
    assert refused(citizens.change_password, svc, me, {"current_password": NEW_PASSWORD,
                                                       "new_password": "Kh0ngDoan!Duoc77"}).code == "SIGN_IN_DELAYED"


def test_sign_out_everywhere_refuses_every_token_issued_so_far(citizen):
    svc = citizen
    tokens = sign_in.sign_in(svc, anonymous(), right(svc))
    sign_in.sign_out(svc, caller_for(svc, tokens["access_token"]))
    with pytest.raises(AuthError):
        caller_for(svc, tokens["access_token"])
    assert refused(sign_in.refresh, svc, {"refresh_token": tokens["refresh_token"]}).code == "REFRESH_TOKEN_INVALID"
    svc.clock.advance(seconds=1)
    assert caller_for(svc, sign_in.sign_in(svc, anonymous(), right(svc))["access_token"])


def test_revocation_rule_at_one_second_resolution():
    assert token_revoked(99, "s", 100, None) and not token_revoked(101, "s", 100, "")
    assert not token_revoked(100, "s", 100, None)  # a reset: that second's tokens pass
    assert token_revoked(100, "s", 100, "") and token_revoked(100, None, 100, "kept")  # sign-out, change
    assert not token_revoked(100, "kept", 100, "kept") and not token_revoked(5, "s", 0, None)


# --- phone change: the password again, the old phone told ---------------------------------------------------------

def test_phone_change_rechecks_the_password_and_tells_the_old_phone(citizen):
    svc = citizen
    me = caller_for(svc, sign_in.sign_in(svc, anonymous(), right(svc))["access_token"])
    token = otp_token(svc, "+84900000009", OtpPurpose.PHONE_CHANGE, me.subject)
    body = {"phone": "0900000009", "verification_token": token}
    assert refused(citizens.change_phone, svc, me, {**body, "password": "SaiMatKhau1"}).code == \
        "CURRENT_PASSWORD_WRONG"
    assert citizens.change_phone(svc, me, {**body, "password": NEW_PASSWORD})["phone"] == "+84900000009"
    to, text = svc.sms.sent[-1]
    assert to == CITIZEN_PHONE and "đã được đổi sang *********009" in text and "bộ phận một cửa" in text


def test_phone_change_otps_are_capped_per_account(citizen):
    svc = citizen
    me = caller_for(svc, sign_in.sign_in(svc, anonymous(), right(svc))["access_token"])
    codes = []
    for i in range(8):
        svc.clock.advance(seconds=61)
        try:
            otp_requests.request_otp(svc, me, {"phone": f"+8490{i:07d}", "purpose": "phone_change",
                                               "subject": me.subject})
            codes.append("sent")
        except AppError as err:
            codes.append(err.code)
    cap = svc.settings.otp.max_sends_per_account_hour
    assert codes == ["sent"] * cap + ["OTP_ACCOUNT_LIMIT"] * (8 - cap)


def test_account_creation_otps_are_capped_per_officer_and_per_client(svc):
    cap = svc.settings.otp.max_sends_per_officer_hour
    codes = set()
    for i in range(cap + 1):
        try:
            otp_requests.request_otp(svc, officer("off-a"), {"phone": f"+8490{i:07d}", "purpose": "account_creation",
                                                             "subject": f"0350950{i:05d}"})
        except AppError as err:
            codes.add(err.code)
    assert codes == {"OTP_ACCOUNT_LIMIT"}


# --- OTP verification for account creation needs the right (hardening) ------------------------------------------

def test_otp_verify_for_account_creation_needs_the_right_and_a_one_stop_unit(svc):
    seed_officer(svc, "off-noright", grant=False, id_number="001090005670", phone="0987654320")
    body = {"phone": CITIZEN_PHONE, "purpose": "account_creation", "subject": CITIZEN_ID, "code": "123456"}
    err = refused(otp_requests.verify_request, svc, officer("off-noright"), body)
    assert (err.status, err.code) == (403, "CREATE_RIGHT_MISSING")
    otp_requests.request_otp(svc, officer("off-a"), {k: v for k, v in body.items() if k != "code"})
    for _ in range(10):  # a pending code cannot be locked by someone without the right
        refused(otp_requests.verify_request, svc, officer("off-noright"), body)
    code = svc.sms.sent[-1][1][:6]
    assert otp_requests.verify_request(svc, officer("off-a"), {**body, "code": code})["verification_token"]


# --- forgotten password by OTP -----------------------------------------------------------------------------------

def test_reset_by_otp_to_the_account_phone_while_delayed(citizen):
    svc = citizen
    old = sign_in.sign_in(svc, anonymous(), right(svc))
    for _ in range(7):
        refused(sign_in.sign_in, svc, anonymous(), WRONG)
    sent = passwords.request_reset(svc, anonymous(), {"id_number": CITIZEN_ID})
    to, text = svc.sms.sent[-1]
    assert to == CITIZEN_PHONE and "đặt lại mật khẩu" in text and sent["expires_in_s"] == 120
    body = {"id_number": CITIZEN_ID, "code": text[:6], "new_password": "M0iDatLai!2026"}
    svc.clock.advance(seconds=30)  # the code typed in, a moment later
    assert refused(passwords.reset_password, svc, anonymous(), {**body, "new_password": "password1"}).errors[0].code \
        == "PASSWORD_TOO_COMMON"
    passwords.reset_password(svc, anonymous(), body)
    assert svc.sms.sent[-1][0] == CITIZEN_PHONE and "vừa được đặt lại" in svc.sms.sent[-1][1]
    with pytest.raises(AuthError):
        caller_for(svc, old["access_token"])
    assert sign_in.sign_in(svc, anonymous(), {"id_number": CITIZEN_ID, "password": "M0iDatLai!2026"})["access_token"]
    assert refused(passwords.reset_password, svc, anonymous(), body).code in ("OTP_USED", "OTP_INVALID")


def test_reset_answers_the_same_for_an_id_number_without_an_account(citizen):
    svc = citizen
    known = passwords.request_reset(svc, anonymous(), {"id_number": CITIZEN_ID})
    sent = len(svc.sms.sent)
    unknown = passwords.request_reset(svc, anonymous(), {"id_number": "001090001111"})
    assert known == unknown and len(svc.sms.sent) == sent  # nothing sent, same answer
    body = {"code": "000000", "new_password": "M0iDatLai!2026"}
    a = refused(passwords.reset_password, svc, anonymous(), {"id_number": "001090001111", **body})
    wrong = "000000" if svc.sms.sent[-1][1][:6] != "000000" else "111111"
    b = refused(passwords.reset_password, svc, anonymous(), {"id_number": CITIZEN_ID, **body, "code": wrong})
    assert (a.status, a.code, a.detail) == (b.status, b.code, b.detail) == \
        (422, "OTP_INVALID", "Mã OTP không đúng. Bạn còn 4 lần thử.")
    svc.clock.advance(seconds=10)
    assert refused(passwords.request_reset, svc, anonymous(), {"id_number": "001090001111"}).code == \
        refused(passwords.request_reset, svc, anonymous(), {"id_number": CITIZEN_ID}).code == "OTP_RESEND_TOO_SOON"


def test_reset_codes_are_capped_per_client(svc):
    cap = svc.settings.otp.max_sends_per_client_hour
    for i in range(cap):
        passwords.request_reset(svc, anonymous("203.0.113.30"), {"id_number": f"0010900{i:05d}"})
    err = refused(passwords.request_reset, svc, anonymous("203.0.113.30"), {"id_number": "001090099999"})
    assert err.code == "OTP_CLIENT_LIMIT"


# --- staff: the directory decides ----------------------------------------------------------------------------------

def test_staff_roles_follow_the_directory_and_its_groups(svc):
    officers.register_user(svc, admin(), {"user_id": "Off-New", "full_name": "Lê Văn Công", "phone": "0987654329",
                                          "id_number": "001090005671", "issuer": "portal"})
    assert svc.users.groups_of("off-new") == []  # user names are lower-cased; no role before a unit
    me = staff_caller(svc, "off-new")
    assert me.subject == "off-new" and me.roles == frozenset()
    officers.assign_unit(svc, admin(), "off-new", {"unit_code": ONE_STOP_UNIT})
    assert svc.users.groups_of("off-new") == ["officer"]
    me = caller_for(svc, sign_in.staff_sign_in(svc, anonymous(), {"username": "OFF-NEW",
                                                                  "password": NEW_PASSWORD})["access_token"])
    assert me.roles == {"officer"}
    officers.remove_unit(svc, admin(), "off-new", ONE_STOP_UNIT)
    assert svc.users.groups_of("off-new") == []
    assert caller_for(svc, me.access_token).roles == frozenset()  # the token still says officer: not honoured


def test_a_locked_or_deleted_staff_user_is_refused_at_once(svc):
    me = staff_caller(svc, "off-a")
    assert me.roles == {"officer"}
    officers.set_status(svc, admin(), "off-a", {"status": "locked"})
    with pytest.raises(AuthError) as exc:
        caller_for(svc, me.access_token)
    assert exc.value.code == "TOKEN_REVOKED" and svc.users.users["off-a"]["enabled"] is False
    officers.set_status(svc, admin(), "off-a", {"status": "active"})
    assert caller_for(svc, me.access_token).roles == {"officer"}
    officers.delete_user(svc, admin(), "off-a")
    with pytest.raises(AuthError):
        caller_for(svc, me.access_token)
    assert "off-a" not in svc.users.users and svc.directory.get_user("off-a").status == "deleted"


def test_a_province_administrators_province_comes_from_the_directory(svc):
    officers.register_staff(svc, "ops", {"user_id": "pa-35", "full_name": "Đỗ Thị Hoa", "phone": "0987654330",
                                         "id_number": "001090005672", "issuer": "portal"}, ("province_admin",),
                            "000.00.00.H35")
    me = staff_caller(svc, "pa-35")
    assert me.roles == {"province_admin"} and me.province_code == "000.00.00.H35"
    principal = svc.users.principal(me.access_token)
    assert principal.province_code is None  # nothing from the token
    assert check_principal(svc, principal).province_code == "000.00.00.H35"
    with pytest.raises(ValueError):
        officers.register_staff(svc, "ops", {"user_id": "pa-x", "full_name": "A", "phone": "0987654331",
                                             "id_number": "001090005673", "issuer": "portal"}, ("province_admin",),
                                "35")


def test_a_citizen_token_with_a_staff_group_grants_nothing(citizen):
    svc = citizen
    username = svc.keys.id_hash(CITIZEN_ID)
    svc.users.add_to_group(username, "operator")
    p = svc.users.principal(sign_in.sign_in(svc, anonymous(), right(svc))["access_token"])
    assert check_principal(svc, p).roles == {Role.CITIZEN}


def test_user_names_that_look_like_id_numbers_are_refused(svc):
    err = refused(officers.register_user, svc, admin(), {"user_id": "035095001234", "full_name": "A",
                                                         "phone": "0987654329", "id_number": "001090005671",
                                                         "issuer": "portal"})
    assert err.errors[0].code == "USER_ID_IS_ID_NUMBER"


def test_a_staff_sign_out_refuses_the_users_tokens(svc):
    me = staff_caller(svc, "off-a")
    sign_in.sign_out(svc, me)
    with pytest.raises(AuthError) as exc:
        caller_for(svc, me.access_token)
    assert exc.value.code == "TOKEN_REVOKED"
    assert svc.directory.get_user("off-a").valid_after > 0
    officers.assign_unit(svc, admin(), "off-a", {"unit_code": ONE_STOP_UNIT})  # the record moved: still fine


def test_a_province_administrator_manages_the_units_of_their_province(svc):
    officers.register_staff(svc, "ops", {"user_id": "pa-h35", "full_name": "Đỗ Thị Hoa", "phone": "0987654333",
                                         "id_number": "001090005674", "issuer": "portal"}, ("province_admin",),
                            "000.00.00.H35")
    me = staff_caller(svc, "pa-h35")
    assert officers.create_unit(svc, me, {"code": "000.00.44.H35", "name": "Bộ phận một cửa xã Thanh Liêm"})


def test_granting_the_right_repairs_a_lost_officer_group(svc):
    svc.users.remove_from_group("off-a", "officer")  # e.g. someone edited the pool by hand
    officers.revoke_right(svc, admin(), "off-a", "create_citizen_accounts")
    officers.grant_right(svc, admin(), "off-a", "create_citizen_accounts")
    assert svc.users.groups_of("off-a") == ["officer"]
