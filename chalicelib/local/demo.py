"""`make demo`: the whole journey against the running local stack over HTTP, printed step by step.

A signed notice is sent, looked up, paid at the simulated bank, the receipt fetched and its PDF saved.
The e2e tests run this same function.
"""
from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qsl, urlsplit

import requests

from chalicelib.core.webhooks import sign_webhook
from chalicelib.local.devkeys import LOCAL_TAX_AUTHORITY_SECRET

VN = timezone(timedelta(hours=7))
DEMO_ID_NUMBER = "035095001234"


def demo_notice(dossier_code: str, amounts: tuple[int, ...] = (1_378_500, 2_450_000), version: int = 1,
                notice_number: str | None = None, phone: str = "0912345678") -> dict:
    kinds = [("2801", "Lệ phí trước bạ nhà đất"), ("1006", "Thuế thu nhập từ chuyển nhượng bất động sản")]
    items = [{"sub_item_code": code, "description": text, "amount_vnd": amount}
             for (code, text), amount in zip(kinds, amounts, strict=False)]
    return {
        "dossier_code": dossier_code,
        "id_number": DEMO_ID_NUMBER,
        "commune_code": "13387",
        "commune_code_system": "gso",
        "property": {"address": "Thửa đất số 12, tờ bản đồ số 5, phường Phủ Lý, tỉnh Ninh Bình",
                     "parcel_number": "12", "map_sheet_number": "5", "area_m2": 120.5},
        "notices": [{
            "notice_number": notice_number or f"TB-{dossier_code[-11:-5]}-{dossier_code[-4:]}",
            "version": version,
            "payer_name": "Nguyễn Thị Trang",
            "payer_phone": phone,
            "issued_at": datetime.now(VN).replace(microsecond=0).isoformat(),
            "due_date": (datetime.now(VN) + timedelta(days=29)).date().isoformat(),
            "items": items,
            "total_vnd": sum(amounts),
        }],
    }


def new_dossier_code() -> str:
    return f"000.00.43.H35-{datetime.now(VN):%y%m%d}-{random.randint(0, 9999):04d}"


def signed_post(session: requests.Session, url: str, payload: dict, secret: str) -> requests.Response:
    body = json.dumps(payload, ensure_ascii=False).encode()
    headers = sign_webhook(body, secret, f"msg_{uuid.uuid4().hex}", int(time.time()))
    return session.post(url, data=body, headers={**headers, "Content-Type": "application/json"}, timeout=10)


def run_demo(api: str, bank: str, out_dir: Path, say: Callable[[str], None] = print, bank_code: str = "BIDV",
             province: str | None = None) -> dict:
    s = requests.Session()
    dossier = new_dossier_code()
    number = _send_notice(s, api, dossier, say)
    _lookup(s, api, dossier, say)
    payment = _start_payment(s, api, dossier, number, bank_code, say)
    status = _pay_at_bank(s, api, bank, payment, bank_code, say)
    receipt, pdf_path = _receipt(s, api, status["receipt_id"], out_dir, say)
    result = {"dossier_code": dossier, "payment": status, "receipt": receipt, "pdf_path": str(pdf_path)}
    if province:
        result["province_received"] = _wait_for_province(s, province, dossier, receipt, say)
    return result


def _send_notice(s: requests.Session, api: str, dossier: str, say: Callable[[str], None]) -> str:
    notice = demo_notice(dossier)
    say(f"1. Cơ quan thuế gửi thông báo thuế (ký Standard Webhooks) cho hồ sơ {dossier}")
    r = signed_post(s, f"{api}/v1/partners/notices", notice, LOCAL_TAX_AUTHORITY_SECRET)
    r.raise_for_status()
    say(f"   -> {r.status_code} {r.json()}")
    return notice["notices"][0]["notice_number"]


def _lookup(s: requests.Session, api: str, dossier: str, say: Callable[[str], None]) -> None:
    say("2. Công dân tra cứu bằng mã hồ sơ + số CCCD")
    r = s.post(f"{api}/v1/lookup", json={"dossier_code": dossier, "id_number": DEMO_ID_NUMBER}, timeout=10)
    r.raise_for_status()
    found = r.json()["notices"][0]
    say(f"   -> {found['notice_number']}: {found['total_vnd']} đồng, trạng thái {found['status']}")


