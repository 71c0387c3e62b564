"""M8 OTP rules through the use cases with in-memory fakes and an injected clock: validity to the second, single use,
only the newest code, attempts counted across resends, brute force bounded, every send limit, nothing in clear."""
from __future__ import annotations

import io
import logging
import random

import pytest

from chalicelib.core.errors import AppError
from chalicelib.core.words import retry_text
from chalicelib.otp import services as otp_cases
from chalicelib.otp.domain import OtpPolicy, OtpPurpose, new_code, send_windows
from tests.fakes_accounts import InMemoryDirectory, make_account_services

PHONE = "+84912345678"
OTHER_PHONE = "+84987654321"
SUBJECT = "035095001234"
P = OtpPurpose.ACCOUNT_CREATION


class Codes:
    """Injected code source: each send takes the next code, so a test knows what the SMS said."""

    def __init__(self, *codes: str) -> None:
        self.codes = list(codes)
        self.sent: list[str] = []

    def __call__(self) -> str:
        code = self.codes.pop(0) if self.codes else new_code()
        self.sent.append(code)
        return code


@pytest.fixture()
def codes():
    return Codes("111111", "222222", "333333", "444444", "555555", "666666")


@pytest.fixture()
def svc(codes):
    return make_account_services(new_code=codes)


def issue(svc, phone=PHONE, purpose=P, subject=SUBJECT):
    return otp_cases.issue_otp(svc, phone, purpose, subject)


def verify(svc, code, phone=PHONE, purpose=P, subject=SUBJECT):
    return otp_cases.verify_otp(svc, phone, purpose, subject, code)


def refused(fn, *args, **kw) -> AppError:
    with pytest.raises(AppError) as exc:
        fn(*args, **kw)
    return exc.value


# --- validity and single use -------------------------------------------------------------------------------------

def test_code_is_six_digits_from_the_csprng():
    seen = {new_code() for _ in range(2000)}
    assert all(len(c) == 6 and c.isdigit() for c in seen)
    assert len(seen) > 1900  # not a constant, not a tiny space


def test_accepted_at_119_seconds(svc):
    issue(svc)
    svc.clock.advance(seconds=119)
    answer = verify(svc, "111111")
    assert len(answer["verification_token"]) >= 40 and answer["expires_in_s"] == 600


def test_accepted_at_exactly_120_seconds(svc):
    issue(svc)
    svc.clock.advance(seconds=120)
    assert verify(svc, "111111")["verification_token"]


def test_refused_at_120_seconds_plus_one(svc):
    issue(svc)
    svc.clock.advance(seconds=121)
    err = refused(verify, svc, "111111")
    assert (err.code, err.status) == ("OTP_EXPIRED", 422)


def test_refused_just_after_120_seconds(svc):
    issue(svc)
    svc.clock.advance(seconds=120, milliseconds=1)
    assert refused(verify, svc, "111111").code == "OTP_EXPIRED"


def test_ttl_is_configurable(codes):
    from chalicelib.config import Settings

    svc = make_account_services(new_code=codes, settings=Settings(otp=OtpPolicy(ttl_s=30)))
    issue(svc)
    svc.clock.advance(seconds=31)
    assert refused(verify, svc, "111111").code == "OTP_EXPIRED"


def test_reuse_is_refused(svc):
    issue(svc)
    verify(svc, "111111")
    err = refused(verify, svc, "111111")
    assert (err.code, err.status) == ("OTP_USED", 409)


def test_old_code_refused_after_resend_and_new_one_accepted(svc):
    issue(svc)
    svc.clock.advance(seconds=61)
    issue(svc)
    assert refused(verify, svc, "111111").code == "OTP_INVALID"
    assert verify(svc, "222222")["verification_token"]


def test_code_for_one_purpose_subject_or_phone_does_not_unlock_another(svc):
    issue(svc)
    assert refused(verify, svc, "111111", purpose=OtpPurpose.PHONE_CHANGE).code == "OTP_INVALID"
    assert refused(verify, svc, "111111", subject="001090005678").code == "OTP_INVALID"
    assert refused(verify, svc, "111111", phone=OTHER_PHONE).code == "OTP_INVALID"
    assert verify(svc, "111111")


# --- a verification tells nothing to whoever does not hold the code (hardening: 404 vs 422) ----------------------

