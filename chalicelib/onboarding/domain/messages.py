"""The Vietnamese texts of support requests: the email to the feedback address on every status change, and the
operators' alerts at 75 % of the 8-working-hour clock and at its breach."""
from __future__ import annotations

from datetime import datetime

from chalicelib.core.clock import VN_TZ
from chalicelib.onboarding.domain.requests import Status, SupportRequest

SIGNATURE = "Cổng Dịch vụ công quốc gia (thư tự động, vui lòng không trả lời)."
_OPENING = {
    Status.NEW: "Cổng Dịch vụ công quốc gia đã tiếp nhận yêu cầu hỗ trợ của quý đơn vị.",
    Status.IN_PROGRESS: "Yêu cầu hỗ trợ của quý đơn vị đang được xử lý.",
    Status.WAITING: "Cán bộ xử lý cần quý đơn vị bổ sung thông tin để tiếp tục xử lý yêu cầu hỗ trợ.",
    Status.DONE: "Yêu cầu hỗ trợ của quý đơn vị đã được xử lý xong.",
    Status.CANCELLED: "Yêu cầu hỗ trợ của quý đơn vị đã được hủy theo đề nghị của người yêu cầu.",
    Status.REJECTED: "Yêu cầu hỗ trợ của quý đơn vị không được chấp nhận.",
}


def vn_time(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y")


def status_email(request: SupportRequest, link: str) -> tuple[str, str]:
    """(subject, text) of the email sent to the feedback address when the request reaches its current status."""
    status, last = request.status, request.history[-1]
    subject = f"[DVCQG] Yêu cầu hỗ trợ {request.request_id}: {status.label}"
    lines = [f"Kính gửi {request.requester_name},", "", _OPENING[status], "",
             f"- Tên yêu cầu: {request.title}",
             f"- Mã yêu cầu: {request.request_id}",
             f"- Đơn vị yêu cầu: {request.unit_name}",
             f"- Trạng thái: {status.label}",
             f"- Thời gian: {vn_time(last.at)}"]
    if last.note:
        label = "Lý do" if status is Status.REJECTED else "Nội dung"
        lines.append(f"- {label}: {last.note}")
    lines += [f"- Xem chi tiết: {link}", "", SIGNATURE]
    return subject, "\n".join(lines)


def alert_subject(request: SupportRequest, name: str) -> str:
    if name == "breach":
        return f"Yêu cầu hỗ trợ quá hạn 8 giờ làm việc: {request.request_id}"
    return f"Yêu cầu hỗ trợ đã dùng 75% thời hạn 8 giờ làm việc: {request.request_id}"