def _start_payment(s: requests.Session, api: str, dossier: str, number: str, bank_code: str,
                   say: Callable[[str], None]) -> dict:
    say(f"3. Công dân tạo giao dịch thanh toán qua ngân hàng {bank_code}")
    r = s.post(f"{api}/v1/payments", json={"dossier_code": dossier, "id_number": DEMO_ID_NUMBER,
                                           "notice_number": number, "bank_code": bank_code,
                                           "return_url": "http://127.0.0.1/ket-qua"},
               headers={"Idempotency-Key": str(uuid.uuid4())}, timeout=10)
    r.raise_for_status()
    payment = r.json()
    say(f"   -> {payment['payment_id']} {payment['state']}, chuyển tới {payment['redirect_url']}")
    return payment


def _pay_at_bank(s: requests.Session, api: str, bank: str, payment: dict, bank_code: str,
                 say: Callable[[str], None]) -> dict:
    say("4. Công dân thanh toán tại ngân hàng mô phỏng; ngân hàng gửi kết quả (có chữ ký) về API")
    order = {"payment_id": payment["payment_id"], "bank_code": bank_code, "amount_vnd": payment["amount_vnd"]}
    signed = dict(parse_qsl(urlsplit(payment["redirect_url"]).query))
    if "vnp_SecureHash" in signed:
        order = signed  # the VNPay-style gateway takes the signed payment URL's fields, verified as its page does
    r = s.post(f"{bank}/api/pay", json={**order, "outcome": "success"}, timeout=20)
    r.raise_for_status()
    say(f"   -> ngân hàng nhận phản hồi {r.json()}")
    s.headers["X-Client-Secret"] = payment["client_secret"]  # the payer's page keeps it; the bank never sees it
    r = s.get(f"{api}/v1/payments/{payment['payment_id']}", timeout=10)
    r.raise_for_status()
    status = r.json()
    say(f"5. Trạng thái giao dịch: {status['state']}, biên lai {status.get('receipt_id')}")
    return status


def _receipt(s: requests.Session, api: str, receipt_id: str, out_dir: Path,
             say: Callable[[str], None]) -> tuple[dict, Path]:
    r = s.get(f"{api}/v1/receipts/{receipt_id}", timeout=10)
    r.raise_for_status()
    receipt = r.json()
    say(f"6. Biên lai số {receipt['receipt_number']} ký hiệu {receipt['series']}: {receipt['amount_in_words']}")
    r = s.get(f"{api}/v1/receipts/{receipt_id}/pdf", timeout=20)
    r.raise_for_status()
    out_dir.mkdir(parents=True, exist_ok=True)
    pdf_path = out_dir / f"bien-lai-{receipt['receipt_number']}.pdf"
    pdf_path.write_bytes(r.content)
    say(f"7. Đã lưu PDF biên lai: {pdf_path} ({len(r.content)} byte)")
    return receipt, pdf_path


def _wait_for_province(s: requests.Session, province: str, dossier: str, receipt: dict,
                       say: Callable[[str], None], timeout_s: float = 20) -> list[str]:
    """The forwarding consumer delivers the notice, the payment result and the receipt file to the simulated province."""
    short = dossier.split("-", 1)[0].rsplit(".", 1)[1]
    wanted = [f"{receipt['receipt_id']}:payment_result", f"{receipt['receipt_id']}:receipt_file"]
    say(f"8. Hàng đợi chuyển biên lai về phần mềm một cửa của tỉnh ({short}, mô phỏng tại {province})")
    deadline = time.monotonic() + timeout_s
    while True:
        got = s.get(f"{province}/received", params={"province": short}, timeout=10).json()["by_message_id"]
        if all(m in got for m in wanted):
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"the province did not receive {wanted} within {timeout_s} s")
        time.sleep(0.1)
    say(f"   -> tỉnh đã nhận: {', '.join(wanted)} (mỗi message_id một lần)")
    return wanted


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--api", default="http://127.0.0.1:8000")
    ap.add_argument("--bank", default="http://127.0.0.1:8001")
    ap.add_argument("--province", default="http://127.0.0.1:8002", help="the simulated province ('' to skip)")
    ap.add_argument("--bank-code", default="BIDV")
    ap.add_argument("--out", default="demo-output")
    args = ap.parse_args()
    run_demo(args.api.rstrip("/"), args.bank.rstrip("/"), Path(args.out), bank_code=args.bank_code,
             province=args.province.rstrip("/") or None)


if __name__ == "__main__":
    main()