def _answer(err: AppError) -> tuple:
    return err.status, err.code, err.detail, err.extra.get("attempts_left")


def test_a_wrong_code_is_answered_the_same_whether_a_code_is_pending_or_not(svc):
    never_sent = refused(verify, svc, "999999", subject="001090005678")
    issue(svc)
    pending = refused(verify, svc, "999999")
    assert _answer(never_sent) == _answer(pending) == (422, "OTP_INVALID", "Mã OTP không đúng. Bạn còn 4 lần thử.", 4)
    for _ in range(3):
        refused(verify, svc, "999999", subject="001090005678")
        refused(verify, svc, "999999")
    assert _answer(refused(verify, svc, "999999", subject="001090005678"))[:2] == \
        _answer(refused(verify, svc, "999999"))[:2] == (429, "OTP_LOCKED")


def test_expired_and_used_codes_are_told_only_to_the_holder_of_the_right_code(svc):
    issue(svc)
    assert verify(svc, "111111")["verification_token"]
    assert refused(verify, svc, "111111").code == "OTP_USED"
    assert refused(verify, svc, "999999").code == "OTP_INVALID"
    svc.clock.advance(seconds=61)
    issue(svc)
    svc.clock.advance(seconds=121)
    assert refused(verify, svc, "222222").code == "OTP_EXPIRED"
    assert refused(verify, svc, "999999").code == "OTP_INVALID"


# --- sends capped per account and per client, besides per phone (hardening: SMS pumping) -------------------------

def test_sends_are_capped_per_account_whatever_the_phone(svc):
    policy = svc.settings.otp
    for i in range(policy.max_sends_per_account_hour):
        otp_cases.issue_otp(svc, f"+8490000{i:04d}", OtpPurpose.PHONE_CHANGE, "acc-1", account="acc-1")
    err = refused(otp_cases.issue_otp, svc, "+84900009999", OtpPurpose.PHONE_CHANGE, "acc-1", account="acc-1")
    assert (err.status, err.code) == (429, "OTP_ACCOUNT_LIMIT") and int(err.headers["Retry-After"]) > 0
    otp_cases.issue_otp(svc, "+84900009999", OtpPurpose.PHONE_CHANGE, "acc-2", account="acc-2")  # another account


def test_an_officer_may_send_more_but_not_without_bound(svc):
    policy = svc.settings.otp
    for i in range(policy.max_sends_per_officer_hour):
        otp_cases.issue_otp(svc, f"+8490000{i:04d}", P, f"0350950{i:05d}", account="off-1", officer=True)
    err = refused(otp_cases.issue_otp, svc, "+84900009999", P, "035095099999", account="off-1", officer=True)
    assert err.code == "OTP_ACCOUNT_LIMIT"


def test_sends_are_capped_per_client_across_accounts(svc):
    policy = svc.settings.otp
    for i in range(policy.max_sends_per_client_hour):
        otp_cases.issue_otp(svc, f"+8490000{i:04d}", OtpPurpose.PHONE_CHANGE, f"acc-{i}", account=f"acc-{i}",
                            client="203.0.113.5")
    err = refused(otp_cases.issue_otp, svc, "+84900009999", OtpPurpose.PHONE_CHANGE, "acc-x", account="acc-x",
                  client="203.0.113.5")
    assert err.code == "OTP_CLIENT_LIMIT"
    otp_cases.issue_otp(svc, "+84900009999", OtpPurpose.PHONE_CHANGE, "acc-x", account="acc-x", client="203.0.113.6")


def test_a_withheld_code_keeps_the_limits_and_sends_nothing(svc):
    otp_cases.issue_otp(svc, "-", OtpPurpose.PASSWORD_RESET, "user-hash", account="user-hash", deliver=False)
    assert svc.sms.sent == []
    assert refused(otp_cases.issue_otp, svc, "-", OtpPurpose.PASSWORD_RESET, "user-hash", account="user-hash",
                   deliver=False).code == "OTP_RESEND_TOO_SOON"


def test_wrong_code_says_how_many_attempts_are_left(svc):
    issue(svc)
    err = refused(verify, svc, "999999")
    assert (err.code, err.status, err.extra["attempts_left"]) == ("OTP_INVALID", 422, 4)
    assert "4 lần" in err.detail


# --- brute force -------------------------------------------------------------------------------------------------

