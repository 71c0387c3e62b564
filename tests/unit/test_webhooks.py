"""Standard Webhooks verification for partner calls: the specification's vector, tampering, rotation, clock."""
from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from chalicelib.core.webhooks import SignatureError, sign_webhook, verify_webhook

# Known-answer vector from the Standard Webhooks specification.
SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TS = 1614265330
SPEC_BODY = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

OLD_SECRET = "whsec_" + base64.b64encode(b"old-secret-of-the-tax-authority!").decode()
NEW_SECRET = "whsec_" + base64.b64encode(b"new-secret-of-the-tax-authority!").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"a secret nobody configured here.").decode()

BODY = '{"dossier_code": "000.00.43.H35-210520-0001", "payer_name": "Nguyễn Thị Trang"}'.encode()
TS = 1_700_000_000


def spec_headers(**overrides: str) -> dict[str, str]:
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TS), "webhook-signature": SPEC_SIGNATURE}
    headers.update(overrides)
    return headers


def refused(body: bytes, headers: dict[str, str], secrets: list[str], now: int = TS) -> str:
    with pytest.raises(SignatureError) as info:
        verify_webhook(body, headers, secrets, now=now)
    return info.value.reason


# --- the specification's vector -------------------------------------------------------------------------------

def test_sign_matches_the_specification_vector():
    assert sign_webhook(SPEC_BODY, SPEC_SECRET, SPEC_ID, SPEC_TS) == spec_headers()


def test_verify_accepts_the_specification_vector_and_returns_the_id():
    assert verify_webhook(SPEC_BODY, spec_headers(), [SPEC_SECRET], now=SPEC_TS) == SPEC_ID


