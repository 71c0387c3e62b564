"""Delivery of notices, payment results and receipt files to a province's one-stop software (M6): pure rules.

What is decided here, without any I/O: the API types, the delivery states, the retry schedule (and so the
queue's maxReceiveCount), the stable ``message_id`` of every payload, the payloads themselves, what counts as a
valid answer from a province, and the Vietnamese alert texts.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any


class ApiType(str, Enum):
    """The province APIs the portal calls (names as in the letter 3252/VPCP-KSTT)."""

    NOTICE = "notice"  # API BNDP nhận thông báo thuế đất
    PAYMENT_RESULT = "payment_result"  # API BNDP thanh toán thuế đất
    RECEIPT_FILE = "receipt_file"  # API file đính kèm

    @property
    def label_vi(self) -> str:
        return API_LABELS[self]


API_LABELS = {
    ApiType.NOTICE: "API BNDP nhận thông báo thuế đất",
    ApiType.PAYMENT_RESULT: "API BNDP thanh toán thuế đất",
    ApiType.RECEIPT_FILE: "API file đính kèm",
}


class DeliveryState(str, Enum):
    PENDING = "PENDING"  # written with the receipt; not attempted yet
    DELIVERED = "DELIVERED"
    FAILING = "FAILING"  # at least one failed attempt, retries under way
    DEAD = "DEAD"  # the retry window is over: the message is in the dead-letter queue


STATES = tuple(s.value for s in DeliveryState)

# Delay before the next attempt after the n-th failed attempt (index n-1), in seconds. Anchors from the issue: 1 min,
# 5 min, 30 min, 2 h, then every 6 h (the SQS maximum for one visibility change is 12 h). 16 delays, 17 attempts,
# 268,560 s (3 days 2 h 36 min) between the first and the last attempt.
BACKOFF_SCHEDULE_S: tuple[int, ...] = (60, 300, 1800, 7200) + (21600,) * 12
MAX_ATTEMPTS = len(BACKOFF_SCHEDULE_S) + 1  # == the forwarding queue's maxReceiveCount (a test checks the template)
MAX_VISIBILITY_S = 43200


def retry_delay_s(attempt: int, scale: float = 1.0) -> int:
    """Seconds to hide the message after failed attempt number ``attempt`` (1-based); ``scale`` compresses the
    schedule for tests and the local stack (0 = retry at once)."""
    if attempt < 1:
        raise ValueError("attempt numbers start at 1")
    base = BACKOFF_SCHEDULE_S[min(attempt, len(BACKOFF_SCHEDULE_S)) - 1]
    return max(0, min(MAX_VISIBILITY_S, round(base * scale)))


def retry_window_s() -> int:
    return sum(BACKOFF_SCHEDULE_S)


def is_last_attempt(attempt: int) -> bool:
    return attempt >= MAX_ATTEMPTS


# -- messages ---------------------------------------------------------------------------------------------------

def message_id(subject_id: str, api_type: ApiType) -> str:
    """Stable per subject and API type: every retry, re-drive and sweep carries the same id."""
    return f"{subject_id}:{api_type.value}"


def notice_subject_id(dossier_code: str, notice_number: str, version: int) -> str:
    return f"{dossier_code}:{notice_number}:v{version}"


def compact_time(iso: str) -> str:
    """RFC 3339 -> ``yyyyMMddHHmmss`` in the time's own offset (what provincial software expects)."""
    return datetime.fromisoformat(iso).strftime("%Y%m%d%H%M%S")


