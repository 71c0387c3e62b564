// Screen 1 (citizen without an account): lookup by dossier code + ID number, choose one notice, choose a bank,
// create the payment (one Idempotency-Key per attempt, see lib/store.js) and go to the bank's page.
import { ApiProblem, call } from "../lib/api.js";
import { banks } from "../lib/banks.js";
import { $, facts, fill, focusOn, h, ready } from "../lib/dom.js";
import { area, date, groupDigits, vnd } from "../lib/format.js";
import { clearErrors, fieldError, onSubmit, showProblem } from "../lib/forms.js";
import { cancelPayment, readPayment, receiptUrl, RETURN_PAGE, UNPAID_FINAL } from "../lib/payments.js";
import * as store from "../lib/store.js";

const forms = { lookup: $("#tra-cuu"), notice: $("#chon-thong-bao"), pay: $("#thanh-toan") };
const steps = { notices: $("#ket-qua"), bank: $("#ngan-hang") };
const state = { query: null, result: null, notice: null };
const STATUS_TEXT = { paid: "Đã nộp", in_payment: "Đang thanh toán" };

// --- step 1: lookup ---------------------------------------------------------------------------------------------

onSubmit(forms.lookup, "Đang tra cứu…", async (fields) => {
  clearErrors(forms.lookup);
  const query = { dossier_code: fields.dossier_code, id_number: fields.id_number };
  let result;
  try {
    result = await call("POST", "/v1/lookup", { json: query });
  } catch (problem) {
    steps.notices.hidden = steps.bank.hidden = true;
    showProblem(forms.lookup, problem);
    return;
  }
  state.query = { dossier_code: result.dossier_code, id_number: query.id_number };
  state.result = result;
  renderResult(result);
  steps.bank.hidden = true;
  steps.notices.hidden = false;
  focusOn($("#buoc-thong-bao"));
});

function renderResult(result) {
  const p = result.property || {};
  facts($("#tai-san"), [["Mã hồ sơ", result.dossier_code], ["Địa chỉ", p.address], ["Số thửa", p.parcel_number],
    ["Số tờ bản đồ", p.map_sheet_number], ["Diện tích", area(p.area_m2)], ["Số giấy chứng nhận", p.land_use_certificate]]);
  const list = $("#thong-bao");
  if (!result.notices.length) {
    fill(list, h("p", {}, "Hồ sơ chưa có thông báo thuế nào."));
    return;
  }
  fill(list, result.notices.map(noticeCard));
  clearErrors(forms.notice);
}

function noticeCard(notice, i) {
  const id = `tb-${i}`;
  const status = STATUS_TEXT[notice.status];
  const described = [`${id}-items`, status ? `${id}-status` : null].filter(Boolean).join(" ");
  return h("div", { class: "notice", "data-status": notice.status },
    h("div", { class: "notice__head" },
      h("input", { type: "radio", name: "notice_number", id, value: notice.notice_number,
        disabled: notice.status === "paid", "aria-describedby": described }),
      h("label", { for: id },
        h("span", { class: "notice__no" }, "Số thông báo:", h("strong", {}, notice.notice_number)),
        h("span", { class: "notice__payer" }, "Người nộp thuế: ", notice.payer_name)),
      status ? h("span", { class: `badge badge--${notice.status}`, id: `${id}-status` },
        h("span", { "aria-hidden": "true" }, notice.status === "paid" ? "✓ " : "⏳ "), status) : null),
    itemsTable(notice, `${id}-items`),
    dueLine(notice));
}

function itemsTable(notice, id) {
  return h("table", { class: "items", id },
    h("caption", { class: "visually-hidden" }, `Các khoản nộp của thông báo ${notice.notice_number}`),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Nội dung các khoản nộp NSNN"),
      h("th", { scope: "col", class: "num" }, "Số tiền (VNĐ)"))),
    h("tbody", {}, notice.items.map((item) => h("tr", {},
      h("td", {}, item.description, " ", h("span", { class: "muted" }, `(tiểu mục ${item.sub_item_code})`)),
      h("td", { class: "num" }, groupDigits(item.amount_vnd))))),
    h("tfoot", {}, h("tr", {}, h("th", { scope: "row" }, "Tổng tiền"),
      h("td", { class: "num" }, groupDigits(notice.total_vnd)))));
}

function dueLine(notice) {
  const parts = [notice.issued_at ? `Ngày thông báo: ${date(notice.issued_at)}` : null,
    notice.due_date ? `Hạn nộp: ${date(notice.due_date)}` : null].filter(Boolean);
  return parts.length ? h("p", { class: "notice__meta" }, parts.join(" · ")) : null;
}

// --- step 2: choose a notice --------------------------------------------------------------------------------------