def test_vector_recomputed_independently_with_hmac():
    key = base64.b64decode(SPEC_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{SPEC_ID}.{SPEC_TS}.".encode() + SPEC_BODY, hashlib.sha256).digest()
    assert "v1," + base64.b64encode(digest).decode() == SPEC_SIGNATURE


def test_agrees_with_the_standardwebhooks_package_both_ways():
    now = int(time.time())
    headers = sign_webhook(BODY, NEW_SECRET, "msg_1", now)
    Webhook(NEW_SECRET).verify(BODY, headers, json_parse=False)  # the package accepts what we sign
    theirs = Webhook(NEW_SECRET).sign("msg_2", datetime.fromtimestamp(now, timezone.utc), BODY.decode())
    ours = {"webhook-id": "msg_2", "webhook-timestamp": str(now), "webhook-signature": theirs}
    assert verify_webhook(BODY, ours, [NEW_SECRET], now=now) == "msg_2"  # we accept what the package signs
    with pytest.raises(WebhookVerificationError):
        Webhook(OTHER_SECRET).verify(BODY, headers, json_parse=False)


# --- tampering and wrong secrets ------------------------------------------------------------------------------

def test_tampered_body_is_refused():
    assert refused(b'{"test": 2432232315}', spec_headers(), [SPEC_SECRET], now=SPEC_TS) == "no matching signature"


def test_reserialised_body_is_refused_because_the_raw_bytes_are_signed():
    assert refused(b'{"test":2432232314}', spec_headers(), [SPEC_SECRET], now=SPEC_TS) == "no matching signature"


def test_tampered_id_or_timestamp_is_refused():
    assert refused(SPEC_BODY, spec_headers(**{"webhook-id": "msg_other"}), [SPEC_SECRET], now=SPEC_TS)
    headers = spec_headers(**{"webhook-timestamp": str(SPEC_TS + 1)})
    assert refused(SPEC_BODY, headers, [SPEC_SECRET], now=SPEC_TS) == "no matching signature"


def test_wrong_secret_is_refused():
    assert refused(SPEC_BODY, spec_headers(), [OTHER_SECRET], now=SPEC_TS) == "no matching signature"


def test_non_utf8_body_is_verified_as_bytes():
    body = b"\xff\xfe binary \x00"
    headers = sign_webhook(body, NEW_SECRET, "msg_bin", TS)
    assert verify_webhook(body, headers, [NEW_SECRET], now=TS) == "msg_bin"


# --- key rotation ---------------------------------------------------------------------------------------------

def two_signatures(body: bytes, first: str, second: str) -> dict[str, str]:
    a = sign_webhook(body, first, "msg_rot", TS)
    b = sign_webhook(body, second, "msg_rot", TS)
    return {**a, "webhook-signature": f"{a['webhook-signature']} {b['webhook-signature']}"}


@pytest.mark.parametrize("configured", [[OLD_SECRET], [NEW_SECRET], [OLD_SECRET, NEW_SECRET], [NEW_SECRET, OLD_SECRET]])
def test_rotation_two_signatures_any_configured_secret_matches(configured):
    headers = two_signatures(BODY, OLD_SECRET, NEW_SECRET)
    assert verify_webhook(BODY, headers, configured, now=TS) == "msg_rot"


@pytest.mark.parametrize("signer", [OLD_SECRET, NEW_SECRET])
def test_rotation_two_secrets_one_signature(signer):
    headers = sign_webhook(BODY, signer, "msg_rot", TS)
    assert verify_webhook(BODY, headers, [OLD_SECRET, NEW_SECRET], now=TS) == "msg_rot"


def test_rotation_unknown_signatures_are_refused():
    headers = two_signatures(BODY, OTHER_SECRET, SPEC_SECRET)
    assert refused(BODY, headers, [OLD_SECRET, NEW_SECRET]) == "no matching signature"


def test_signature_header_tolerates_extra_spaces_and_unknown_versions():
    good = sign_webhook(BODY, NEW_SECRET, "msg_x", TS)
    headers = {**good, "webhook-signature": f"v2,abc  v1a,xyz v1,!!! {good['webhook-signature']} "}
    assert verify_webhook(BODY, headers, [NEW_SECRET], now=TS) == "msg_x"


def test_signature_of_another_version_is_not_accepted():
    good = sign_webhook(BODY, NEW_SECRET, "msg_x", TS)["webhook-signature"]
    headers = {**sign_webhook(BODY, NEW_SECRET, "msg_x", TS), "webhook-signature": "v1a," + good[3:]}
    assert refused(BODY, headers, [NEW_SECRET]) == "no matching signature"


@pytest.mark.parametrize("signature", ["v1", "v1,", ",", "v1,a,b", "v1,%%%", "garbage"])
def test_malformed_signature_entries_raise_signature_error_only(signature):
    headers = {**sign_webhook(BODY, NEW_SECRET, "msg_x", TS), "webhook-signature": signature}
    assert refused(BODY, headers, [NEW_SECRET]) == "no matching signature"


def test_too_many_signatures_are_refused():
    good = sign_webhook(BODY, NEW_SECRET, "msg_x", TS)
    headers = {**good, "webhook-signature": " ".join([good["webhook-signature"]] * 11)}
    assert refused(BODY, headers, [NEW_SECRET]) == "too many signatures"


# --- clock ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("skew", [-300, -1, 0, 1, 300])
def test_timestamp_within_300_seconds_is_accepted(skew):
    headers = sign_webhook(BODY, NEW_SECRET, "msg_t", TS)
    assert verify_webhook(BODY, headers, [NEW_SECRET], now=TS + skew) == "msg_t"


def test_timestamp_301_seconds_old_is_refused():
    headers = sign_webhook(BODY, NEW_SECRET, "msg_t", TS)
    assert refused(BODY, headers, [NEW_SECRET], now=TS + 301) == "timestamp too old"


def test_timestamp_301_seconds_in_the_future_is_refused():
    headers = sign_webhook(BODY, NEW_SECRET, "msg_t", TS)
    assert refused(BODY, headers, [NEW_SECRET], now=TS - 301) == "timestamp too new"


def test_default_clock_is_the_system_clock():
    assert refused(SPEC_BODY, spec_headers(), [SPEC_SECRET], now=None) == "timestamp too old"
    headers = sign_webhook(BODY, NEW_SECRET, "msg_now", int(time.time()))
    assert verify_webhook(BODY, headers, [NEW_SECRET]) == "msg_now"


@pytest.mark.parametrize("raw", ["1700000000.0", "1700000000.5", "1.7e9", "abc", "-1700000000", "+1700000000",
                                 "1700000000 1", "١٧٠٠٠٠٠٠٠٠", "0x6553f100", "1" * 40])
def test_timestamp_that_is_not_an_integer_is_refused(raw):
    headers = {**sign_webhook(BODY, NEW_SECRET, "msg_t", TS), "webhook-timestamp": raw}
    assert refused(BODY, headers, [NEW_SECRET]) == "timestamp is not an integer"


# --- headers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(name):
    headers = sign_webhook(BODY, NEW_SECRET, "msg_h", TS)
    del headers[name]
    assert refused(BODY, headers, [NEW_SECRET]) == f"missing header {name}"


@pytest.mark.parametrize("name", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_empty_header_is_refused(name):
    headers = {**sign_webhook(BODY, NEW_SECRET, "msg_h", TS), name: "  "}
    assert refused(BODY, headers, [NEW_SECRET]) == f"missing header {name}"


def test_no_headers_at_all_is_refused():
    assert refused(BODY, {}, [NEW_SECRET]).startswith("missing header")


def test_header_names_are_case_insensitive():
    headers = {k.title(): v for k, v in sign_webhook(BODY, NEW_SECRET, "msg_c", TS).items()}
    assert set(headers) == {"Webhook-Id", "Webhook-Timestamp", "Webhook-Signature"}
    assert verify_webhook(BODY, headers, [NEW_SECRET], now=TS) == "msg_c"
    upper = {k.upper(): v for k, v in sign_webhook(BODY, NEW_SECRET, "msg_c", TS).items()}
    assert verify_webhook(BODY, upper, [NEW_SECRET], now=TS) == "msg_c"


# --- configuration --------------------------------------------------------------------------------------------

def test_no_configured_secret_is_refused():
    assert refused(SPEC_BODY, spec_headers(), [], now=SPEC_TS) == "no secret configured"


@pytest.mark.parametrize("secret", ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_!!!!MfKQ9r8GKYqrTwjUPD8I"])
def test_malformed_configured_secret_is_a_configuration_error(secret):
    with pytest.raises(ValueError):
        verify_webhook(SPEC_BODY, spec_headers(), [secret], now=SPEC_TS)
    with pytest.raises(ValueError):
        sign_webhook(SPEC_BODY, secret, SPEC_ID, SPEC_TS)


def test_a_single_string_instead_of_a_list_of_secrets_is_rejected():
    with pytest.raises(TypeError):
        verify_webhook(SPEC_BODY, spec_headers(), SPEC_SECRET, now=SPEC_TS)  # type: ignore[arg-type]


def test_unpadded_secret_is_accepted():
    unpadded = NEW_SECRET.rstrip("=")
    assert unpadded != NEW_SECRET
    headers = sign_webhook(BODY, NEW_SECRET, "msg_p", TS)
    assert verify_webhook(BODY, headers, [unpadded], now=TS) == "msg_p"


def test_signature_error_carries_a_short_reason():
    error = SignatureError("timestamp too old")
    assert isinstance(error, Exception) and error.reason == "timestamp too old" and str(error) == "timestamp too old"