def test_lockout_after_five_failures_even_for_the_right_code(svc):
    issue(svc)
    for _ in range(4):
        refused(verify, svc, "000000")
    fifth = refused(verify, svc, "000000")
    assert (fifth.code, fifth.status) == ("OTP_LOCKED", 429)
    err = refused(verify, svc, "111111")
    assert (err.code, err.status) == ("OTP_LOCKED", 429)
    assert int(err.headers["Retry-After"]) > 0 and "thử lại sau" in err.detail


def test_failures_are_still_counted_after_a_resend(svc):
    issue(svc)
    for _ in range(3):
        refused(verify, svc, "000000")
    svc.clock.advance(seconds=61)
    issue(svc)  # a new code does not buy new guesses
    assert refused(verify, svc, "000000").extra["attempts_left"] == 1
    assert refused(verify, svc, "000000").code == "OTP_LOCKED"
    assert refused(verify, svc, "222222").code == "OTP_LOCKED"  # the right (new) code is refused too


def test_no_new_code_while_locked_out_then_a_fresh_count_after_the_lockout(svc):
    issue(svc)
    for _ in range(5):
        refused(verify, svc, "000000")
    svc.clock.advance(seconds=61)
    err = refused(issue, svc)
    assert (err.code, err.status) == ("OTP_LOCKED", 429)
    assert 800 <= int(err.headers["Retry-After"]) <= 900
    svc.clock.advance(seconds=900)
    issue(svc)
    assert verify(svc, "222222")["verification_token"]


def test_success_resets_the_attempt_count(svc):
    issue(svc)
    for _ in range(4):
        refused(verify, svc, "000000")
    verify(svc, "111111")
    svc.clock.advance(seconds=61)
    issue(svc)
    assert refused(verify, svc, "000000").extra["attempts_left"] == 4


def test_ten_thousand_random_guesses_against_one_code_never_succeed(svc, codes):
    issue(svc)
    real = codes.sent[0]
    rng = random.Random(20260520)
    wins = 0
    for i in range(10_000):
        guess = f"{rng.randrange(10**6):06d}"
        if i < 5 and guess == real:  # the five guesses that are judged are wrong ones, by construction
            guess = f"{(int(guess) + 1) % 10**6:06d}"
        try:
            verify(svc, guess)
            wins += 1
        except AppError as err:
            assert err.code in ("OTP_INVALID", "OTP_LOCKED")
    assert wins == 0
    assert refused(verify, svc, real).code == "OTP_LOCKED"  # even the right code, once the guesses are spent


def _burst(svc, guesses):
    import threading

    outcomes, barrier, lock = [], threading.Barrier(len(guesses)), threading.Lock()

    def attempt(code):
        barrier.wait()
        try:
            verify(svc, code)
            outcome = "ok"
        except AppError as err:
            outcome = err.code
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=attempt, args=(g,)) for g in guesses]
    [t.start() for t in threads]
    [t.join() for t in threads]
    return outcomes


def test_concurrent_wrong_guesses_are_each_counted_before_being_judged():
    """Thirty simultaneous wrong guesses: exactly five are judged, the rest find the code locked."""
    svc = make_account_services(new_code=Codes("123456"))
    issue(svc)
    outcomes = _burst(svc, [f"{n:06d}" for n in range(30)])
    assert outcomes.count("OTP_INVALID") == 4 and outcomes.count("OTP_LOCKED") == 26
    assert svc.otp.get(svc.keys.otp_key(PHONE, P.value, SUBJECT)).attempts == 5
    assert refused(verify, svc, "123456").code == "OTP_LOCKED"


def test_concurrent_verifications_of_the_right_code_succeed_once():
    svc = make_account_services(new_code=Codes("123456"))
    issue(svc)
    outcomes = _burst(svc, ["123456"] * 10)
    assert outcomes.count("ok") == 1
    assert set(outcomes) - {"ok"} <= {"OTP_USED", "OTP_LOCKED"}


# --- send limits -------------------------------------------------------------------------------------------------

def test_resend_cooldown(svc):
    issue(svc)
    svc.clock.advance(seconds=30)
    err = refused(issue, svc)
    assert (err.code, err.status, err.headers["Retry-After"]) == ("OTP_RESEND_TOO_SOON", 429, "30")
    assert "30 giây" in err.detail
    svc.clock.advance(seconds=30)
    issue(svc)
    assert len(svc.sms.sent) == 2