def payment_result_payload(receipt: dict[str, Any], unit_code: str, payer_id_number: str | None = None) -> dict[str, Any]:
    """What a province receives for a paid notice (DOMAIN.md: dossier, payer's tax code, name, ID number and
    address, payment info, status 1 = paid), with the payment's reference number and the tax authority's payment
    ID. The ID number is the payer's, opened from its sealed copy just for this payload."""
    payer = {"payer_tax_code": receipt.get("payer_tax_code"), "payer_id_number": payer_id_number,
             "payer_address": receipt.get("payer_address"), "reference_number": receipt.get("reference_number"),
             "tax_payment_id": receipt.get("tax_payment_id")}
    return {
        "message_id": message_id(receipt["receipt_id"], ApiType.PAYMENT_RESULT),
        "type": ApiType.PAYMENT_RESULT.value,
        "unit_code": unit_code,
        "dossier_code": receipt["dossier_code"],
        "notice_number": receipt["notice_number"],
        "payer_name": receipt["payer_name"],
        **{k: v for k, v in payer.items() if v},  # what is known (a notice need not have a tax code)
        "status": 1,
        "content": f"Thanh toán nghĩa vụ tài chính về đất đai, thông báo thuế số {receipt['notice_number']}",
        "amount_vnd": receipt["amount_vnd"],
        "currency": receipt.get("currency", "VND"),
        "items": receipt["items"],
        "paid_at": receipt["paid_at"],
        "paid_at_compact": compact_time(receipt["paid_at"]),
        "payment_id": receipt["payment_id"],
        "bank_code": receipt["bank_code"],
        "bank_txn_ref": receipt["bank_txn_ref"],
        "receipt": {
            "receipt_id": receipt["receipt_id"],
            "receipt_number": receipt["receipt_number"],
            "template_symbol": receipt["template_symbol"],
            "series": receipt["series"],
            "collecting_unit_code": receipt["collecting_unit_code"],
            "collecting_unit_name": receipt["collecting_unit_name"],
            "amount_in_words": receipt["amount_in_words"],
            "issued_at": receipt["issued_at"],
            "collecting_unit_tax_code": receipt.get("collecting_unit_tax_code"),
            "related_receipt": receipt.get("related_receipt"),
        },
    }


def receipt_file_payload(receipt: dict[str, Any], unit_code: str, pdf: bytes) -> dict[str, Any]:
    return {
        "message_id": message_id(receipt["receipt_id"], ApiType.RECEIPT_FILE),
        "type": ApiType.RECEIPT_FILE.value,
        "unit_code": unit_code,
        "dossier_code": receipt["dossier_code"],
        "notice_number": receipt["notice_number"],
        "receipt_id": receipt["receipt_id"],
        "receipt_number": receipt["receipt_number"],
        "file_name": f"bien-lai-{receipt['receipt_number']}.pdf",
        "content_type": "application/pdf",
        "size_bytes": len(pdf),
        "sha256": hashlib.sha256(pdf).hexdigest(),
        "content_base64": base64.b64encode(pdf).decode("ascii"),
    }


def notice_payload(notice: dict[str, Any], unit_code: str) -> dict[str, Any]:
    subject = notice_subject_id(notice["dossier_code"], notice["notice_number"], notice["version"])
    return {"message_id": message_id(subject, ApiType.NOTICE), "type": ApiType.NOTICE.value, "unit_code": unit_code,
            **{k: v for k, v in notice.items() if k != "payer_phone"}}


# -- answers ----------------------------------------------------------------------------------------------------

class InvalidAnswerError(ValueError):
    """A 2xx answer that does not say the province accepted the payload."""


def check_answer(body: Any) -> None:
    """A valid answer is a JSON object that does not report an error. Provincial systems differ: ``success``
    (must be true), ``error_code``/``errorCode``/``ma_loi`` (must be 0 / "0" / "00") are understood; anything else
    in the object is accepted (unverified conventions: kept to these three, extend here)."""
    if not isinstance(body, dict):
        raise InvalidAnswerError("answer is not a JSON object")
    if "success" in body and body["success"] is not True:
        raise InvalidAnswerError("answer success is not true")
    for key in ("error_code", "errorCode", "ma_loi"):
        if key in body and str(body[key]).strip() not in ("0", "00"):
            raise InvalidAnswerError(f"answer {key}={str(body[key])[:20]}")


def token_from_session_answer(body: Any) -> tuple[str, int | None]:
    """The token and its lifetime in seconds (None when the province does not say)."""
    if not isinstance(body, dict):
        raise InvalidAnswerError("session answer is not a JSON object")
    for key in ("token", "access_token", "session", "session_id"):
        value = body.get(key)
        if isinstance(value, str) and value.strip() and len(value) <= 8192:
            expires = body.get("expires_in")
            lifetime = int(expires) if isinstance(expires, (int, float)) and not isinstance(expires, bool) else None
            return value.strip(), lifetime
    raise InvalidAnswerError("session answer has no token")