onSubmit(forms.notice, "Tiếp tục", async (fields) => {
  clearErrors(forms.notice);
  const notice = state.result?.notices.find((n) => n.notice_number === fields.notice_number);
  if (!notice) {
    fieldError(forms.notice, "notice_number", "Vui lòng chọn một thông báo thuế để thanh toán.")?.focus();
    return;
  }
  state.notice = notice;
  facts($("#da-chon"), [["Mã hồ sơ", state.result.dossier_code], ["Số thông báo", notice.notice_number],
    ["Người nộp thuế", notice.payer_name], ["Số tiền", vnd(notice.total_vnd)]]);
  steps.notices.hidden = true; // the summary above the banks says what was chosen: a short page on a phone
  steps.bank.hidden = false;
  focusOn($("#buoc-ngan-hang"));
  await renderBanks();
});

$("#doi-thong-bao").addEventListener("click", () => {
  steps.bank.hidden = true;
  steps.notices.hidden = false;
  focusOn($("#buoc-thong-bao"));
});

async function renderBanks() {
  const list = $("#ds-ngan-hang");
  if (list.querySelector("input")) return;
  try {
    fill(list, (await banks()).map(bankOption));
  } catch (problem) {
    fill(list, h("p", { class: "alert alert--error" }, problem.detail));
  }
}

function bankOption(bank) {
  const id = `nh-${bank.code}`;
  const note = bank.single_sign_on ? h("p", { class: "bank__note", id: `${id}-note` },
    "Ngân hàng liên kết đăng nhập một lần: thanh toán trực tiếp cần đăng nhập tài khoản Cổng Dịch vụ công quốc gia và "
    + "liên kết tài khoản ngân hàng. Nếu không đăng nhập, bạn sẽ đăng nhập Internet Banking của ngân hàng.") : null;
  return h("div", { class: "bank" },
    h("input", { type: "radio", name: "bank_code", id, value: bank.code, "aria-describedby": note ? note.id : null }),
    h("label", { for: id }, h("span", { class: "bank__short" }, bank.short_name),
      h("span", { class: "bank__name" }, bank.name)),
    note);
}

// --- step 3: pay --------------------------------------------------------------------------------------------------

onSubmit(forms.pay, "Đang tạo giao dịch…", async (fields) => {
  clearErrors(forms.pay);
  if (!fields.bank_code) {
    fieldError(forms.pay, "bank_code", "Vui lòng chọn ngân hàng để thanh toán.")?.focus();
    return;
  }
  await pay({ ...state.query, notice_number: state.notice.notice_number, bank_code: fields.bank_code,
    return_url: new URL(RETURN_PAGE, location.origin).href });
});

async function pay(request) {
  const attempt = await liveAttempt(request);
  if (!attempt) return;
  let created;
  try {
    created = await call("POST", "/v1/payments", { json: request, headers: { "Idempotency-Key": attempt.key } });
  } catch (problem) {
    await payProblem(problem, request, attempt);
    return;
  }
  store.recordPayment(attempt, created);
  location.assign(created.redirect_url);
}

/** The attempt to send: a stored one whose payment is still live (same key: the bank page again), a fresh one when
 * its payment ended unpaid, or none when it was paid meanwhile (then the receipt opens). */
async function liveAttempt(request) {
  const attempt = store.attemptFor(request);
  if (!attempt.payment_id) return attempt;
  let payment;
  try {
    payment = await readPayment(attempt);
  } catch (problem) {
    if (problem.status !== 404) throw problem;
    payment = { state: "CANCELLED" };
  }
  if (payment.state === "PAID") {
    location.assign(receiptUrl(payment.receipt_id));
    return null;
  }
  if (!UNPAID_FINAL.has(payment.state)) return attempt;
  store.forgetAttempt(attempt);
  return store.attemptFor(request);
}

async function payProblem(problem, request, attempt) {
  if (!(problem instanceof ApiProblem)) throw problem;
  if (problem.code === "IDEMPOTENCY_KEY_REUSED") store.forgetAttempt(attempt);
  const blocking = problem.code === "PAYMENT_IN_PROGRESS"
    ? store.attemptsOfNotice(request.dossier_code, request.notice_number).filter((a) => a.id !== attempt.id) : [];
  const extra = blocking.length ? [h("button", { type: "button", class: "btn btn--secondary", id: "huy-giao-dich-cu" },
    "Hủy giao dịch trước đó và thanh toán lại")] : [];
  showProblem(forms.pay, problem, { BANK_UNKNOWN: "bank_code" }, extra);
  if (blocking.length) {
    $("#huy-giao-dich-cu").addEventListener("click", async () => {
      for (const old of blocking) {
        await cancelPayment(old).catch(() => null);
        store.forgetAttempt(old);
      }
      forms.pay.requestSubmit();
    }, { once: true });
  }
}

ready(forms.lookup.querySelector("[type=submit]"));
banks().catch(() => null); // start fetching the bank list while the citizen types
