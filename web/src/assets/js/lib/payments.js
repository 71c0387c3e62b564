// Payment states as a citizen reads them, and the links between the payment pages (one place for every screen).
import { call } from "./api.js";

export const LOOKUP_PAGE = "/thanh-toan-dat-dai.html";
export const RETURN_PAGE = "/thanh-toan-dat-dai/ket-qua.html";
export const RECEIPT_PAGE = "/thanh-toan-dat-dai/bien-lai.html";

export const FINAL_STATES = new Set(["PAID", "FAILED", "EXPIRED", "CANCELLED"]);
export const UNPAID_FINAL = new Set(["FAILED", "EXPIRED", "CANCELLED"]);

export const STATE_TEXT = {
  CREATED: { title: "Đang chờ ngân hàng xác nhận thanh toán", tone: "wait" },
  PENDING_BANK: { title: "Đang chờ ngân hàng xác nhận thanh toán", tone: "wait" },
  PAID: { title: "Thanh toán thành công", tone: "ok" },
  FAILED: { title: "Giao dịch không thành công", tone: "bad" },
  EXPIRED: { title: "Giao dịch đã hết hạn", tone: "bad" },
  CANCELLED: { title: "Giao dịch đã được hủy", tone: "bad" },
};

export const receiptUrl = (receiptId) => `${RECEIPT_PAGE}?ma=${encodeURIComponent(receiptId)}`;

/** GET /v1/payments/{id} with the attempt's access secret. */
export function readPayment(attempt) {
  return call("GET", `/v1/payments/${encodeURIComponent(attempt.payment_id)}`,
    { headers: { "X-Client-Secret": attempt.client_secret } });
}

/** POST /v1/payments/{id}/cancel with the attempt's access secret. */
export function cancelPayment(attempt) {
  return call("POST", `/v1/payments/${encodeURIComponent(attempt.payment_id)}/cancel`,
    { headers: { "X-Client-Secret": attempt.client_secret } });
}
