"""M3: initiate, read and cancel payment requests. One order (a land notice, or a tax debt prepared by the taxes
capability) per payment; at most one live payment per notice or debt."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from pydantic import Field

from chalicelib.core import access, banks, codes
from chalicelib.core.clock import VN_TZ, epoch
from chalicelib.core.errors import AppError, conflict, forbidden, not_found
from chalicelib.core.fields import BankCode
from chalicelib.core.parsing import parse
from chalicelib.payments.domain.notices import NOTICE_NUMBER_PATTERN, NoticeStatus
from chalicelib.payments.domain.payments import (
    LIVE_STATES,
    Payment,
    PaymentOrder,
    PaymentState,
    is_payment_id,
    new_payment_id,
    new_reference_number,
)
from chalicelib.payments.ports import (
    ConcurrentUpdateError,
    IdempotencyConflictError,
    IdempotencyRecord,
    NoticeBusyError,
    PaymentsContext,
    ReferenceTakenError,
)
from chalicelib.payments.services.lookup import LookupIn, find_dossier
from chalicelib.receipts.units import unit_code_for

ALLOWED_RETURN_SCHEMES = {"https"}
log = logging.getLogger(__name__)


class PaymentIn(LookupIn):
    notice_number: str = Field(min_length=1, max_length=64, pattern=NOTICE_NUMBER_PATTERN)
    bank_code: BankCode = Field(min_length=2, max_length=10)
    return_url: str | None = Field(default=None, max_length=500)


def _check_return_url(svc: PaymentsContext, url: str | None) -> None:
    if url is None:
        return
    parts = urlsplit(url)
    schemes = ALLOWED_RETURN_SCHEMES | ({"http"} if svc.settings.is_local else set())
    hosts = svc.settings.return_url_hosts
    # Browsers read "\\" as "/" and honour user-info ("a@b"): either could send the citizen to another host than
    # the one urlsplit reports, so both are refused outright, as are control characters.
    ambiguous = "\\" in url or "@" in parts.netloc or any(ord(c) < 33 for c in url)
    if ambiguous or parts.scheme not in schemes or not parts.hostname or (hosts and parts.hostname not in hosts):
        raise AppError(
            "RETURN_URL_NOT_ALLOWED",
            "Địa chỉ quay lại (return_url) không thuộc danh sách được phép.",
            422,
            "Dữ liệu không hợp lệ",
        )


def _request_hash(body: dict) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _key_hash(key: str, citizen_sub: str | None) -> str:
    # Scoped to the signed-in citizen when there is one, so one citizen's key can never replay another's answer.
    return hashlib.sha256(f"{citizen_sub or '-'}\x00{key}".encode()).hexdigest()


def _view(p: Payment, now_epoch: int) -> dict:
    out = {
        "payment_id": p.payment_id,
        "state": p.effective_state(now_epoch).value,
        "kind": p.kind,
        "amount_vnd": p.amount_vnd,
        "currency": p.currency,
        "notice_number": p.notice_number,
        "bank_code": p.bank_code,
        "created_at": p.created_at,
        "expires_at": _iso(p.expires_at),
    }
    optional = {"dossier_code": p.dossier_code, "reference_number": p.reference_number,
                "tax_payment_id": p.tax_payment_id, "receipt_id": p.receipt_id, "paid_at": p.paid_at}
    out.update({k: v for k, v in optional.items() if v})
    if p.refund_required:
        out["refund_required"] = True
    if p.refunds:
        out["refunds"] = [dict(r) for r in p.refunds]
    return out


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, VN_TZ).isoformat()


def initiate_payment(
    svc: PaymentsContext, body: dict, idempotency_key: str | None, citizen_sub: str | None,
    client_ip: str | None = None,
) -> tuple[int, dict]:
    """Create a payment request for a land notice; returns (status, body). Replays of an idempotency key return the
    first answer. ``client_ip``: the citizen's address, which the VNPay-style gateway wants in the signed payment
    URL."""
    req = parse(PaymentIn, body)
    _check_return_url(svc, req.return_url)
    key_hash = _idempotency_key_hash(idempotency_key, citizen_sub)
    req_hash = _request_hash(req.model_dump())
    direct = _goes_direct(svc, req.bank_code, citizen_sub)
    dossier = find_dossier(svc, req.dossier_code, req.id_number)
    if dossier.test:
        # A self-test dossier is paid by the test bank only (test_payments.py): no real bank ever gets it.
        raise conflict("TEST_DOSSIER_NOT_PAYABLE", "Hồ sơ kiểm thử tích hợp chỉ được thanh toán qua ngân hàng kiểm "
                       "thử của Cổng Dịch vụ công quốc gia, không qua ngân hàng thật.")
    notice = dossier.notices.get(req.notice_number)
    if notice is None:
        raise not_found("NOTICE_NOT_FOUND", "Không tìm thấy thông báo thuế trong hồ sơ.")
    status = notice.status(epoch(svc.clock.now()))
    if status != NoticeStatus.PAYABLE:
        replay = _replay(svc, key_hash, req_hash)
        if replay:
            return replay[0], _with_secret(svc, replay[1])
        if status == NoticeStatus.PAID:
            raise conflict("NOTICE_ALREADY_PAID", "Thông báo thuế này đã được thanh toán.")
        raise conflict("PAYMENT_IN_PROGRESS", "Thông báo thuế này đang có một giao dịch thanh toán chưa kết thúc.")
    order = land_order(svc, dossier, notice, req.id_number)
    if citizen_sub is None:
        # Paid through the anonymous lookup: filed under the payer's ID number (its hash only), so the citizen whose
        # account has that very number sees it in their history. A signed-in payment is filed under the account.
        order = order.model_copy(update={"payer_id_hash": svc.keys.id_hash(req.id_number)})
    return _start(svc, order, req.bank_code, req.return_url, direct, citizen_sub, key_hash, req_hash, client_ip)


def land_order(svc: PaymentsContext, dossier, notice, id_number: str) -> PaymentOrder:
    """A land notice as a payment order: the notice's own payer and items; the payer's ID number sealed for the
    province (the portal keeps it only as a hash), the notice's sealed phone for the paid SMS."""
    agency = codes.province_agency_code(dossier.dossier_code)
    return PaymentOrder(
        kind="land", collecting_unit=unit_code_for(agency), notice_number=notice.notice_number,
        amount_vnd=notice.total_vnd, items=notice.items, payer_name=notice.payer_name,
        payer_tax_code=notice.payer_tax_code, payer_address=notice.payer_address or dossier.property.get("address"),
        tax_payment_id=notice.tax_payment_id, dossier_code=dossier.dossier_code, notice_version=notice.version,
        payer_id_sealed=svc.sealer.seal(id_number.encode()), notify_phone_sealed=notice.payer_phone_sealed)