def test_hourly_cap_per_phone_across_purposes_and_subjects(svc):
    for i in range(5):
        issue(svc, subject=f"00109000{5670 + i}")
    err = refused(issue, svc, subject="001090005699")
    assert (err.code, err.status) == ("OTP_HOURLY_LIMIT", 429)
    assert 0 < int(err.headers["Retry-After"]) <= 3600
    assert len(svc.sms.sent) == 5
    issue(svc, phone=OTHER_PHONE)  # another phone has its own counters


def test_daily_cap_per_phone(svc):
    for hour in range(10):
        issue(svc, subject=f"00109000{5600 + hour}")
        svc.clock.advance(hours=1)
    err = refused(issue, svc, subject="001090005699")
    assert (err.code, err.status) == ("OTP_DAILY_LIMIT", 429)
    assert "trong ngày" in err.detail
    svc.clock.advance(hours=5)  # 09:00 + 15 h = 00:00 the next day: a new day window
    issue(svc, subject="001090005698")


def test_a_refused_send_sends_nothing_and_keeps_the_valid_code(svc):
    issue(svc)
    refused(issue, svc)
    assert len(svc.sms.sent) == 1
    assert verify(svc, "111111")


# --- verification token ------------------------------------------------------------------------------------------

def test_token_is_bound_single_use_and_short_lived(svc):
    issue(svc)
    token = verify(svc, "111111")["verification_token"]
    d: InMemoryDirectory = svc.otp
    claim = otp_cases.token_claim(svc, PHONE, P, SUBJECT, token)
    assert d._claim_ok(claim)
    assert not d._claim_ok(otp_cases.token_claim(svc, OTHER_PHONE, P, SUBJECT, token))
    assert not d._claim_ok(otp_cases.token_claim(svc, PHONE, OtpPurpose.BANK_LINK, SUBJECT, token))
    assert not d._claim_ok(otp_cases.token_claim(svc, PHONE, P, "001090005678", token))
    svc.clock.advance(seconds=601)
    assert not d._claim_ok(otp_cases.token_claim(svc, PHONE, P, SUBJECT, token))


def test_a_resend_drops_an_unconsumed_token(svc):
    issue(svc)
    token = verify(svc, "111111")["verification_token"]
    svc.clock.advance(seconds=61)
    issue(svc)
    assert not svc.otp._claim_ok(otp_cases.token_claim(svc, PHONE, P, SUBJECT, token))


# --- nothing in clear --------------------------------------------------------------------------------------------

def test_no_clear_code_token_phone_or_id_in_stored_items_or_logs(svc, codes):
    stream = io.StringIO()

    class Everything(logging.Handler):  # the message and every extra field, in clear, before any masking
        def emit(self, record):
            stream.write(f"{record.getMessage()} {vars(record)!r}\n")

    handler = Everything()
    root = logging.getLogger("chalicelib")
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        issue(svc)
        refused(verify, svc, "999999")
        token = verify(svc, "111111")["verification_token"]
        svc.clock.advance(seconds=61)
        issue(svc)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    stored = "".join(f"{k}{v}" for k, v in svc.otp.raw_items().items())
    logged = stream.getvalue()
    assert "otp issued" in logged and "otp verified" in logged
    for secret in (*codes.sent, "999999", token, PHONE, PHONE[3:], SUBJECT):
        assert secret not in stored, secret
        assert secret not in logged, secret
    assert codes.sent[0] in svc.sms.sent[0][1]  # the SMS is the one place the code goes


def test_sms_is_vietnamese_and_says_how_long(svc, codes):
    issue(svc)
    phone, text = svc.sms.sent[0]
    assert phone == PHONE
    assert text.startswith("111111 là mã OTP để tạo tài khoản") and "2 phút" in text and "không cung cấp" in text


def test_windows_and_retry_text():
    from datetime import datetime

    from chalicelib.core.clock import VN_TZ

    w = send_windows(datetime(2026, 5, 20, 9, 59, 59, tzinfo=VN_TZ))
    assert (w.hour, w.day) == ("H#2026052009", "D#20260520")
    assert w.hour_ends_at - int(datetime(2026, 5, 20, 9, 59, 59, tzinfo=VN_TZ).timestamp()) == 1
    assert retry_text(30) == "30 giây" and retry_text(61) == "2 phút" and retry_text(3660) == "1 giờ 1 phút"