# -- alerts -----------------------------------------------------------------------------------------------------

SERVICE_LAND_TAX_PAYMENT = "land_tax_payment"
SERVICE_TYPES = {SERVICE_LAND_TAX_PAYMENT: "Thanh toán thuế đất"}


class AlertKind(str, Enum):
    FAILING = "DELIVERY_FAILING"  # a province has been failing for longer than the configured time
    DEAD = "DELIVERY_DEAD"  # deliveries were dead-lettered

    @property
    def level(self) -> int:
        return 2 if self is AlertKind.DEAD else 1


@dataclass(frozen=True)
class ProvinceAlert:
    kind: AlertKind
    province: str  # agency code
    province_name: str
    failing: int  # receipts (payment result + receipt file) being retried
    dead: int  # receipts no longer retried
    since: str | None  # ISO time of the oldest failure still open
    last_error: str
    notices_failing: int = 0  # tax notices, counted apart: a notice is not a receipt
    notices_dead: int = 0

    def _since_text(self) -> str:
        if not self.since:
            return "không rõ"
        return datetime.fromisoformat(self.since).strftime("%H:%M ngày %d/%m/%Y")

    @property
    def _what(self) -> str:
        """What is not getting through: receipts, unless only notices are failing."""
        return "thông báo thuế" if not (self.failing or self.dead) and (self.notices_failing or self.notices_dead) \
            else "biên lai thanh toán"

    def subject(self) -> str:
        if self.kind is AlertKind.DEAD:
            return f"{self._what.capitalize()} không gửi được về địa phương: {self.province_name}"
        return f"Gửi {self._what} về địa phương đang lỗi: {self.province_name}"

    def _notices_text(self) -> str:
        if not (self.notices_failing or self.notices_dead):
            return ""
        return f"; thông báo thuế: {self.notices_dead} đã dừng gửi, {self.notices_failing} đang gửi lại"

    def sms(self) -> str:
        head = (f"Cảnh báo DVCQG: {self._what} không gửi được về địa phương"
                if self.kind is AlertKind.DEAD else f"Cảnh báo DVCQG: gửi {self._what} về địa phương đang lỗi")
        return (f"{head} {self.province_name} ({self.province}): {self.dead} biên lai đã dừng gửi, {self.failing} đang "
                f"gửi lại{self._notices_text()}, từ {self._since_text()}. Lỗi gần nhất: {self.last_error[:60]}")

    def email(self) -> str:
        lines = [
            "Kính gửi quý cơ quan,",
            "",
            self.subject() + ".",
            f"- Địa phương: {self.province_name} ({self.province})",
            f"- Số biên lai đã chuyển vào hàng đợi lỗi (không gửi lại tự động nữa): {self.dead}",
            f"- Số biên lai đang được gửi lại: {self.failing}",
        ]
        if self.notices_failing or self.notices_dead:
            lines += [f"- Số thông báo thuế đã chuyển vào hàng đợi lỗi: {self.notices_dead}",
                      f"- Số thông báo thuế đang được gửi lại: {self.notices_failing}"]
        return "\n".join([
            *lines,
            f"- Bắt đầu lỗi từ: {self._since_text()}",
            f"- Lỗi gần nhất: {self.last_error}",
            "",
            "Đề nghị kiểm tra phần mềm một cửa của địa phương. Khi hệ thống hoạt động trở lại, quản trị Cổng "
            "Dịch vụ công quốc gia sẽ gửi lại các biên lai còn tồn.",
            "",
            "Cổng Dịch vụ công quốc gia (thư tự động, vui lòng không trả lời).",
        ])


# -- what travels on the forwarding queue -------------------------------------------------------------------------

RECEIPT, NOTICE = "receipt", "notice"
MESSAGE_VERSION = 1