def start_payment(svc: PaymentsContext, order: PaymentOrder, *, bank_code: str, return_url: str | None,
                  idempotency_key: str | None, citizen_sub: str | None, fingerprint: dict,
                  client_ip: str | None = None) -> tuple[int, dict]:
    """The payment rails for an order another capability prepared (taxes: a tax debt). Same checks as a land
    payment: return URL, idempotency (``fingerprint`` is what makes two requests "the same"), single-sign-on
    banks need a linked account; the order's claim makes a second live payment of the same debt a 409."""
    bank = banks.get_bank(bank_code.upper()).code
    _check_return_url(svc, return_url)
    key_hash = _idempotency_key_hash(idempotency_key, citizen_sub)
    direct = _goes_direct(svc, bank, citizen_sub)
    return _start(svc, order, bank, return_url, direct, citizen_sub, key_hash, _request_hash(fingerprint),
                  client_ip)


def _start(svc: PaymentsContext, order: PaymentOrder, bank_code: str, return_url: str | None, direct: bool,
           citizen_sub: str | None, key_hash: str | None, req_hash: str,
           client_ip: str | None = None) -> tuple[int, dict]:
    now = svc.clock.now()
    payment = new_payment(svc, order, bank_code, now, return_url=return_url, citizen_sub=citizen_sub)
    payment = payment.model_copy(update={"redirect_url": svc.pay_pages.redirect_url(payment, direct, client_ip)})
    answer = {**_view(payment, epoch(now)), "redirect_url": payment.redirect_url}
    status, body = _store(svc, payment, answer, key_hash, req_hash, now)
    return status, _with_secret(svc, body)


