// The page the bank sends the citizen back to: the payment's state, read live (polling GET /v1/payments/{id} with
// the tab's access secret) until it is final; then the receipt link, or the way back to pay again.
import { bankName } from "../lib/banks.js";
import { $, facts, fill, focusOn, h, ready } from "../lib/dom.js";
import { dateTime, vnd } from "../lib/format.js";
import { cancelPayment, FINAL_STATES, LOOKUP_PAGE, readPayment, receiptUrl, STATE_TEXT }
  from "../lib/payments.js";
import * as store from "../lib/store.js";

const status = $("#trang-thai");
const details = $("#giao-dich");
const actions = $("#hanh-dong");
// Fast at first (the bank's callback usually lands within seconds), then gentler on a phone's battery and data.
const DELAYS_MS = [500, 1000, 1000, 1000, 2000, 2000, 3000, 5000];
let shownState = null;

function fromBank() {
  const query = new URLSearchParams(location.search);
  return query.get("vnp_TxnRef") || query.get("payment_id") || null;
}

function show(title, text, tone) {
  fill(status, h("p", { class: "status__title" }, h("span", { class: `status__icon status__icon--${tone}`,
    "aria-hidden": "true" }, { ok: "✓", bad: "✕", wait: "…" }[tone] || "!"), title), text ? h("p", {}, text) : null);
  status.dataset.tone = tone;
}

async function render(attempt, payment) {
  facts(details, [["Mã giao dịch", payment.payment_id], ["Mã hồ sơ", payment.dossier_code],
    ["Số thông báo", payment.notice_number], ["Ngân hàng", await bankName(payment.bank_code)],
    ["Số tiền", vnd(payment.amount_vnd)], ["Thời gian tạo", dateTime(payment.created_at)],
    [payment.state === "PAID" ? "Thời gian thanh toán" : "Hạn thanh toán",
      payment.state === "PAID" ? dateTime(payment.paid_at) : dateTime(payment.expires_at)]]);
  details.hidden = false;
  if (payment.state === shownState) return;
  shownState = payment.state;
  const text = STATE_TEXT[payment.state];
  show(text.title, explanation(payment), text.tone);
  fill(actions, ...buttons(attempt, payment));
  if (payment.state === "PAID") focusOn($("#xem-bien-lai"));
}

function explanation(payment) {
  if (payment.refund_required) {
    return "Ngân hàng báo đã trừ tiền cho giao dịch đã kết thúc: khoản tiền này sẽ được hoàn lại cho bạn.";
  }
  return {
    PAID: "Biên lai điện tử đã được lập và đang được gửi về bộ phận một cửa của địa phương.",
    FAILED: "Ngân hàng báo giao dịch không thành công hoặc đã bị hủy. Thông báo thuế chưa được nộp, bạn có thể thanh toán lại.",
    EXPIRED: "Giao dịch đã quá thời hạn thanh toán. Thông báo thuế chưa được nộp, bạn có thể thanh toán lại.",
    CANCELLED: "Thông báo thuế chưa được nộp, bạn có thể thanh toán lại.",
  }[payment.state] || "Trang tự cập nhật khi ngân hàng báo kết quả. Nếu chưa thanh toán ở ngân hàng, bạn có thể quay lại trang của ngân hàng hoặc hủy giao dịch.";
}

function buttons(attempt, payment) {
  if (payment.state === "PAID") {
    return [h("a", { class: "btn", id: "xem-bien-lai", href: receiptUrl(payment.receipt_id) }, "Xem biên lai điện tử")];
  }
  if (FINAL_STATES.has(payment.state)) {
    store.forgetAttempt(attempt);
    return [h("a", { class: "btn", href: LOOKUP_PAGE }, "Thanh toán lại")];
  }
  const cancel = h("button", { class: "btn btn--secondary", type: "button" }, "Hủy giao dịch");
  cancel.addEventListener("click", async () => {
    cancel.disabled = true;
    try {
      await render(attempt, await cancelPayment(attempt));
    } catch (problem) {
      show("Chưa hủy được giao dịch", problem.detail, "bad");
      cancel.disabled = false;
    }
  });
  return [attempt.redirect_url ? h("a", { class: "btn", href: attempt.redirect_url }, "Quay lại trang ngân hàng") : null,
    cancel];
}

async function poll(attempt, round = 0) {
  try {
    const payment = await readPayment(attempt);
    await render(attempt, payment);
    if (FINAL_STATES.has(payment.state)) return;
  } catch (problem) {
    if (problem.status === 404 || problem.status === 401) {
      show("Không đọc được giao dịch", problem.detail, "bad");
      return;
    }
    show("Đang mất kết nối, trang sẽ tự thử lại…", problem.detail, "wait");
    shownState = null;
  }
  setTimeout(() => poll(attempt, round + 1), DELAYS_MS[Math.min(round, DELAYS_MS.length - 1)]);
}

function start() {
  ready();
  const attempt = store.currentAttempt(fromBank());
  if (!attempt) {
    show("Không tìm thấy giao dịch trong trình duyệt này",
      "Thông tin giao dịch chỉ được lưu trong thẻ trình duyệt đã bắt đầu thanh toán. Bạn có thể tra cứu lại hồ sơ: "
      + "thông báo đã nộp sẽ được đánh dấu “Đã nộp”.", "bad");
    fill(actions, h("a", { class: "btn", href: LOOKUP_PAGE }, "Tra cứu hồ sơ"));
    return;
  }
  poll(attempt);
}

start();