@dataclass(frozen=True)
class Delivery:
    """One queue message: a receipt (payment result + receipt file) or a notice, for one province.

    The message carries the whole document, so the consumer reads nothing before calling the province; the only
    DynamoDB call per attempt is the one write that records the outcome.
    """

    kind: str  # RECEIPT | NOTICE
    subject_id: str  # receipt id, or dossier:notice:vN
    province: str  # level-1 agency code
    doc: dict[str, Any]

    @property
    def api_types(self) -> tuple[ApiType, ...]:
        return (ApiType.PAYMENT_RESULT, ApiType.RECEIPT_FILE) if self.kind == RECEIPT else (ApiType.NOTICE,)

    def to_message(self) -> dict[str, Any]:
        return {"v": MESSAGE_VERSION, "kind": self.kind, "subject_id": self.subject_id, "province": self.province,
                "doc": self.doc}

    @classmethod
    def from_message(cls, body: dict[str, Any]) -> "Delivery":
        if body.get("v") != MESSAGE_VERSION or body.get("kind") not in (RECEIPT, NOTICE):
            raise ValueError("unknown delivery message")
        return cls(body["kind"], str(body["subject_id"]), str(body["province"]), dict(body["doc"]))


def receipt_delivery(receipt: dict[str, Any]) -> Delivery:
    # The dossier's province receives it (receipts from before province_code existed: the collecting unit was it).
    return Delivery(RECEIPT, receipt["receipt_id"], receipt.get("province_code") or receipt["collecting_unit_code"],
                    receipt)


def notice_delivery(province: str, notice: dict[str, Any]) -> Delivery:
    subject = notice_subject_id(notice["dossier_code"], notice["notice_number"], notice["version"])
    return Delivery(NOTICE, subject, province, notice)


# -- API check samples ------------------------------------------------------------------------------------------

SAMPLE_RECEIPT_ID = "RCPKIEMTRAAPI0001"  # never a real receipt's id (real ones are RCP + a ULID)
SAMPLE_PDF = b"%PDF-1.4\n% Tep mau kiem tra API - khong phai bien lai that\n%%EOF\n"


def sample_payloads(unit_code: str, province_code: str = "00") -> dict[ApiType, dict[str, Any]]:
    """What the API check offers to send: each API type's payload exactly as the portal builds it, from a sample
    receipt and notice whose names say they are samples (the message ids are fixed, so a province that stores
    what it receives de-duplicates repeated checks)."""
    dossier, notice_number = f"000.00.00.H{province_code}-260520-0001", "TB-KIEMTRA-0001"
    items = [{"sub_item_code": "2801", "description": "Lệ phí trước bạ nhà đất", "amount_vnd": 1_378_500}]
    receipt = {"receipt_id": SAMPLE_RECEIPT_ID, "receipt_number": "00000001", "template_symbol": "EBL01",
               "series": "26TAA", "collecting_unit_code": unit_code, "collecting_unit_name": "Đơn vị thu (mẫu)",
               "payer_name": "Nguyễn Văn Mẫu", "dossier_code": dossier, "notice_number": notice_number,
               "items": items, "amount_vnd": 1_378_500,
               "amount_in_words": "Một triệu ba trăm bảy mươi tám nghìn năm trăm đồng",
               "bank_code": "BIDV", "bank_name": "BIDV", "bank_txn_ref": "FT26140000001",
               "paid_at": "2026-05-20T10:01:02+07:00", "issued_at": "2026-05-20T10:01:05+07:00",
               "payment_id": "PAYKIEMTRAAPI0001"}
    notice = {"dossier_code": dossier, "notice_number": notice_number, "version": 1, "payer_name": "Nguyễn Văn Mẫu",
              "issued_at": "2026-05-20T08:00:00+07:00", "due_date": "2026-06-19", "items": items,
              "total_vnd": 1_378_500}
    return {ApiType.NOTICE: notice_payload(notice, unit_code),
            ApiType.PAYMENT_RESULT: payment_result_payload(receipt, unit_code),
            ApiType.RECEIPT_FILE: receipt_file_payload(receipt, unit_code, SAMPLE_PDF)}