def _with_secret(svc: PaymentsContext, answer: dict) -> dict:
    """The payer's access secret goes in the answer only (a replay recomputes it: it is never stored)."""
    return {**answer, "client_secret": access.client_secret(svc.hasher, answer["payment_id"])}


def _idempotency_key_hash(idempotency_key: str | None, citizen_sub: str | None) -> str | None:
    if idempotency_key is None:
        return None
    if not (1 <= len(idempotency_key) <= 255):
        raise AppError("IDEMPOTENCY_KEY_INVALID", "Khóa Idempotency-Key phải dài từ 1 đến 255 ký tự.", 400)
    return _key_hash(idempotency_key, citizen_sub)


def _goes_direct(svc: PaymentsContext, bank_code: str, citizen_sub: str | None) -> bool:
    """A signed-in citizen at a single-sign-on bank pays straight from the linked account, and needs one."""
    bank = banks.get_bank(bank_code)
    if not (citizen_sub and bank.code in svc.settings.sso_banks):
        return False
    if not svc.bank_links.is_linked(citizen_sub, bank.code):
        raise forbidden(
            "BANK_ACCOUNT_NOT_LINKED",
            "Người dùng chưa liên kết tài khoản thanh toán. Vui lòng liên kết tài khoản ngân hàng trước khi "
            "thanh toán.",
        )
    return True


def new_payment(svc: PaymentsContext, order: PaymentOrder, bank_code: str, now, *, return_url: str | None = None,
                citizen_sub: str | None = None, test: bool = False) -> Payment:
    """A new payment of ``order`` at ``bank_code`` (``test``: a self-test payment, at the test bank only)."""
    province = order.collecting_unit.rsplit(".", 1)[1]
    fields = order.model_dump(exclude={"on_paid", "collecting_unit"})
    return Payment(
        **fields,
        payment_id=new_payment_id(province, svc.new_id()),
        state=PaymentState.PENDING_BANK,
        collecting_unit=order.collecting_unit,
        on_paid=list(order.on_paid),
        reference_number=new_reference_number(now, f"{secrets.randbelow(10**9):09d}"),
        bank_code=banks.test_bank().code if test else banks.get_bank(bank_code).code,
        created_at=now.isoformat(),
        expires_at=epoch(now) + svc.settings.payment_ttl_minutes * 60,
        return_url=return_url,
        citizen_sub=citizen_sub,
        history=[{"state": "CREATED", "at": now.isoformat()}, {"state": "PENDING_BANK", "at": now.isoformat()}],
        test=test,
    )


def _store(svc: PaymentsContext, payment: Payment, answer: dict, key_hash: str | None, req_hash: str,
           now) -> tuple[int, dict]:
    """One transaction: the payment, the notice's claim and the idempotency record (a lost race replays or 409s)."""
    record = None
    if key_hash:
        ttl = now + timedelta(hours=svc.settings.idempotency_ttl_hours)
        record = IdempotencyRecord(key_hash, req_hash, 201, answer, epoch(ttl))
    try:
        _create(svc, payment, record, now)
    except (IdempotencyConflictError, NoticeBusyError) as exc:
        replay = _replay(svc, key_hash, req_hash)
        if replay:
            return replay
        detail = ("Thông báo thuế này đang có một giao dịch thanh toán chưa kết thúc."
                  if isinstance(exc, IdempotencyConflictError)
                  else "Thông báo thuế này vừa có giao dịch thanh toán khác hoặc đã thay đổi.")
        raise conflict("PAYMENT_IN_PROGRESS", detail) from None
    svc.count("PaymentsInitiated")
    return 201, answer


def _create(svc: PaymentsContext, payment: Payment, record: IdempotencyRecord | None, now) -> None:
    """The ledger refuses a reference number already taken: draw another (a clash is one in a billion a day)."""
    for _ in range(3):
        try:
            svc.ledger.create_payment(payment, record, epoch(now))
            return
        except ReferenceTakenError:
            payment = payment.model_copy(update={
                "reference_number": new_reference_number(now, f"{secrets.randbelow(10**9):09d}")})
    raise ReferenceTakenError(payment.reference_number)


