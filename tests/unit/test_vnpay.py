"""VNPay-style IPN: canonical string and HMAC-SHA512, parsing, amounts, answers."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from chalicelib.payments.adapters.vnpay import (
    InvalidIpnError,
    IpnResult,
    build_ipn_params,
    ipn_response,
    parse_ipn,
    sign_params,
    verify_ipn,
)

SECRET = "SIMULATEDHASHSECRET0123456789ABC"

# Deliberately not in name order, with an empty vnp_ value, a non-vnp_ parameter and vnp_SecureHashType, all of
# which must be left out of the signature.
PARAMS = {
    "vnp_TxnRef": "PAY20210520000001",
    "vnp_OrderInfo": "TB-2021-000123 & Lệ phí, nhà đất",
    "vnp_Amount": "137850000",
    "vnp_TransactionStatus": "00",
    "utm_source": "ignored",
    "vnp_Bill_Mobile": "",
    "vnp_BankTranNo": "FT21140123456",
    "vnp_PayDate": "20210520100102",
    "vnp_SecureHashType": "HmacSHA512",
    "vnp_ResponseCode": "00",
    "vnp_TransactionNo": "14012345",
    "vnp_TmnCode": "DVCQG001",
    "vnp_CardType": "ATM",
    "vnp_BankCode": "MB",
}
# Written by hand: sorted by name, quote_plus-encoded (space "+", "&" "%26", "," "%2C", UTF-8 percent-escapes).
CANONICAL = (
    "vnp_Amount=137850000&vnp_BankCode=MB&vnp_BankTranNo=FT21140123456&vnp_CardType=ATM"
    "&vnp_OrderInfo=TB-2021-000123+%26+L%E1%BB%87+ph%C3%AD%2C+nh%C3%A0+%C4%91%E1%BA%A5t"
    "&vnp_PayDate=20210520100102&vnp_ResponseCode=00&vnp_TmnCode=DVCQG001&vnp_TransactionNo=14012345"
    "&vnp_TransactionStatus=00&vnp_TxnRef=PAY20210520000001"
)
# Computed once with `printf '%s' "$CANONICAL" | openssl dgst -sha512 -hmac "$SECRET"`.
EXPECTED_HASH = (
    "793c9a1fba63ca4087fe601c119b77e532707e9bfb5a2525553deed96a1662444858"
    "c4b6c751cb4c129c97a5e21dc2618588c1cf4351bb8f17d741d8144644db"
)


def signed(params: dict[str, str] | None = None, **changes: str) -> dict[str, str]:
    result = {**(PARAMS if params is None else params), **changes}
    result["vnp_SecureHash"] = sign_params(result, SECRET)
    return result


# --- signature ------------------------------------------------------------------------------------------------

def test_known_answer_vector_hand_built_canonical_string():
    assert hmac.new(SECRET.encode(), CANONICAL.encode(), hashlib.sha512).hexdigest() == EXPECTED_HASH
    assert sign_params(PARAMS, SECRET) == EXPECTED_HASH


def test_the_hash_itself_is_not_signed():
    assert sign_params({**PARAMS, "vnp_SecureHash": "whatever"}, SECRET) == EXPECTED_HASH


def test_verify_accepts_the_vector_in_either_case():
    assert verify_ipn({**PARAMS, "vnp_SecureHash": EXPECTED_HASH}, SECRET)
    assert verify_ipn({**PARAMS, "vnp_SecureHash": EXPECTED_HASH.upper()}, SECRET)


@pytest.mark.parametrize("field, value", [
    ("vnp_Amount", "137850100"),
    ("vnp_TxnRef", "PAY20210520000002"),
    ("vnp_ResponseCode", "24"),
    ("vnp_TransactionStatus", "02"),
    ("vnp_OrderInfo", "TB-2021-000123 & Lệ phí, nhà đât"),
    ("vnp_Bill_Mobile", "0912345678"),
    ("vnp_Extra", "added"),
])
def test_tampered_parameter_is_refused(field, value):
    assert not verify_ipn({**PARAMS, field: value, "vnp_SecureHash": EXPECTED_HASH}, SECRET)


def test_removed_parameter_is_refused():
    params = {k: v for k, v in PARAMS.items() if k != "vnp_BankCode"}
    assert not verify_ipn({**params, "vnp_SecureHash": EXPECTED_HASH}, SECRET)


def test_non_vnp_parameter_and_hash_type_do_not_matter():
    params = {**PARAMS, "utm_source": "changed", "vnp_SecureHashType": "SHA256", "vnp_SecureHash": EXPECTED_HASH}
    assert verify_ipn(params, SECRET)


def test_wrong_secret_is_refused():
    assert not verify_ipn({**PARAMS, "vnp_SecureHash": EXPECTED_HASH}, "ANOTHERSECRET")


@pytest.mark.parametrize("hash_value", [None, "", "00", EXPECTED_HASH[:-1], "é" * 128, EXPECTED_HASH + "0"])
def test_missing_or_malformed_hash_is_refused_without_exception(hash_value):
    params = dict(PARAMS)
    if hash_value is not None:
        params["vnp_SecureHash"] = hash_value
    assert verify_ipn(params, SECRET) is False


def test_empty_secret_is_a_configuration_error():
    with pytest.raises(ValueError):
        sign_params(PARAMS, "")


# --- parsing --------------------------------------------------------------------------------------------------

def test_parse_success():
    result = parse_ipn(signed())
    assert result == IpnResult(
        payment_id="PAY20210520000001",
        amount_vnd=1_378_500,
        success=True,
        response_code="00",
        transaction_status="00",
        bank_txn_ref="14012345",
        bank_code="MB",
        paid_at=datetime(2021, 5, 20, 3, 1, 2, tzinfo=timezone.utc),
    )
    assert result.paid_at.utcoffset() == timedelta(hours=7)
    assert result.paid_at.isoformat() == "2021-05-20T10:01:02+07:00"


def test_result_is_frozen():
    result = parse_ipn(signed())
    with pytest.raises(AttributeError):
        result.amount_vnd = 1  # type: ignore[misc]


def test_missing_transaction_status_still_succeeds():
    params = {k: v for k, v in signed().items() if k != "vnp_TransactionStatus"}
    assert parse_ipn(params).success is True
    assert parse_ipn(signed(vnp_TransactionStatus="")).success is True


@pytest.mark.parametrize("response_code, status",
                         [("24", "02"), ("11", "02"), ("00", "01"), ("00", "02"), ("51", "00")])
def test_anything_but_00_00_is_not_a_success(response_code, status):
    result = parse_ipn(signed(vnp_ResponseCode=response_code, vnp_TransactionStatus=status))
    assert result.success is False and result.response_code == response_code


@pytest.mark.parametrize("amount", ["137850050", "1", "99", "0", "000", "-137850000", "+137850000", "1.3785e8",
                                    "137850000.00", "abc", "", " 137850000", "１００", "1" * 30])
def test_bad_amount_is_refused_with_code_04(amount):
    with pytest.raises(InvalidIpnError) as info:
        parse_ipn(signed(vnp_Amount=amount))
    assert info.value.rsp_code == "04"


def test_missing_amount_is_refused_with_code_04():
    params = {k: v for k, v in PARAMS.items() if k != "vnp_Amount"}
    with pytest.raises(InvalidIpnError) as info:
        parse_ipn(params)
    assert info.value.rsp_code == "04"


@pytest.mark.parametrize("amount, vnd", [("100", 1), ("137850000", 1_378_500), ("0137850000", 1_378_500)])
def test_amount_is_divided_by_100(amount, vnd):
    assert parse_ipn(signed(vnp_Amount=amount)).amount_vnd == vnd


@pytest.mark.parametrize("field", ["vnp_TxnRef", "vnp_ResponseCode"])
def test_missing_required_field_is_refused_with_code_99(field):
    with pytest.raises(InvalidIpnError) as info:
        parse_ipn(signed(**{field: ""}))
    assert info.value.rsp_code == "99"


@pytest.mark.parametrize("pay_date", ["2021-05-20 10:01:02", "202105201001", "20211320100102", "20210230100102"])
def test_bad_pay_date_is_refused(pay_date):
    with pytest.raises(InvalidIpnError) as info:
        parse_ipn(signed(vnp_PayDate=pay_date))
    assert info.value.rsp_code == "99"


def test_optional_fields_may_be_absent():
    params = {k: v for k, v in PARAMS.items() if k not in ("vnp_PayDate", "vnp_BankCode", "vnp_TransactionNo")}
    result = parse_ipn(params)
    assert result.paid_at is None and result.bank_code is None and result.bank_txn_ref is None


# --- building (simulator) -------------------------------------------------------------------------------------

def test_build_ipn_params_round_trip():
    paid_at = datetime(2021, 5, 20, 3, 1, 2, tzinfo=timezone.utc)
    params = build_ipn_params(payment_id="PAY1", amount_vnd=1_378_500, hash_secret=SECRET,
                              bank_txn_ref="FT21140123456", paid_at=paid_at)
    assert params["vnp_Amount"] == "137850000"
    assert params["vnp_PayDate"] == "20210520100102"
    assert verify_ipn(params, SECRET)
    result = parse_ipn(params)
    assert (result.payment_id, result.amount_vnd, result.success, result.bank_txn_ref, result.paid_at) == (
        "PAY1", 1_378_500, True, "FT21140123456", paid_at)


def test_build_cancelled_ipn():
    params = build_ipn_params(payment_id="PAY1", amount_vnd=500_000, hash_secret=SECRET, response_code="24")
    assert verify_ipn(params, SECRET)
    result = parse_ipn(params)
    assert result.success is False
    assert (result.response_code, result.transaction_status) == ("24", "02")


# --- answers --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("code, message", [
    ("00", "Confirm Success"),
    ("01", "Order not found"),
    ("02", "Order already confirmed"),
    ("04", "Invalid amount"),
    ("97", "Invalid signature"),
    ("99", "Unknown error"),
])
def test_ipn_response(code, message):
    assert ipn_response(code) == {"RspCode": code, "Message": message}


def test_unknown_answer_code_is_a_programming_error():
    with pytest.raises(ValueError):
        ipn_response("05")


# --- payment URL and return URL ---------------------------------------------------------------------------------

from urllib.parse import parse_qsl, urlsplit  # noqa: E402

from chalicelib.payments.adapters.vnpay import (  # noqa: E402
    InvalidReturnError,
    PaymentUrlRequest,
    ascii_order_info,
    format_vnp_date,
    parse_return,
    payment_url,
    payment_url_params,
)

VN = timezone(timedelta(hours=7))
PAY_REQUEST = PaymentUrlRequest(
    payment_id="PAYH3501J", amount_vnd=1_378_500, order_info="Nộp lệ phí trước bạ nhà đất TB-2021-000123",
    return_url="https://dichvucong.gov.vn/thanh-toan/ket-qua?payment_id=PAYH3501J", ip_addr="203.113.1.20",
    created_at=datetime(2026, 11, 30, 23, 59, 58, tzinfo=VN),
    # Given in UTC on purpose: the URL must carry Vietnam time.
    expires_at=datetime(2026, 11, 30, 17, 14, 58, tzinfo=timezone.utc), tmn_code="DVCQG001",
)
# Written by hand: sorted by name, quote_plus-encoded; OrderInfo without diacritics or punctuation; dates GMT+7.
PAY_CANONICAL = (
    "vnp_Amount=137850000&vnp_Command=pay&vnp_CreateDate=20261130235958&vnp_CurrCode=VND"
    "&vnp_ExpireDate=20261201001458&vnp_IpAddr=203.113.1.20&vnp_Locale=vn"
    "&vnp_OrderInfo=Nop+le+phi+truoc+ba+nha+dat+TB+2021+000123&vnp_OrderType=other"
    "&vnp_ReturnUrl=https%3A%2F%2Fdichvucong.gov.vn%2Fthanh-toan%2Fket-qua%3Fpayment_id%3DPAYH3501J"
    "&vnp_TmnCode=DVCQG001&vnp_TxnRef=PAYH3501J&vnp_Version=2.1.0"
)
# `printf '%s' "$PAY_CANONICAL" | openssl dgst -sha512 -hmac "$SECRET"`
PAY_HASH = ("91883b933bbdfcb1bb95a43266ea15e82ac23f78aa736858fb0fe2aca31b32e708cbe90d86ac7cddd54b78502f024961868694c4ac"
            "1afd26d66b917ba975681a")


def test_payment_url_known_answer():
    url = payment_url("https://pay.example.vn/paymentv2/vpcpay.html", PAY_REQUEST, SECRET)
    assert url == f"https://pay.example.vn/paymentv2/vpcpay.html?{PAY_CANONICAL}&vnp_SecureHash={PAY_HASH}"


def test_payment_url_params_are_what_the_gateway_verifies():
    params = payment_url_params(PAY_REQUEST, SECRET)
    assert params["vnp_SecureHash"] == PAY_HASH
    assert verify_ipn(params, SECRET)  # the gateway's check: same canonical form as the IPN
    parsed = dict(parse_qsl(urlsplit(payment_url("https://gw/pay", PAY_REQUEST, SECRET)).query))
    assert parsed == params
    assert not verify_ipn({**params, "vnp_Amount": "100"}, SECRET)


def test_payment_url_amount_is_vnd_times_100_and_dates_are_gmt7():
    params = payment_url_params(PAY_REQUEST, SECRET)
    assert params["vnp_Amount"] == "137850000"
    assert (params["vnp_CreateDate"], params["vnp_ExpireDate"]) == ("20261130235958", "20261201001458")
    assert (params["vnp_Version"], params["vnp_Command"], params["vnp_CurrCode"], params["vnp_Locale"]) == (
        "2.1.0", "pay", "VND", "vn")


def test_payment_url_appends_to_a_gateway_url_with_a_query():
    assert "vpcpay.html?x=1&vnp_Amount=" in payment_url("https://gw/vpcpay.html?x=1", PAY_REQUEST, SECRET)


@pytest.mark.parametrize("change", [
    {"amount_vnd": 0}, {"amount_vnd": -5}, {"amount_vnd": True}, {"return_url": "javascript:alert(1)"},
    {"expires_at": datetime(2026, 11, 30, 23, 0, tzinfo=VN)}, {"order_info": "— … !"}, {"ip_addr": ""},
])
def test_payment_url_refuses_unusable_requests(change):
    from dataclasses import replace
    with pytest.raises(ValueError):
        payment_url_params(replace(PAY_REQUEST, **change), SECRET)


@pytest.mark.parametrize("text, ascii_text", [
    ("Nộp lệ phí trước bạ nhà đất TB-2021-000123", "Nop le phi truoc ba nha dat TB 2021 000123"),
    ("ĐẶNG Văn Đức — thuế TNCN", "DANG Van Duc thue TNCN"),
    ("  Thanh   toán\t& <script> ", "Thanh toan script"),
    ("x" * 300, "x" * 255),
])
def test_ascii_order_info(text, ascii_text):
    assert ascii_order_info(text) == ascii_text


def test_format_vnp_date_refuses_naive_times():
    with pytest.raises(ValueError):
        format_vnp_date(datetime(2026, 11, 30, 12, 0))
    assert format_vnp_date(datetime(2026, 11, 30, 17, 0, 1, tzinfo=timezone.utc)) == "20261201000001"


def test_return_url_is_verified_then_read():
    query = build_ipn_params(payment_id="PAYH3501J", amount_vnd=1_378_500, hash_secret=SECRET,
                             bank_txn_ref="14012345", paid_at=datetime(2026, 11, 30, 23, 59, 59, tzinfo=VN))
    result = parse_return(query, SECRET)
    assert (result.payment_id, result.amount_vnd, result.success, result.bank_txn_ref) == (
        "PAYH3501J", 1_378_500, True, "14012345")
    with pytest.raises(InvalidReturnError):
        parse_return({**query, "vnp_ResponseCode": "00", "vnp_Amount": "100"}, SECRET)
    with pytest.raises(InvalidReturnError):
        parse_return(query, "ANOTHER-SECRET")