def _replay(svc: PaymentsContext, key_hash: str | None, req_hash: str) -> tuple[int, dict] | None:
    if not key_hash:
        return None
    record = svc.ledger.get_idempotency(key_hash)
    if record is None:
        return None
    if record.request_hash != req_hash:
        raise conflict(
            "IDEMPOTENCY_KEY_REUSED", "Khóa Idempotency-Key đã được dùng cho một yêu cầu khác."
        )
    return record.status, record.body


def _load(svc: PaymentsContext, payment_id: str) -> Payment:
    if not is_payment_id(payment_id):
        raise not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")
    payment = svc.ledger.get_payment(payment_id)
    if payment is None:
        raise not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")
    return payment


def secret_required() -> AppError:
    return AppError("CLIENT_SECRET_REQUIRED", "Cần mã truy cập của giao dịch (client_secret, nhận được khi tạo giao "
                    "dịch) trong tiêu đề X-Client-Secret, hoặc đăng nhập bằng tài khoản đã tạo giao dịch.", 401,
                    "Chưa xác thực")


def load_accessible(svc: PaymentsContext, payment_id: str, secret: str | None, citizen_sub: str | None) -> Payment:
    """The payment, for its owner or the holder of its access secret. Anyone else - a wrong secret included -
    gets the answer an unknown payment gets."""
    if not secret and not citizen_sub:
        raise secret_required()
    payment = _load(svc, payment_id)
    owner = citizen_sub is not None and payment.citizen_sub == citizen_sub
    if not owner and not access.holds_secret(svc.hasher, payment.payment_id, secret):
        raise not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")
    return payment


def get_payment(svc: PaymentsContext, payment_id: str, secret: str | None = None,
                citizen_sub: str | None = None) -> dict:
    """The payment for its payer. While it waits for the bank, the citizen back from the bank's page (polling
    this) makes the bank be asked for the status, at most once per interval per payment; whatever goes wrong
    there, the citizen gets the payment as it stands."""
    payment = load_accessible(svc, payment_id, secret, citizen_sub)
    if payment.state == PaymentState.PENDING_BANK:
        payment = _refreshed(svc, payment)
    return _view(payment, epoch(svc.clock.now()))


def _refreshed(svc: PaymentsContext, payment: Payment) -> Payment:
    try:
        return svc.status_refresh(payment) or payment
    except Exception:  # logged, and invisible to the citizen by design: the schedule asks again
        log.warning("status refresh failed", exc_info=True, extra={"payment_id": payment.payment_id})
        return payment


def cancel_payment(svc: PaymentsContext, payment_id: str, citizen_sub: str | None = None,
                   secret: str | None = None) -> dict:
    """The payer gives up before paying at the bank: the notice becomes payable again at once.
    A payment started by a signed-in citizen can only be cancelled by that citizen; an anonymous one by whoever holds
    its access secret (a stranger who learns the payment id from the bank's URL cannot)."""
    if not secret and not citizen_sub:
        raise secret_required()
    payment = _load(svc, payment_id)
    if payment.citizen_sub and payment.citizen_sub != citizen_sub:
        raise forbidden("PAYMENT_NOT_OWNED", "Chỉ người đã tạo giao dịch mới được hủy giao dịch này.")
    if not payment.citizen_sub and not access.holds_secret(svc.hasher, payment.payment_id, secret):
        raise not_found("PAYMENT_NOT_FOUND", "Không tìm thấy giao dịch thanh toán.")
    now = svc.clock.now()
    state = payment.effective_state(epoch(now))
    if state == PaymentState.CANCELLED:
        return _view(payment, epoch(now))
    if state not in LIVE_STATES:
        raise conflict("PAYMENT_NOT_CANCELLABLE", "Giao dịch đã kết thúc, không thể hủy.", state=state.value)
    cancelled = payment.model_copy(
        update={
            "state": PaymentState.CANCELLED,
            "history": [*payment.history, {"state": "CANCELLED", "at": now.isoformat()}],
            "rev": payment.rev + 1,
        }
    )
    try:
        svc.ledger.record_failed(cancelled, payment)
    except ConcurrentUpdateError:
        raise conflict("PAYMENT_STATE_CHANGED", "Trạng thái giao dịch vừa thay đổi, vui lòng tải lại.") from None
    return _view(cancelled, epoch(now))

